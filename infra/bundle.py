"""The deployment zip, rewritten for a fast cold start: compiled, trimmed, bounded.

``chalice package`` zips sources only. Lambda unpacks the zip into
``/var/task``, which is read-only, so Python can never write its bytecode
cache there: without ``.pyc`` in the zip, every cold start compiles every
module it imports. ``bundle()`` rewrites chalice's zip:

- every ``.py`` is compiled into ``__pycache__/`` for the runtime's Python, as
  an *unchecked* hash-based ``.pyc``: a timestamp-based one would be compared
  with the source's modification time, which zips round to two seconds and
  Lambda does not keep, and judged stale;
- what Lambda never loads is dropped (below), licences are kept;
- entries are sorted and carry one fixed timestamp: the same input gives the
  same bytes, so an unchanged package does not redeploy its functions;
- the result must stay under ``MAX_ZIP_BYTES``: the package is downloaded on
  every cold start.

``bundle_layer()`` makes a Lambda layer the same way from wheels: their files
under ``python/`` (where Lambda's Python finds a layer's packages, in
``/opt/python``, read-only too), compiled, trimmed, reproducible and bounded
by the same budget. The search engine layer (tantivy) is one.

    python -m infra.bundle build/dev/chalice.zip build/dev/deployment.zip
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import cache_from_source
from pathlib import Path, PurePosixPath
from typing import Final

# The functions run on the Lambda runtime of the Python that builds them: a
# .pyc only loads in the version that wrote it, and chalice package fetches the
# dependencies' wheels for its own Python. These are the Lambda runtimes the
# shop is tested for (the locks hash their wheels).
SUPPORTED_RUNTIMES: Final = ("python3.11", "python3.12", "python3.13")


def runtime_of(version: tuple[int, ...] = tuple(sys.version_info[:2])) -> str:
    """The Lambda runtime of a Python version: (3, 12) -> "python3.12"."""
    return f"python{version[0]}.{version[1]}"


RUNTIME: Final = runtime_of()  # the stage's Lambda runtime: the building Python's
MAX_ZIP_BYTES: Final = 10_000_000
FIXED_TIME: Final = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
FIRST_PARTY: Final = ("app.py", "chalicelib/")
# In every Lambda Python runtime: a vendored copy would only shadow it.
RUNTIME_PROVIDED: Final = ("boto3", "botocore", "s3transfer")
UNIX: Final = 3  # ZipInfo.create_system: permissions in external_attr are Unix modes
LAYER_ROOT: Final = "python"  # a layer's packages: Lambda unpacks it in /opt, puts /opt/python on sys.path


class BundleError(Exception):
    """The deployment zip cannot be built as asked (the message says why)."""


@dataclass(frozen=True)
class BundleReport:
    size_bytes: int
    compiled: int  # .pyc written
    dropped: tuple[tuple[str, str], ...]  # (entry, why), sorted by entry
    not_compiled: tuple[tuple[str, str], ...] = ()  # dependencies' files Python 3.x cannot parse

    def summary(self) -> str:
        reasons = Counter(why for _, why in self.dropped)
        lines = [f"{self.size_bytes / 1e6:.2f} MB, {self.compiled} modules compiled"]
        lines += [f"dropped {count} file(s): {why}" for why, count in sorted(reasons.items())]
        lines += [f"not compiled: {name} ({error})" for name, error in self.not_compiled]
        return "\n".join(lines)


def drop_reason(name: str) -> str | None:
    """Why Lambda never needs the entry ``name``, or None to keep it."""
    path = PurePosixPath(name)
    if path.parts[0] == LAYER_ROOT and len(path.parts) > 1:  # a layer's package: judged as in the zip
        path = PurePosixPath(*path.parts[1:])
        name = str(path)
    top = path.parts[0]
    if len(path.parts) > 1 and top.split("-")[0] in RUNTIME_PROVIDED:  # the package or its .dist-info
        return "provided by the Lambda runtime"
    if "__pycache__" in path.parts:
        return "bytecode cache of another build (compiled again)"
    if name.startswith(FIRST_PARTY):
        return None
    if "tests" in path.parts[:-1]:
        return "tests of a dependency"
    if path.suffix == ".pyi":
        return "type stubs (read by type checkers only)"
    if path.name == "RECORD" and top.endswith(".dist-info"):
        return "installer's file list (pip only; wrong once .pyc are added)"
    if top == "snowballstemmer" and path.name.endswith("_stemmer.py") and path.name not in STEMMERS_LOADED:
        return "a language the shop does not stem (chalicelib/search/language.py loads English only)"
    return None


STEMMERS_LOADED: Final = frozenset({"english_stemmer.py"})


def require_supported_runtime(version: tuple[int, ...] = tuple(sys.version_info[:2])) -> str:
    """The runtime this Python builds for, if Lambda runs it; else say what to install."""
    runtime = runtime_of(version)
    if runtime not in SUPPORTED_RUNTIMES:
        supported = ", ".join(r.removeprefix("python") for r in SUPPORTED_RUNTIMES)
        newest = SUPPORTED_RUNTIMES[-1]
        raise BundleError(
            f"the functions run on the Lambda runtime of the Python that builds them, and this is "
            f"{runtime.removeprefix('python')}: build with Python {supported}. Install one (e.g. "
            f"`apt install {newest}-venv`), then `rm -rf .venv && make package PYTHON={newest} STAGE=...`"
        )
    return runtime


def check_runtime(runtime: str) -> None:
    here = runtime_of()
    if runtime != here:
        raise BundleError(
            f"the stage runs {runtime} but this is {here}: a .pyc only loads in the Python version"
            f" that wrote it, so bundle the zip with {runtime}'s interpreter"
        )


def pyc_name(name: str) -> str:
    """Where ``name``'s bytecode goes (``pkg/__pycache__/mod.cpython-311.pyc``)."""
    return cache_from_source(name)


