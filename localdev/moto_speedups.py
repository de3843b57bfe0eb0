"""Patches that make moto's DynamoDB cost, and tell, what DynamoDB's does.

Written for moto 5.2 (``MOTO_WRITTEN_FOR``): ``install`` refuses another
minor version, whose internals these patches would have to be checked
against again (tests/functional/test_moto_speedups.py has a test per patch).

1. moto answers every Query by sorting *all* items of the table
   (``Table.all_items``) and then keeping those of the asked partition:
   O(table log table) per call, seconds per search with a few thousand
   products. While a Query on the table or a local secondary index runs,
   ``all_items`` returns only the items of its partition (same items, same
   order; LSIs share the table's partition key). GSI queries are left as is.
2. moto's TransactWriteItems deep-copies the whole table once *per action*
   before it starts, to roll back on failure: a 30-action transaction on a
   10,000-item table takes many seconds. While it runs, the copy holds only the
   partitions the transaction touches (the others are not modified by it), and
   is made once.
3. moto's DynamoDB is not thread-safe, and its server runs each request in a
   thread. Two transactions can interleave, and a rollback (which puts the
   snapshot back) can undo another request's write. Reads are not safe either:
   a Query or Scan iterates the table's dict of partitions while a write adds
   to it, and a GetItem of a missing key *adds* an empty partition (the dict
   is a ``defaultdict``), so even a copy made under a write lock fails with
   "dictionary changed size during iteration". DynamoDB's operations are
   atomic and its transactions serializable, so here every DynamoDB call takes
   one lock (``table_lock``), and GetItem no longer writes: concurrency tests
   against the local stack see what DynamoDB guarantees, and ``table_items``
   copies a table safely while clients use it.

4. moto's stream tells of writes that did not happen (no getmoto/moto issue
   found for it). Its TransactWriteItems applies each action as it goes, each
   adding its stream record, and when a condition fails it puts back a copy
   of the table: the records stay (patch 2's copy shares the live stream;
   moto's own deep copy forks it, so readers stay on the old shard, cancelled
   records included, and never see a later write). So a refused purchase
   looked like an order to every stream reader. And an update that creates an
   item writes its bare key first, then the update: two INSERT records, the
   first without attributes. Here a write's records are held until it ends,
   one per item (its first old image, its last new one), and a transaction
   that was rolled back emits none, as DynamoDB's stream does.

The local stack, the tests and bench/ install them.
tests/functional/test_moto_speedups.py checks that answers are identical,
that a failed transaction still leaves nothing behind, that copies made
while clients read and write are whole, and that the stream holds what was
written and nothing else.
"""

from __future__ import annotations

import threading
import time
from typing import Any

_current = threading.local()


_serving_patches_installed = False


MOTO_WRITTEN_FOR = "5.2"


def check_moto_version() -> None:
    """Refuse a moto whose internals these patches were not written against."""
    from importlib.metadata import version

    found = version("moto")
    if found.split(".")[:2] != MOTO_WRITTEN_FOR.split("."):
        raise RuntimeError(
            f"localdev/moto_speedups.py patches moto {MOTO_WRITTEN_FOR}.x, and moto {found} is installed: "
            "check each patch against its code (tests/functional/test_moto_speedups.py), then update MOTO_WRITTEN_FOR"
        )


def install() -> None:
    """Install the patches (once: a second call changes nothing)."""
    global _serving_patches_installed
    check_moto_version()
    _install_partition_queries()
    if _serving_patches_installed:
        return
    _serving_patches_installed = True
    _install_cheap_transaction_snapshots()
    _emit_records_of_finished_writes_only()
    _serialize_calls()
    _read_without_writing()
    _answer_item_reads_as_json()


def _install_partition_queries() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_partition_query_installed", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items

    def all_items(self: Any) -> Any:
        partition = getattr(_current, "partition", None)
        if partition is not None and partition[0] is self:
            return sorted(partition[1], key=lambda item: item.range_key.cast_value)
        return original_all_items(self)

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        local_indexes = {index.name for index in (self.indexes or [])}
        key = hash_key
        if key is None:
            key = dict(kwargs.get("hash_key_conditions") or []).get(self.hash_key_attr)
        if self.range_key_attr and key is not None and (index_name is None or index_name in local_indexes):
            _current.partition = (self, list(self.items.get(key, {}).values()))
        try:
            return original_query(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                *args,
                **kwargs,
            )
        finally:
            _current.partition = None

    all_items.__wrapped_original__ = original_all_items  # type: ignore[attr-defined]
    query.__wrapped_original__ = original_query  # type: ignore[attr-defined]
    Table.all_items = all_items
    Table.query = query
    Table._partition_query_installed = True


