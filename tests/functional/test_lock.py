"""The Lambda package is built from a lock with hashes, and from nothing else.

requirements.in says what the functions need; `make lock` pins it, with every
file's hash, into requirements.txt, which `chalice package` installs (make
package). The zip must hold exactly the pinned versions.
"""

from __future__ import annotations

import re
import zipfile
from typing import Any

from infra.template import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", re.M)


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    return {normalised(n): v for n, v in PIN.findall((ROOT / "requirements.txt").read_text())}


def test_every_requirement_is_pinned_with_hashes() -> None:
    lock = (ROOT / "requirements.txt").read_text()
    wanted = [
        normalised(re.split(r"[\[<>=~;\s]", line, maxsplit=1)[0])
        for line in (ROOT / "requirements.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert wanted and set(wanted) <= set(pins()), "run `make lock`"
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n\n", 1)[-1]):
        if PIN.match(block):
            assert "--hash=sha256:" in block, f"{block.splitlines()[0]} has no hash"
    options = [line for line in lock.splitlines() if line.startswith("--")]
    assert options == [], "the lock names an index or a folder of the machine that made it"


def test_the_package_holds_exactly_the_locked_versions(built_stage: Any) -> None:
    built_stage("dev")
    with zipfile.ZipFile(ROOT / "build" / "dev" / "deployment.zip") as archive:
        installed = {
            normalised(m.group(1)): m.group(2)
            for name in archive.namelist()
            if (m := re.match(r"^([^/]+)-([^-/]+)\.dist-info/METADATA$", name))
        }
    assert installed == pins()


def test_the_package_carries_what_search_reads_at_run_time(built_stage: Any) -> None:
    built_stage("dev")
    with zipfile.ZipFile(ROOT / "build" / "dev" / "deployment.zip") as archive:
        names = set(archive.namelist())
    assert "chalicelib/search/synonyms.json" in names  # chalicelib/search/language.py loads it in the search function


def dev_pins() -> dict[str, str]:
    return {normalised(n): v for n, v in PIN.findall((ROOT / "requirements-dev.txt").read_text())}


def test_the_dev_lock_pins_every_package_with_hashes_and_agrees_with_the_lambda_lock() -> None:
    lock = (ROOT / "requirements-dev.txt").read_text()
    blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9])", lock) if PIN.match(b)]
    assert len(blocks) > 50  # the tools and tests, with what they need
    assert [b.splitlines()[0] for b in blocks if "--hash=sha256:" not in b] == []
    lambda_pins = pins()
    assert {name: version for name, version in dev_pins().items() if lambda_pins.get(name, version) != version} == {}


def test_the_dev_lock_holds_the_versions_the_local_patches_were_written_for() -> None:
    """`make test` installs the lock, so the moto and Chalice patches meet the versions they check for."""
    from localdev.gateway import CHALICE_SERIES

    locked = dev_pins()
    assert locked["chalice"].startswith(CHALICE_SERIES)
    assert locked["moto"].startswith("5.2.")
