"""Make moto's DynamoDB Query read one partition, as DynamoDB does.

moto answers every Query by sorting *all* items of the table (``Table.all_items``)
and then keeping those of the asked partition: O(table log table) per call.
With a search index of a few thousand products that is seconds per search, so
the local stack, the tests and bench/ install this patch: while a Query on the
table or a local secondary index runs, ``all_items`` returns only the items of
its partition (same items, same order; LSIs share the table's partition key).
GSI queries and everything else are left to moto as they are.
tests/functional/test_moto_speedups.py checks that results are identical.
"""

from __future__ import annotations

import threading
from typing import Any

_current = threading.local()


def install() -> None:
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
