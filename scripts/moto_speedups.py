"""Two patches that make moto's DynamoDB cost what DynamoDB's costs.

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

The local stack, the tests and bench/ install them.
tests/functional/test_moto_speedups.py checks that answers are identical,
that a failed transaction still leaves nothing behind, and that copies made
while clients read and write are whole.
"""

from __future__ import annotations

import threading
from typing import Any

_current = threading.local()


_serving_patches_installed = False


def install() -> None:
    """Install the patches (once: a second call changes nothing)."""
    global _serving_patches_installed
    _install_partition_queries()
    if _serving_patches_installed:
        return
    _serving_patches_installed = True
    _install_cheap_transaction_snapshots()
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
        _current.touched, _current.snapshots = touched, {}
        try:
            return original_transact(self, transact_items, *args, **kwargs)
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


def _touched_partitions(backend: Any, transact_items: list[dict[str, Any]], dynamo_type: Any) -> dict[str, set[Any]]:
    """Table name -> partition keys (moto DynamoTypes) the transaction writes."""
    touched: dict[str, set[Any]] = {}
    for action in transact_items:
        for body in action.values():
            table = backend.tables.get(body.get("TableName"))
            key = body.get("Key") or body.get("Item") or {}
            if table is not None and table.hash_key_attr in key:
                touched.setdefault(table.name, set()).add(dynamo_type(key[table.hash_key_attr]))
    return touched
