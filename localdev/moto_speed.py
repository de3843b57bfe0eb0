"""Patches that make moto's DynamoDB cost what DynamoDB's does, and change no answer.

localdev/moto_patches.py installs them (``install``), with localdev/moto_fixes.py's.
Each function here returns its replacements, ``(class, attribute, new value)``,
built around the attribute it replaces; moto_patches applies them and can put
moto's own back (``uninstall``). tests/functional/test_moto_patches.py runs the
same calls with every patch and without any, and compares what the clients see.

- ``partition_queries``: a Query reads its partition, not the whole table;
- ``cheap_transaction_snapshots``: a TransactWriteItems copies, once, only the
  partitions it writes, not every table it names once per action;
- ``item_reads_as_json``: the item reads are answered with ``json.dumps``, not
  through moto's model-driven serializer.
"""

from __future__ import annotations

import threading
from typing import Any

_current = threading.local()  # what the call running in this thread is doing: its partition, its snapshots


def partition_queries() -> list[tuple[type, str, Any]]:
    """A Query on the table or a local secondary index reads only the partition it asks for.

    Why: a search of the shop's catalog took seconds with a few thousand
    products, and grew with the table, where DynamoDB's Query costs what it
    returns.

    moto 5.2's ``Table.query`` walks ``Table.all_items()``, which sorts *every*
    item of the table, and then keeps those of the asked partition: O(table
    log table) per call. While a Query on the table or an LSI runs (LSIs share
    the table's partition key), ``all_items`` returns the items of that
    partition only: the same items, in the same order, so moto's own filtering,
    sorting, paging and projection are left as they are. Queries on a global
    secondary index (another partition key) are not changed.

    Upstream: no upstream issue found about the cost. Related, on the order
    of a Query's results rather than its cost:
    https://github.com/getmoto/moto/pull/7273 ("query() should sort the
    results before filtering/limiting").
    """
    from moto.dynamodb.models.table import Table

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

    return [(Table, "all_items", all_items), (Table, "query", query)]


def cheap_transaction_snapshots() -> list[tuple[type, str, Any]]:
    """A transaction's copy for its rollback holds only the partitions it writes, and is made once.

    Why: a 30-action transaction on a 10,000-item table took many seconds,
    where DynamoDB's cost does not depend on the table's size.

    moto 5.2's ``transact_write_items`` deep-copies the whole table once *per
    action* before it starts (a 30-action transaction on one table: 30 copies),
    to put the copy back if an action fails. Here the copy is made once per
    table and shares every partition the transaction does not write (it does
    not change them), deep-copying only those it does; moto's rollback puts it
    back as before. The copy shares the table's stream too, which follows it
    when it becomes the table.

    Upstream: no upstream issue found. (A related speed-up of moto's deep
    copies of items, for queries: https://github.com/getmoto/moto/pull/9670.)
    """
    import copy

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        touched = _touched_partitions(self, transact_items, DynamoType)
        before = {name: self.tables.get(name) for name in touched}
        _current.touched, _current.snapshots = touched, {}
        try:
            return original_transact(self, transact_items, *args, **kwargs)
        except Exception:
            for name, table in before.items():
                now = self.tables.get(name)
                if now is not table and now is not None and now.stream_shard is not None:
                    now.stream_shard.table = now  # rolled back: the copy is the table, its stream follows it
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
        clone = self.__class__.__new__(self.__class__)  # any other copy: what deepcopy does without this method
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            setattr(clone, name, copy.deepcopy(value, memo))
        return clone

    return [(DynamoDBBackend, "transact_write_items", transact_write_items), (Table, "__deepcopy__", table_deepcopy)]


def _touched_partitions(backend: Any, transact_items: list[dict[str, Any]], dynamo_type: Any) -> dict[str, set[Any]]:
    """Table name -> partition keys (moto DynamoTypes) the transaction writes."""
    touched: dict[str, set[Any]] = {}
    for action in transact_items:
        for body in action.values():
            table = backend.tables.get(body.get("TableName"))
            if table is None:
                continue
            key = body.get("Key") or body.get("Item") or {}
            partitions = touched.setdefault(table.name, set())  # every table it names: copied cheaply
            if table.hash_key_attr in key:
                partitions.add(dynamo_type(key[table.hash_key_attr]))
    return touched


ITEM_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


def item_reads_as_json() -> list[tuple[type, str, Any]]:
    """The answers of the item reads are written with ``json.dumps``: the same JSON, faster.

    Why: with 32 clients on the local stack, moto's serializer took most of a
    search's time (3.3 requests/s; 5.4 times that with this patch:
    docs/benchmarks.md).

    moto 5.2 writes every DynamoDB answer through its model-driven serializer
    (``ActionResult``, checked attribute by attribute against botocore's shape
    of the operation). The items of a GetItem, BatchGetItem, Query, Scan or
    TransactGetItems are already DynamoDB JSON in moto's result, so a plain
    (unpaginated) result of one of these is dumped as it is. Anything
    ``json.dumps`` refuses (a binary attribute, which needs base64) goes
    through moto's serializer as before, and so does every other operation.

    Upstream: no upstream issue found about its speed. moto's DynamoDB moved
    to that serializer in https://github.com/getmoto/moto/pull/9773
    ("DynamoDB: migrate to new request parsing/response serialization").
    """
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

    return [(DynamoHandler, "serialized", serialized)]