_table_lock = threading.RLock()


def table_lock() -> threading.RLock:
    """Held by every DynamoDB call of the embedded AWS: hold it to read its memory."""
    return _table_lock


def table_items(table_name: str, region: str, account_id: str | None = None) -> list[dict[str, Any]]:
    """Every item of a table of the embedded AWS, in DynamoDB JSON, read from its memory.

    A Scan over HTTP makes moto sort the whole table for every page; this is one
    pass, taken under ``table_lock`` so that no request changes the table meanwhile.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[account_id or DEFAULT_ACCOUNT_ID][region]
    with _table_lock:
        table = backend.get_table(table_name)  # inside: a rolled-back transaction replaces the table
        return [item.to_json()["Attributes"] for partition in table.items.values() for item in partition.values()]


class TableChanges:
    """The writes to a table of the embedded AWS, taken from its stream as they come.

    ``take`` holds ``table_lock`` only to slice the stream's new records, and
    returns each as a change ``{"keys": ..., "item": new image or None}``: the
    local stack appends them to its journal every second, so a save costs what
    changed, never the table's size. The stream holds one record per item a
    write changed and none for a cancelled transaction (patch 4), and a
    transaction's records are added at once: changes applied in order give
    the table as of the last record taken. Needs a stream with new images.
    """

    def __init__(self, table_name: str, region: str, account_id: str | None = None) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self._backend = dynamodb_backends[account_id or DEFAULT_ACCOUNT_ID][region]
        self.table_name = table_name
        with _table_lock:
            table = self._backend.get_table(table_name)
            view = (table.stream_specification or {}).get("StreamViewType", "")
            if table.stream_shard is None or view not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
                raise ValueError(f"{table_name} has no stream of new images to follow")
            self.key_names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
            self._shard = table.stream_shard
            self._position = len(self._shard.items)
        self.lock_held_s = 0.0  # the longest ``take`` held table_lock

    def take(self) -> list[dict[str, Any]]:
        """The changes written since the last call (or since this was made), in order."""
        started = time.perf_counter()
        with _table_lock:
            shard = self._backend.get_table(self.table_name).stream_shard
            if shard is not self._shard or self._position > len(shard.items):
                raise RuntimeError(f"the stream of {self.table_name} was replaced: follow it anew")
            records = shard.items[self._position :]
            self._position += len(records)
        self.lock_held_s = max(self.lock_held_s, time.perf_counter() - started)
        return [
            {
                "keys": record.record["dynamodb"]["Keys"],
                "item": None if record.record["eventName"] == "REMOVE" else record.record["dynamodb"]["NewImage"],
            }
            for record in records
        ]


def apply_changes(
    items: list[dict[str, Any]], changes: list[dict[str, Any]], key_names: list[str]
) -> list[dict[str, Any]]:
    """``items`` (DynamoDB JSON) after ``changes`` (``TableChanges.take``'s), applied in order."""
    import json

    def key(keys: dict[str, Any]) -> str:
        return json.dumps({name: keys[name] for name in key_names}, sort_keys=True)

    table = {key(item): item for item in items}
    for change in changes:
        if change["item"] is None:
            table.pop(key(change["keys"]), None)
        else:
            table[key(change["keys"])] = change["item"]
    return list(table.values())


def _serialize_calls() -> None:
    """Every DynamoDB call (HTTP) and every write (in-process) takes ``table_lock``."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    def lock(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _table_lock:
                return __original(self, *args, **kwargs)

        locked.__wrapped_original__ = original  # type: ignore[attr-defined]
        setattr(owner, name, locked)

    lock(DynamoHandler, "call_action")
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        lock(DynamoDBBackend, name)


def _read_without_writing() -> None:
    """GetItem of a missing key must not add an empty partition to the table."""
    from moto.dynamodb.models.table import Table

    original_get_item = Table.get_item

    def get_item(self: Any, hash_key: Any, range_key: Any = None, *args: Any, **kwargs: Any) -> Any:
        if range_key and hash_key not in self.items:
            return None
        return original_get_item(self, hash_key, range_key, *args, **kwargs)

    get_item.__wrapped_original__ = original_get_item  # type: ignore[attr-defined]
    Table.get_item = get_item


ITEM_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


def _answer_item_reads_as_json() -> None:
    import json

    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.serialized

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        plain = type(action_result).execute_result is ActionResult.execute_result  # not paginated
        if plain and isinstance(result, dict) and self._get_action() in ITEM_READS:
            try:
                body = json.dumps(result, separators=(",", ":"))
            except (TypeError, ValueError):
                return original(self, action_result)
            headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
            return 200, headers, body
        return original(self, action_result)

    serialized.__wrapped_original__ = original  # type: ignore[attr-defined]
    DynamoHandler.serialized = serialized


def _install_cheap_transaction_snapshots() -> None:
    import copy

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        touched = _touched_partitions(self, transact_items, DynamoType)
        before = {name: self.tables.get(name) for name in touched}
        _current.touched, _current.snapshots = touched, {}
        with _held_stream_records() as held:
            try:
                return original_transact(self, transact_items, *args, **kwargs)
            except Exception:
                if _rolled_back(self, before):
                    held.clear()  # none of it happened
                raise
            finally:
                _current.touched, _current.snapshots = None, None

    def table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        touched = getattr(_current, "touched", None)
        if touched is not None and self.name in touched:
            snapshot = _current.snapshots.get(self.name)
            if snapshot is None:
                snapshot = copy.copy(self)
                snapshot.items = copy.copy(self.items)  # a defaultdict: keep its factory
                for key in touched[self.name] & set(self.items):
                    snapshot.items[key] = copy.deepcopy(self.items[key])
                _current.snapshots[self.name] = snapshot
            return snapshot
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            setattr(clone, name, copy.deepcopy(value, memo))
        return clone

    transact_write_items.__wrapped_original__ = original_transact  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items
    Table.__deepcopy__ = table_deepcopy


def _rolled_back(backend: Any, before: dict[str, Any]) -> bool:
    """Whether moto put copies back in place of the tables a transaction named.

    A rolled-back table is the copy now; its stream (shared with the copy)
    follows it.
    """
    replaced = False
    for name, table in before.items():
        now = backend.tables.get(name)
        if now is not table:
            replaced = True
            if now is not None and now.stream_shard is not None:
                now.stream_shard.table = now
    return replaced


def _touched_partitions(backend: Any, transact_items: list[dict[str, Any]], dynamo_type: Any) -> dict[str, set[Any]]:
    """Table name -> partition keys (moto DynamoTypes) the transaction writes."""
    touched: dict[str, set[Any]] = {}
    for action in transact_items:
        for body in action.values():
            table = backend.tables.get(body.get("TableName"))
            if table is None:
                continue
            key = body.get("Key") or body.get("Item") or {}
            partitions = touched.setdefault(table.name, set())  # every table it names: copied cheaply, stream shared
            if table.hash_key_attr in key:
                partitions.add(dynamo_type(key[table.hash_key_attr]))
    return touched


# -- 4. stream records of finished writes only ------------------------------------------
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


_original_stream_add: Any = None


class _held_stream_records:  # noqa: N801  (a context manager, used as a function)
    """Hold the stream records of the writes made inside; emit them on leaving.

    Nested uses share the outermost hold (a transaction's actions are writes too).
    """

    def __enter__(self) -> _HeldRecords:
        self.outermost = getattr(_current, "held_records", None) is None
        if self.outermost:
            _current.held_records = _HeldRecords()
        held: _HeldRecords = _current.held_records
        return held

    def __exit__(self, *exc_info: Any) -> None:
        if not self.outermost:
            return
        held: _HeldRecords = _current.held_records
        _current.held_records = None
        for shard, old, new in held.records.values():
            if old is not None or new is not None:  # created and deleted within one write: nothing
                _original_stream_add(shard, old, new)


def _emit_records_of_finished_writes_only() -> None:
    global _original_stream_add
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard

    _original_stream_add = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        held = getattr(_current, "held_records", None)
        if held is None:
            _original_stream_add(self, old, new)
        else:
            held.add(self, old, new)

    add.__wrapped_original__ = _original_stream_add  # type: ignore[attr-defined]
    StreamShard.add = add  # type: ignore[method-assign]

    def hold(name: str) -> None:
        original = getattr(DynamoDBBackend, name)

        def held(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _held_stream_records():  # a failed single write keeps what it did: its records go out
                return __original(self, *args, **kwargs)

        held.__wrapped_original__ = original  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, held)

    for name in ("put_item", "update_item", "delete_item"):
        hold(name)
