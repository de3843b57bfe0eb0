"""infra/bundle.py on a small package and wheels made here: compiled, trimmed, reproducible, bounded."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.bundle import RUNTIME, BundleError, bundle, bundle_layer, require_supported_runtime, runtime_of

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = {
    "app.py": "from chalicelib import shop\n",
    "chalicelib/__init__.py": "",
    "chalicelib/shop.py": 'ORIGIN = "compiled"\n',
    "petlib/__init__.py": "def bark() -> str:\n    return 'woof'\n",
    "petlib/__init__.pyi": "def bark() -> str: ...\n",
    "petlib/legacy.py": 'print "python 2 only"\n',
    "petlib/tests/__init__.py": "",
    "petlib/tests/test_bark.py": "def test_bark(): pass\n",
    "petlib-1.0.dist-info/METADATA": "Name: petlib\nVersion: 1.0\n",
    "petlib-1.0.dist-info/RECORD": "petlib/__init__.py,,\n",
    "petlib-1.0.dist-info/licenses/LICENSE": "MIT\n",
    "boto3/__init__.py": "",
    "botocore/__init__.py": "",
    "boto3-1.0.dist-info/METADATA": "Name: boto3\n",
}


def make_zip(path: Path, files: dict[str, str], date_time: tuple[int, ...] = (2026, 1, 2, 3, 4, 6)) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=date_time)  # type: ignore[arg-type]
            info.external_attr = 0o100644 << 16
            out.writestr(info, text)
    return path


@pytest.fixture()
def chalice_zip(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "chalice.zip", PACKAGE)


def unpack(zip_path: Path, where: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(where)
    return where


def run_from(package_dir: Path, code: str) -> str:
    """Run ``code`` in a fresh interpreter that imports from ``package_dir`` only, as Lambda does."""
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(package_dir)!r})\n{code}"],
        cwd=package_dir,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_every_module_gets_bytecode_for_this_python(chalice_zip: Path, tmp_path: Path) -> None:
    report = bundle(chalice_zip, tmp_path / "deployment.zip")
    names = set(zipfile.ZipFile(tmp_path / "deployment.zip").namelist())
    tag = sys.implementation.cache_tag
    assert {
        f"__pycache__/app.{tag}.pyc",
        f"chalicelib/__pycache__/__init__.{tag}.pyc",
        f"chalicelib/__pycache__/shop.{tag}.pyc",
        f"petlib/__pycache__/__init__.{tag}.pyc",
    } <= names
    assert report.compiled == 4
    assert report.size_bytes == (tmp_path / "deployment.zip").stat().st_size


def test_the_bytecode_is_used_even_when_the_source_changes_after_packaging(chalice_zip: Path, tmp_path: Path) -> None:
    bundle(chalice_zip, tmp_path / "deployment.zip")
    package = unpack(tmp_path / "deployment.zip", tmp_path / "task")
    (package / "chalicelib" / "shop.py").write_text('ORIGIN = "source"\n')
    assert run_from(package, "from chalicelib import shop; print(shop.ORIGIN)") == "compiled"


def test_the_package_imports_from_its_bytecode_without_writing_any(chalice_zip: Path, tmp_path: Path) -> None:
    bundle(chalice_zip, tmp_path / "deployment.zip")
    package = unpack(tmp_path / "deployment.zip", tmp_path / "task")
    before = sorted(package.rglob("*"))
    assert run_from(package, "import app, petlib; print(petlib.bark(), app.shop.ORIGIN)") == "woof compiled"
    assert sorted(package.rglob("*")) == before


def test_what_lambda_never_loads_is_dropped_and_licences_stay(chalice_zip: Path, tmp_path: Path) -> None:
    report = bundle(chalice_zip, tmp_path / "deployment.zip")
    names = set(zipfile.ZipFile(tmp_path / "deployment.zip").namelist())
    assert dict(report.dropped) == {
        "boto3-1.0.dist-info/METADATA": "provided by the Lambda runtime",
        "boto3/__init__.py": "provided by the Lambda runtime",
        "botocore/__init__.py": "provided by the Lambda runtime",
        "petlib-1.0.dist-info/RECORD": "installer's file list (pip only; wrong once .pyc are added)",
        "petlib/__init__.pyi": "type stubs (read by type checkers only)",
        "petlib/tests/__init__.py": "tests of a dependency",
        "petlib/tests/test_bark.py": "tests of a dependency",
    }
    assert names.isdisjoint(dict(report.dropped))
    assert {"petlib-1.0.dist-info/licenses/LICENSE", "petlib-1.0.dist-info/METADATA", "petlib/legacy.py"} <= names


def test_only_the_english_stemmer_is_kept(tmp_path: Path) -> None:
    stemmers = {
        "snowballstemmer/__init__.py": "",
        "snowballstemmer/basestemmer.py": "class BaseStemmer: ...\n",
        "snowballstemmer/english_stemmer.py": "class EnglishStemmer: ...\n",
        "snowballstemmer/serbian_stemmer.py": "class SerbianStemmer: ...\n",
    }
    report = bundle(make_zip(tmp_path / "chalice.zip", stemmers), tmp_path / "deployment.zip")
    names = set(zipfile.ZipFile(tmp_path / "deployment.zip").namelist())
    assert [name for name, _ in report.dropped] == ["snowballstemmer/serbian_stemmer.py"]
    assert {"snowballstemmer/english_stemmer.py", "snowballstemmer/basestemmer.py"} <= names


def test_a_dependency_file_that_does_not_parse_is_kept_as_it_is(chalice_zip: Path, tmp_path: Path) -> None:
    report = bundle(chalice_zip, tmp_path / "deployment.zip")
    assert report.not_compiled == (("petlib/legacy.py", "SyntaxError"),)


def test_an_app_module_that_does_not_compile_stops_the_bundle(tmp_path: Path) -> None:
    broken = make_zip(tmp_path / "chalice.zip", {**PACKAGE, "chalicelib/orders/checkout.py": "def place(:\n"})
    with pytest.raises(BundleError, match=r"chalicelib/orders/checkout\.py does not compile"):
        bundle(broken, tmp_path / "deployment.zip")
    assert not (tmp_path / "deployment.zip").exists()


def test_the_same_files_give_the_same_bytes_whatever_their_order_and_times(tmp_path: Path) -> None:
    first = make_zip(tmp_path / "first.zip", PACKAGE)
    second = make_zip(tmp_path / "second.zip", dict(reversed(PACKAGE.items())), date_time=(2027, 6, 7, 8, 9, 10))
    bundle(first, tmp_path / "first-out.zip")
    # Another interpreter, through the command line, in place.
    subprocess.run([sys.executable, "-m", "infra.bundle", str(second), str(second)], cwd=ROOT, check=True)
    assert (tmp_path / "first-out.zip").read_bytes() == second.read_bytes()


def test_a_zip_over_the_budget_is_refused_and_not_written(chalice_zip: Path, tmp_path: Path) -> None:
    size = bundle(chalice_zip, tmp_path / "fits.zip").size_bytes
    assert bundle(chalice_zip, tmp_path / "exact.zip", max_bytes=size).size_bytes == size
    with pytest.raises(BundleError, match=r"over the 0\.00 MB budget.*largest uncompressed: petlib"):
        bundle(chalice_zip, tmp_path / "deployment.zip", max_bytes=size - 1)
    assert not (tmp_path / "deployment.zip").exists()


def test_another_runtime_than_this_python_is_refused(chalice_zip: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"the stage runs python3\.99 but this is python3\.\d+"):
        bundle(chalice_zip, tmp_path / "deployment.zip", runtime="python3.99")
    assert not (tmp_path / "deployment.zip").exists()


@pytest.mark.parametrize("version", [(3, 11), (3, 12), (3, 13)])
def test_the_functions_run_on_the_runtime_of_the_python_that_builds_them(version: tuple[int, int]) -> None:
    assert require_supported_runtime(version) == f"python3.{version[1]}"
    assert RUNTIME == runtime_of(tuple(sys.version_info[:2])) == f"python3.{sys.version_info.minor}"


@pytest.mark.parametrize("version", [(3, 10), (3, 14), (4, 0)])
def test_a_python_lambda_does_not_run_is_refused_with_what_to_install(version: tuple[int, int]) -> None:
    with pytest.raises(BundleError) as refused:
        require_supported_runtime(version)
    message = str(refused.value)
    assert f"this is {version[0]}.{version[1]}" in message
    assert "build with Python 3.11, 3.12, 3.13" in message
    assert "make package PYTHON=python3.13" in message


def test_make_package_refuses_such_a_python_before_building_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra import package

    built: list[str] = []
    monkeypatch.setattr(package, "build", built.append)
    with pytest.raises(SystemExit, match=r"package: .*this is 3\.14: build with Python 3\.11"):
        package.main(["--stage", "dev"], python=(3, 14))
    assert built == []
    package.main(["--stage", "dev"], python=(3, 12))
    assert built == ["dev"]


# -- a layer from wheels ------------------------------------------------------------

WHEEL = {
    "petengine/__init__.py": "from .core import search\n",
    "petengine/core.py": "def search(q: str) -> list[str]:\n    return [q]\n",
    "petengine/core.pyi": "def search(q: str) -> list[str]: ...\n",
    "petengine/native.abi3.so": "\x7fELF pretend",
    "petengine-2.0.dist-info/METADATA": "Name: petengine\nVersion: 2.0\n",
    "petengine-2.0.dist-info/RECORD": "petengine/__init__.py,,\n",
    "petengine-2.0.dist-info/licenses/LICENSE": "MIT\n",
}


@pytest.fixture()
def wheel(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "petengine-2.0-cp311-abi3-manylinux2014_x86_64.whl", WHEEL)


def test_a_layer_holds_the_wheels_files_under_python_compiled_and_trimmed(wheel: Path, tmp_path: Path) -> None:
    report = bundle_layer([wheel], tmp_path / "layer.zip")
    with zipfile.ZipFile(tmp_path / "layer.zip") as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    tag = sys.implementation.cache_tag
    assert names == {
        "python/petengine/__init__.py",
        "python/petengine/core.py",
        f"python/petengine/__pycache__/__init__.{tag}.pyc",
        f"python/petengine/__pycache__/core.{tag}.pyc",
        "python/petengine/native.abi3.so",
        "python/petengine-2.0.dist-info/METADATA",
        "python/petengine-2.0.dist-info/licenses/LICENSE",
    }
    assert dict(report.dropped) == {
        "python/petengine-2.0.dist-info/RECORD": "installer's file list (pip only; wrong once .pyc are added)",
        "python/petengine/core.pyi": "type stubs (read by type checkers only)",
    }
    assert report.compiled == 2 and report.size_bytes == (tmp_path / "layer.zip").stat().st_size
    assert modes["python/petengine/native.abi3.so"] & 0o111  # the dynamic linker loads it
    # Lambda unpacks a layer in /opt and imports from /opt/python: from the bytecode, writing none.
    opt = unpack(tmp_path / "layer.zip", tmp_path / "opt")
    before = sorted(opt.rglob("*"))
    (opt / "python" / "petengine" / "core.py").write_text("def search(q):\n    return ['source']\n")
    assert run_from(opt / "python", "import petengine; print(petengine.search('salmon'))") == "['salmon']"
    assert sorted(opt.rglob("*")) == before


def test_a_layer_is_the_same_bytes_from_the_same_wheels(wheel: Path, tmp_path: Path) -> None:
    later = make_zip(tmp_path / "later.whl", dict(reversed(WHEEL.items())), date_time=(2027, 6, 7, 8, 9, 10))
    bundle_layer([wheel], tmp_path / "first.zip")
    bundle_layer([later], tmp_path / "second.zip")
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "second.zip").read_bytes()


def test_a_layer_over_the_budget_is_refused_and_not_written(wheel: Path, tmp_path: Path) -> None:
    size = bundle_layer([wheel], tmp_path / "fits.zip").size_bytes
    with pytest.raises(BundleError, match=r"search-layer\.zip would be .* over the 0\.00 MB budget.*petengine"):
        bundle_layer([wheel], tmp_path / "search-layer.zip", max_bytes=size - 1)
    assert not (tmp_path / "search-layer.zip").exists()


def test_a_layer_refuses_no_wheels_overlapping_wheels_and_entries_outside(wheel: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no wheel"):
        bundle_layer([], tmp_path / "layer.zip")
    twin = make_zip(tmp_path / "twin.whl", {"petengine/__init__.py": ""})
    with pytest.raises(BundleError, match=r"python/petengine/__init__\.py is in two wheels"):
        bundle_layer([wheel, twin], tmp_path / "layer.zip")
    evil = make_zip(tmp_path / "evil.whl", {"../outside.py": ""})
    with pytest.raises(BundleError, match="outside the package"):
        bundle_layer([evil], tmp_path / "layer.zip")
    assert not (tmp_path / "layer.zip").exists()
