"""The search engine layer's inputs (infra/layers.py): a hashed lock, one download, then offline builds.

requirements-search.in names the engine; `make lock` pins it with every
file's hash into requirements-search.txt. `make package` downloads the
locked wheel for Lambda's platform once (pip download --require-hashes) into
build/.cache/, and every later build takes it from there, checked against the
lock's hashes, without the network.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from infra import layers as search_layer
from infra.layers import Pin, cached_wheels, locked, locked_wheels
from infra.template import ROOT

LOCK = ROOT / "requirements-search.txt"


def test_the_search_engine_is_pinned_with_hashes_and_only_in_its_own_lock() -> None:
    wanted = [
        line.split("==")[0].strip()
        for line in (ROOT / "requirements-search.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pins = {pin.name: pin for pin in locked(LOCK)}
    assert wanted == ["tantivy"] and pins["tantivy"].version == "0.27.0", "run `make lock`"
    assert all(len(pin.hashes) >= 1 for pin in pins.values())
    assert not [line for line in LOCK.read_text().splitlines() if line.startswith("--")], "the lock names an index"
    # The deployment zip's lock does not carry it: only the layer does.
    assert "tantivy" not in {pin.name for pin in locked(ROOT / "requirements.txt")}
    assert not re.search(r"^tantivy", (ROOT / "requirements.in").read_text(), re.M)


def test_a_lock_without_hashes_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "requirements-search.txt"
    lock.write_text("tantivy==0.27.0\n    # via -r requirements-search.in\n")
    with pytest.raises(SystemExit, match="pins tantivy without hashes: run `make lock`"):
        locked(lock)


def fake_wheel(folder: Path, name: str = "tantivy-0.27.0-cp311-abi3-manylinux2014_x86_64.whl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tantivy/__init__.py", "from .tantivy import *\n")
    return path


def lock_for(tmp_path: Path, *wheels: Path) -> Path:
    hashes = " \\\n".join(f"    --hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}" for w in wheels)
    lock = tmp_path / "requirements-search.txt"
    lock.write_text(f"#\n# pip-compile\n#\ntantivy==0.27.0 \\\n{hashes}\n    # via -r requirements-search.in\n")
    return lock


def test_the_wheel_is_downloaded_once_then_taken_from_the_cache(tmp_path: Path) -> None:
    published = fake_wheel(tmp_path / "index")
    lock = lock_for(tmp_path, published)
    downloads: list[Path] = []

    def download(requirements: Path, into: Path) -> None:
        assert requirements == lock
        downloads.append(into)
        (into / published.name).write_bytes(published.read_bytes())

    cache = tmp_path / "build" / ".cache" / "search-layer"
    first = locked_wheels(lock, cache, download)
    second = locked_wheels(lock, cache, download)  # offline: no download

    assert first == second == [cache / published.name]
    assert len(downloads) == 1 and not downloads[0].exists()  # downloaded beside the cache, then moved in


def test_a_cached_wheel_whose_hash_the_lock_does_not_name_is_downloaded_again(tmp_path: Path) -> None:
    published = fake_wheel(tmp_path / "index")
    lock = lock_for(tmp_path, published)
    cache = tmp_path / "cache"
    tampered = fake_wheel(cache)
    tampered.write_bytes(tampered.read_bytes() + b"tampered")
    downloads: list[Path] = []

    def download(requirements: Path, into: Path) -> None:
        downloads.append(into)
        (into / published.name).write_bytes(published.read_bytes())

    assert cached_wheels(cache, locked(lock)) is None
    assert locked_wheels(lock, cache, download) == [cache / published.name]
    assert len(downloads) == 1 and (cache / published.name).read_bytes() == published.read_bytes()


def test_a_download_that_brings_no_locked_wheel_stops_the_build(tmp_path: Path) -> None:
    lock = lock_for(tmp_path, fake_wheel(tmp_path / "index"))

    def download(requirements: Path, into: Path) -> None:
        fake_wheel(into, "tantivy-0.26.0-cp311-abi3-manylinux2014_x86_64.whl")

    with pytest.raises(SystemExit, match=r"no wheel of requirements-search\.txt with a hash it names"):
        locked_wheels(lock, tmp_path / "cache", download)


def test_the_download_asks_pip_for_lambdas_platform_with_the_locks_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    class Failed:
        returncode, stdout, stderr = 1, "", "ERROR: Could not find a version that satisfies the requirement"

    def run(command: list[str], **_: object) -> Failed:
        commands.append(command)
        return Failed()

    monkeypatch.setattr(search_layer.subprocess, "run", run)
    with pytest.raises(SystemExit, match=r"could not download .* manylinux2014_x86_64: ERROR: Could not find"):
        search_layer.pip_download(LOCK, tmp_path)
    (command,) = commands
    joined = " ".join(command[1:])
    assert joined.startswith("-m pip download")
    for option in (
        "--only-binary=:all:",
        "--platform manylinux2014_x86_64",
        "--implementation cp",
        f"--python-version {search_layer.RUNTIME.removeprefix('python')}",
        "--require-hashes",
        "--no-deps",
        f"-r {LOCK}",
        f"-d {tmp_path}",
    ):
        assert option in joined


def test_a_pin_names_its_wheels_by_distribution_and_version(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path, "Tantivy-0.27.0-cp311-abi3-manylinux2014_x86_64.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert cached_wheels(tmp_path, [Pin("tantivy", "0.27.0", frozenset({digest}))]) == [wheel]
    assert cached_wheels(tmp_path, [Pin("tantivy", "0.27.1", frozenset({digest}))]) is None
    assert cached_wheels(tmp_path, [Pin("tantivy-extra", "0.27.0", frozenset({digest}))]) is None