# Runs in a fresh interpreter with a fixed hash seed: marshal's output depends
# on the process that compiles (string hashes order frozenset constants, and
# reference counts decide which objects become back-references), so compiling
# here would make the bytes depend on whatever this process ran before.
COMPILER: Final = r"""
import json, py_compile, sys
failed = []
for source, target, name in json.load(sys.stdin):
    try:
        py_compile.compile(source, cfile=target, dfile=name, doraise=True, optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError as exc:
        failed.append([name, exc.exc_type_name, exc.msg])
json.dump(failed, sys.stdout)
"""


def compile_modules(sources: dict[str, bytes], workdir: Path) -> tuple[dict[str, bytes], list[list[str]]]:
    """The unchecked hash-based .pyc of each module (by its name in the zip), and the failures.

    ``dfile`` is the module's path in the package, so tracebacks do not name
    a temporary file; ``optimize=0`` because Lambda runs Python without -O.
    """
    jobs = []
    for name, source in sorted(sources.items()):
        source_file = workdir / name
        source_file.parent.mkdir(parents=True, exist_ok=True)
        source_file.write_bytes(source)
        jobs.append((str(source_file), str(workdir / pyc_name(name)), name))
    result = subprocess.run(  # noqa: S603 (this interpreter, our script)
        [sys.executable, "-S", "-c", COMPILER],
        input=json.dumps(jobs),
        cwd=workdir,
        env={"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise BundleError(f"the compiler process failed: {result.stderr.strip()}")
    failed: list[list[str]] = json.loads(result.stdout)
    broken = {name for name, _, _ in failed}
    compiled = {name: (workdir / pyc_name(name)).read_bytes() for name in sources if name not in broken}
    return compiled, failed


def entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.create_system = UNIX
    info.external_attr = (0o100755 if mode & 0o111 else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def files_of(source: zipfile.ZipFile, label: str) -> Iterator[zipfile.ZipInfo]:
    """The files of an archive; an entry that would land outside the package refuses it whole."""
    for info in source.infolist():
        if info.is_dir():
            continue
        if info.filename.startswith("/") or ".." in PurePosixPath(info.filename).parts:
            raise BundleError(f"{label} holds an entry outside the package: {info.filename}")
        yield info


def read_entries(chalice_zip: Path) -> tuple[dict[str, tuple[bytes, int]], list[tuple[str, str]]]:
    """The entries to keep (name -> content, Unix mode) and the dropped ones."""
    kept: dict[str, tuple[bytes, int]] = {}
    dropped: list[tuple[str, str]] = []
    with zipfile.ZipFile(chalice_zip) as source:
        for info in files_of(source, chalice_zip.name):
            why = drop_reason(info.filename)
            if why:
                dropped.append((info.filename, why))
            else:
                kept[info.filename] = (source.read(info), info.external_attr >> 16)
    return kept, sorted(dropped)


def compile_entries(
    kept: dict[str, tuple[bytes, int]],
) -> tuple[dict[str, tuple[bytes, int]], list[tuple[str, str]]]:
    """The .pyc of every kept module; dependencies' files that do not parse are listed."""
    sources = {name: source for name, (source, _) in kept.items() if name.endswith(".py")}
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        compiled, failed = compile_modules(sources, Path(tmp))
    for name, _, message in failed:
        if name.startswith(FIRST_PARTY):
            raise BundleError(f"{name} does not compile: {message}")
    pycs = {pyc_name(name): (pyc, 0o644) for name, pyc in compiled.items()}
    return pycs, sorted((name, error) for name, error, _ in failed)


def write_zip(entries: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for name in sorted(entries):
            content, mode = entries[name]
            out.writestr(entry(name, mode), content)
    return buffer.getvalue()


def largest_packages(entries: dict[str, tuple[bytes, int]], count: int = 3) -> str:
    sizes: Counter[str] = Counter()
    for name, (content, _) in entries.items():
        parts = name.split("/")
        sizes[parts[1] if parts[0] == LAYER_ROOT and len(parts) > 1 else parts[0]] += len(content)
    return ", ".join(f"{top} {size / 1e6:.1f} MB" for top, size in sizes.most_common(count))


def checked_size(data: bytes, out_zip: Path, entries: dict[str, tuple[bytes, int]], max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise BundleError(
            f"{out_zip.name} would be {len(data) / 1e6:.2f} MB, over the {max_bytes / 1e6:.2f} MB budget"
            f" (every cold start downloads it); largest uncompressed: {largest_packages(entries)}"
        )


def bundle(chalice_zip: Path, out_zip: Path, *, runtime: str = RUNTIME, max_bytes: int = MAX_ZIP_BYTES) -> BundleReport:
    """Write ``out_zip``: ``chalice_zip`` compiled for ``runtime`` and trimmed.

    ``out_zip`` may be ``chalice_zip`` itself. Nothing is written when the
    result would be over ``max_bytes`` (``BundleError`` says what is largest).
    """
    check_runtime(runtime)
    kept, dropped = read_entries(chalice_zip)
    compiled, not_compiled = compile_entries(kept)
    entries = {**kept, **compiled}
    data = write_zip(entries)
    checked_size(data, out_zip, entries, max_bytes)
    out_zip.write_bytes(data)
    return BundleReport(
        size_bytes=len(data), compiled=len(compiled), dropped=tuple(dropped), not_compiled=tuple(not_compiled)
    )


def read_wheels(wheels: list[Path]) -> tuple[dict[str, tuple[bytes, int]], list[tuple[str, str]]]:
    """The wheels' files as a layer's entries (under ``python/``), and the dropped ones."""
    kept: dict[str, tuple[bytes, int]] = {}
    dropped: list[tuple[str, str]] = []
    for wheel in sorted(wheels):
        with zipfile.ZipFile(wheel) as source:
            for info in files_of(source, wheel.name):
                name = f"{LAYER_ROOT}/{info.filename}"
                if name in kept:
                    raise BundleError(f"{name} is in two wheels ({wheel.name} and another)")
                why = drop_reason(name)
                if why:
                    dropped.append((name, why))
                    continue
                mode = info.external_attr >> 16
                if name.endswith(".so"):
                    mode |= 0o755  # a native extension, loaded by the dynamic linker
                kept[name] = (source.read(info), mode)
    return kept, sorted(dropped)


def bundle_layer(
    wheels: list[Path], out_zip: Path, *, runtime: str = RUNTIME, max_bytes: int = MAX_ZIP_BYTES
) -> BundleReport:
    """Write ``out_zip``, a Lambda layer of the ``wheels``' files under ``python/``, compiled for ``runtime``.

    The wheels must be built for the functions' platform (pip download
    --platform ...). Nothing is written when the layer would be over
    ``max_bytes``.
    """
    check_runtime(runtime)
    if not wheels:
        raise BundleError(f"{out_zip.name}: no wheel to put in the layer")
    kept, dropped = read_wheels(wheels)
    compiled, not_compiled = compile_entries(kept)
    entries = {**kept, **compiled}
    data = write_zip(entries)
    checked_size(data, out_zip, entries, max_bytes)
    out_zip.write_bytes(data)
    return BundleReport(
        size_bytes=len(data), compiled=len(compiled), dropped=tuple(dropped), not_compiled=tuple(not_compiled)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chalice_zip", type=Path, help="the zip `chalice package` wrote")
    parser.add_argument("out_zip", type=Path, help="where to write the deployment zip (may be the same file)")
    parser.add_argument("--runtime", default=RUNTIME, help=f"the functions' Lambda runtime (default {RUNTIME})")
    args = parser.parse_args(argv)
    try:
        report = bundle(args.chalice_zip, args.out_zip, runtime=args.runtime)
    except BundleError as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out_zip}: {report.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
