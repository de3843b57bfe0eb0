"""The native libraries some functions need, as Lambda layers built from their locked wheels.

- the search engine (tantivy, requirements-search.txt), ``SearchEngineLayer``:
  for the functions that search or index (``search_engine`` in
  infra/functions.py);
- the image library (Pillow, requirements-images.txt), ``ImageLibraryLayer``:
  for the image function only (``image_library``).

The deployment zip carries neither, so no other function pays for them at a
cold start. Each lock's wheels are downloaded for Lambda's platform and
runtime once (``pip download``, hash-checked against the lock) and cached in
build/.cache/, so later builds are offline; infra/bundle.py compiles and bounds
each layer.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from infra.bundle import RUNTIME
from infra.template import ROOT

BUILD: Final = ROOT / "build"
SEARCH_LAYER: Final = "SearchEngineLayer"
SEARCH_LAYER_ZIP: Final = "search-layer.zip"
SEARCH_REQUIREMENTS: Final = ROOT / "requirements-search.txt"
WHEEL_PLATFORM: Final = "manylinux2014_x86_64"  # the functions' architecture, x86_64
CACHE: Final = BUILD / ".cache"


@dataclass(frozen=True)
class Layer:
    logical_id: str
    zip_name: str
    requirements: Path
    name: str  # the layer's name is <stack>-<name>
    description: str
    license: str


SEARCH_ENGINE: Final = Layer(
    SEARCH_LAYER,
    SEARCH_LAYER_ZIP,
    SEARCH_REQUIREMENTS,
    "search-engine",
    "tantivy (requirements-search.txt), for the search and indexer functions",
    "MIT",
)
IMAGE_LIBRARY: Final = Layer(
    "ImageLibraryLayer",
    "images-layer.zip",
    ROOT / "requirements-images.txt",
    "image-library",
    "Pillow (requirements-images.txt), for the image function",
    "MIT-CMU",
)
LAYERS: Final = (SEARCH_ENGINE, IMAGE_LIBRARY)


def layer_resource(layer: Layer) -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "LayerName": {"Fn::Sub": f"${{AWS::StackName}}-{layer.name}"},
            "Description": layer.description,
            "ContentUri": f"./{layer.zip_name}",
            "CompatibleRuntimes": [RUNTIME],
            "CompatibleArchitectures": ["x86_64"],
            "LicenseInfo": layer.license,
            "RetentionPolicy": "Delete",
        },
    }


def search_layer() -> dict[str, Any]:
    """The search engine (tantivy), for the functions that search or index."""
    return layer_resource(SEARCH_ENGINE)


@dataclass(frozen=True)
class Pin:
    """One requirement of a hashed lock: name==version and the hashes of its files."""

    name: str
    version: str
    hashes: frozenset[str]


def locked(requirements: Path) -> list[Pin]:
    """The pins of a lock written by pip-compile --generate-hashes (``make lock``)."""
    pins = []
    for block in re.split(r"\n(?=\S)", requirements.read_text()):  # a pin and its indented hashes
        if pin := re.match(r"([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s;\\]+)", block):
            pins.append(Pin(pin[1], pin[2], frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))))
    unhashed = [p.name for p in pins if not p.hashes]
    if unhashed:
        raise SystemExit(f"{requirements.name} pins {', '.join(unhashed)} without hashes: run `make lock`")
    return pins


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _wheel_of(filename: str) -> tuple[str, str]:
    """(distribution, version) of a wheel's file name: name-version[-build]-python-abi-platform.whl."""
    name, version, *_ = [*filename.split("-"), "", ""]
    return _normalised(name), version


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cached_wheels(cache: Path, pins: list[Pin]) -> list[Path] | None:
    """A wheel of every pin, with a hash the lock names, from ``cache``; None if one is missing."""
    found = []
    for pin in pins:
        wheels = [w for w in sorted(cache.glob("*.whl")) if _wheel_of(w.name) == (_normalised(pin.name), pin.version)]
        matching = [w for w in wheels if _sha256(w) in pin.hashes]
        if not matching:
            return None
        found.append(matching[0])
    return found


def pip_download(requirements: Path, into: Path) -> None:
    """The locked wheels for the functions' platform (Lambda's Linux, x86_64, this runtime)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--platform",
        WHEEL_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        RUNTIME.removeprefix("python"),
        "--require-hashes",
        "--no-deps",
        "-r",
        str(requirements),
        "-d",
        str(into),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own pip)
    if result.returncode:
        raise SystemExit(
            f"could not download the wheels of {requirements.name} for {WHEEL_PLATFORM}: "
            f"{(result.stderr or result.stdout).strip()}\n(a first build needs the package index; "
            f"later builds use {CACHE.relative_to(ROOT) if CACHE.is_relative_to(ROOT) else CACHE}/)"
        )


def locked_wheels(
    requirements: Path,
    cache: Path | None = None,
    download: Callable[[Path, Path], None] = pip_download,
) -> list[Path]:
    """A lock's wheels (a layer's), from the cache, downloaded into it the first time."""
    cache = cache or CACHE / _cache_name(requirements) / f"{WHEEL_PLATFORM}-{RUNTIME}"
    pins = locked(requirements)
    if not pins:
        raise SystemExit(f"{requirements.name} pins nothing: run `make lock`")
    wheels = cached_wheels(cache, pins)
    if wheels is None:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache.parent) as tmp:
            download(requirements, Path(tmp))
            for wheel in Path(tmp).glob("*.whl"):
                os.replace(wheel, cache / wheel.name)
        wheels = cached_wheels(cache, pins)
        if wheels is None:
            raise SystemExit(f"pip downloaded no wheel of {requirements.name} with a hash it names")
    return wheels


def _cache_name(requirements: Path) -> str:
    by_lock = {layer.requirements: layer.zip_name.removesuffix(".zip") for layer in LAYERS}
    return by_lock.get(requirements, requirements.stem)


def build_layer(out: Path, layer: Layer) -> str:
    """Write build/<stage>/<layer's zip>; returns the line that reports it."""
    from infra.bundle import bundle_layer

    wheels = locked_wheels(layer.requirements)
    report = bundle_layer(wheels, out / layer.zip_name, runtime=RUNTIME)
    carried = ", ".join(f"{p.name} {p.version}" for p in locked(layer.requirements))
    where = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    size_mb = report.size_bytes / 1e6
    return f"{where}/{layer.zip_name}: {size_mb:.1f} MB ({carried}), {report.compiled} modules compiled"
