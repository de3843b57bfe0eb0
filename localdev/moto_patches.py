"""The patches of moto's DynamoDB that the embedded AWS runs with: ``install`` applies them all.

Five patches of moto 5.2's internals, in two modules named for what they do:

- localdev/moto_speed.py, what moto's DynamoDB *costs* (no answer changes):
  - ``partition_queries``: a Query reads its partition, not the whole table, sorted;
  - ``cheap_transaction_snapshots``: a transaction copies, once, only the partitions it writes;
  - ``item_reads_as_json``: item reads are answered with ``json.dumps``, not moto's serializer
    (the wire format: the same JSON, written faster);
- localdev/moto_fixes.py, what moto's DynamoDB *tells*:
  - ``one_call_at_a_time`` (with ``reads_without_writes``): each DynamoDB call
    is atomic, as DynamoDB's are, and a GetItem no longer adds to the table;
  - ``stream_of_finished_writes``: the stream tells of the writes that happened, one record per item.

Each module says, patch by patch, why, what moto does instead, and the
upstream issue if one was found. localdev/resources.py's ``start_embedded_aws``
(the local stack, the tests and bench/) installs them; localdev/embedded_table.py
reads the table from moto's memory, relying on them.

They patch moto's internals, so they are written for one minor version
(``MOTO_WRITTEN_FOR``): ``install`` refuses another one.
tests/functional/test_moto_patches.py compares what clients see with every
patch and without any (``uninstalled``), and checks each behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from localdev import moto_fixes, moto_speed

MOTO_WRITTEN_FOR = "5.2"

# In the order they wrap one another: the lock (one_call_at_a_time) is outermost.
PATCHES: tuple[Callable[[], list[tuple[type, str, Any]]], ...] = (
    moto_speed.partition_queries,
    moto_speed.cheap_transaction_snapshots,
    moto_fixes.stream_of_finished_writes,
    moto_fixes.one_call_at_a_time,
    moto_fixes.reads_without_writes,
    moto_speed.item_reads_as_json,
)

_INHERITED = object()  # the attribute was the base class's: uninstalling deletes the override
_replaced: list[tuple[type, str, Any]] = []  # (class, attribute, what it was), in the order applied


def check_moto_version(installed: str | None = None) -> None:
    """Refuse a moto whose internals these patches were not written against (``installed``: moto's, by default)."""
    if installed is None:
        from importlib.metadata import version

        installed = version("moto")
    if installed.split(".")[:2] != MOTO_WRITTEN_FOR.split("."):
        raise RuntimeError(
            f"moto {installed} is installed, and localdev/moto_patches.py patches moto {MOTO_WRITTEN_FOR}.x "
            f"(requirements-dev.txt locks it). Install the locked versions: `make test` does when the lock "
            f"changes, or run `.venv/bin/python -m pip install -r requirements-dev.txt`. To move to moto "
            f"{installed}, check each patch of localdev/moto_speed.py and localdev/moto_fixes.py against its "
            f"code (tests/functional/test_moto_patches.py), then update MOTO_WRITTEN_FOR."
        )


def install() -> None:
    """Check moto's version, then apply every patch (once: a second call changes nothing)."""
    check_moto_version()
    if _replaced:
        return
    for patch in PATCHES:
        for owner, name, value in patch():  # built around the attribute as the patches before left it
            _replaced.append((owner, name, owner.__dict__.get(name, _INHERITED)))
            setattr(owner, name, value)


def uninstall() -> None:
    """Put back every attribute ``install`` replaced, the last first: moto as it ships."""
    while _replaced:
        owner, name, was = _replaced.pop()
        if was is _INHERITED:
            delattr(owner, name)
        else:
            setattr(owner, name, was)


@contextmanager
def uninstalled() -> Iterator[None]:
    """moto as it ships inside; the patches back on leaving if they were installed."""
    installed = bool(_replaced)
    uninstall()
    try:
        yield
    finally:
        if installed:
            install()


def original(owner: type, name: str) -> Any:
    """moto's own ``owner.name``, whether a patch replaced it or not."""
    for patched, attribute, was in _replaced:  # the first replacement saw moto's
        if patched is owner and attribute == name:
            return getattr(super(owner, owner), name) if was is _INHERITED else was
    return getattr(owner, name)
