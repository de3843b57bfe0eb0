"""Patches that make moto's DynamoDB tell what DynamoDB's does, where moto 5.2 tells otherwise.

localdev/moto_patches.py installs them (``install``), with localdev/moto_speed.py's.
Each function here returns its replacements, ``(class, attribute, new value)``,
built around the attribute it replaces; moto_patches applies them and can put
moto's own back (``uninstall``).

- ``one_call_at_a_time`` and ``reads_without_writes``: DynamoDB's operations
  are atomic and its transactions serializable; moto's, run by its server in a
  thread per request, are not;
- ``stream_of_finished_writes``: the table's stream holds one record per item a
  write changed, and none for a cancelled transaction.

tests/functional/test_moto_patches.py has a test for each behaviour (and
tests/functional/test_stream_pump.py the shop's race for the last unit).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_current = threading.local()  # the stream records held for the write running in this thread
_table_lock = threading.RLock()


def table_lock() -> threading.RLock:
    """Held by every DynamoDB call of the embedded AWS: hold it to read its memory."""
    return _table_lock


def one_call_at_a_time() -> list[tuple[type, str, Any]]:
    """Every DynamoDB call (over HTTP) and every write (in this process) holds ``table_lock``.

    Why: concurrency tests against the local stack (buyers racing for the last
    unit) must see what DynamoDB guarantees, and the local stack copies the
    table while clients use it.

    moto is not thread-safe, and its server runs each request in a thread. Two
    transactions interleave, and a rollback (which puts a copy of the table
    back) undoes another request's write. Reads are not safe either: a Query
    or Scan iterates the table's dict of partitions while a write adds to it
    ("dictionary changed size during iteration").

    Upstream: moto documents that it does not support multithreaded access,
    https://github.com/getmoto/moto/pull/7166 (docs, for
    https://github.com/getmoto/moto/issues/7164); an early report of the
    same: https://github.com/getmoto/moto/issues/372.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    def locked(owner: type, name: str) -> tuple[type, str, Any]:
        original = getattr(owner, name)

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _table_lock:
                return original(self, *args, **kwargs)

        return owner, name, call

    writes = ("put_item", "update_item", "delete_item", "transact_write_items")
    return [locked(DynamoHandler, "call_action"), *(locked(DynamoDBBackend, name) for name in writes)]


def reads_without_writes() -> list[tuple[type, str, Any]]:
    """A GetItem of a missing key leaves the table as it was.

    Why: a read must not change the table. The shop reads a missing key on
    every purchase (its idempotency record), and each read left an empty
    partition behind, that every Scan and copy of the table then walks.

    moto 5.2's ``Table.get_item`` looks the key up as
    ``self.items[hash_key][range_key]``: ``items`` is a ``defaultdict``, so a
    missing partition key *adds* an empty partition before the KeyError that
    answers "no item". Here a missing partition answers "no item" at once.

    Upstream: no upstream issue found.
    """
    from moto.dynamodb.models.table import Table

    original_get_item = Table.get_item

    def get_item(self: Any, hash_key: Any, range_key: Any = None, *args: Any, **kwargs: Any) -> Any:
        if range_key and hash_key not in self.items:
            return None
        return original_get_item(self, hash_key, range_key, *args, **kwargs)

    return [(Table, "get_item", get_item)]


def stream_of_finished_writes() -> list[tuple[type, str, Any]]:
    """A write's stream records are held until it ends: one per item, and none if it was rolled back.

    Why: the order events read the table's stream. A refused purchase (its
    stock condition failed after the order's Put was applied) looked like an
    order to them: a confirmation mailed, a sale counted (docs/local.md).

    moto 5.2's TransactWriteItems applies each action as it goes, each adding
    its stream record, and when an action fails it puts back its copy of the
    table: the records stay. moto's copy is a deep copy, so it also forks the
    stream: a reader stays on the old shard, cancelled records included, and
    never sees a later write. And an update that creates an item writes its
    bare key first, then the update: two INSERT records, the first without
    attributes. Here the records of a write (a transaction: all its actions)
    are held until it ends, one per item (its first old image, its last new
    one); a transaction that was rolled back emits none, and the table put
    back keeps the stream its readers follow.

    Upstream: no upstream issue found.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard

    original_add = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        held: _HeldRecords | None = getattr(_current, "held_records", None)
        if held is None:
            original_add(self, old, new)
        else:
            held.add(self, old, new)

    def held(name: str) -> tuple[type, str, Any]:
        original = getattr(DynamoDBBackend, name)

        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _holding_records(original_add):  # a failed single write keeps what it did: its records go out
                return original(self, *args, **kwargs)

        return DynamoDBBackend, name, write

    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        named = {body.get("TableName") for action in transact_items for body in action.values()}
        before = {name: self.tables[name] for name in named if name in self.tables}
        with _holding_records(original_add) as records:
            try:
                return original_transact(self, transact_items, *args, **kwargs)
            except Exception:
                if _rolled_back(self, before):
                    records.clear()  # none of it happened
                raise

    return [
        (StreamShard, "add", add),
        held("put_item"),
        held("update_item"),
        held("delete_item"),
        (DynamoDBBackend, "transact_write_items", transact_write_items),
    ]


class _HeldRecords:
    """The stream records of one write, one per item, until the write ends."""

    def __init__(self) -> None:
        self.records: dict[tuple[int, Any, Any], list[Any]] = {}  # (shard, hash, range) -> [shard, old, new]

    def add(self, shard: Any, old: Any, new: Any) -> None:
        item = new if new is not None else old
        key = (id(shard), item.hash_key, item.range_key)
        held = self.records.get(key)
        if held is None:
            self.records[key] = [shard, old, new]
        else:
            held[2] = new  # the item's state before the write, and after it

    def clear(self) -> None:
        self.records.clear()

    def emit(self, add: Callable[[Any, Any, Any], None]) -> None:
        for shard, old, new in self.records.values():
            if old is not None or new is not None:  # created and deleted within one write: nothing
                add(shard, old, new)


@contextmanager
def _holding_records(add: Callable[[Any, Any, Any], None]) -> Iterator[_HeldRecords]:
    """Hold the stream records of the writes made inside; ``add`` them to their streams on leaving.

    Nested uses share the outermost hold (a transaction's actions are writes too).
    """
    outer: _HeldRecords | None = getattr(_current, "held_records", None)
    if outer is not None:
        yield outer
        return
    records = _current.held_records = _HeldRecords()
    try:
        yield records
    finally:
        _current.held_records = None
        records.emit(add)


def _rolled_back(backend: Any, before: dict[str, Any]) -> bool:
    """Whether moto put copies back in place of the tables a transaction named.

    A table put back keeps the stream its readers follow (moto's deep copy
    made a new one, with the records of before the transaction: the same).
    """
    replaced = False
    for name, table in before.items():
        now = backend.tables.get(name)
        if now is None or now is table:
            continue
        replaced = True
        if table.stream_shard is not None:
            now.stream_shard = table.stream_shard
            now.stream_shard.table = now
    return replaced
