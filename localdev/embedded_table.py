"""A table of the embedded AWS, read from moto's memory in this process (the local stack's saves).

Reading over HTTP would cost a Scan per save, and a Scan makes moto sort the
whole table for every page. These read moto's own objects instead, under
``moto_fixes.table_lock`` (which every DynamoDB call of the embedded AWS holds),
so no request changes the table meanwhile. They need the patches of
localdev/moto_patches.py installed (``start_embedded_aws`` does it).
"""

from __future__ import annotations

import json
from typing import Any

from localdev.moto_fixes import table_lock


def _backend(region: str, account_id: str | None) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id or DEFAULT_ACCOUNT_ID][region]


def table_items(table_name: str, region: str, account_id: str | None = None) -> list[dict[str, Any]]:
    """Every item of a table, in DynamoDB JSON: one pass, under ``table_lock``."""
    backend = _backend(region, account_id)
    with table_lock():
        table = backend.get_table(table_name)  # inside: a rolled-back transaction replaces the table
        return [item.to_json()["Attributes"] for partition in table.items.values() for item in partition.values()]


class TableChanges:
    """The writes to a table, taken from its stream as they come.

    ``take`` holds ``table_lock`` only to slice the stream's new records, and
    returns each as a change ``{"keys": ..., "item": new image or None}``: the
    local stack appends them to its journal every second, so a save costs what
    changed, never the table's size. The stream holds one record per item a
    write changed and none for a cancelled transaction
    (``moto_fixes.stream_of_finished_writes``), and a transaction's records are
    added at once: changes applied in order give the table as of the last
    record taken. Needs a stream with new images.
    """

    def __init__(self, table_name: str, region: str, account_id: str | None = None) -> None:
        self._backend = _backend(region, account_id)
        self.table_name = table_name
        with table_lock():
            table = self._backend.get_table(table_name)
            view = (table.stream_specification or {}).get("StreamViewType", "")
            if table.stream_shard is None or view not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
                raise ValueError(f"{table_name} has no stream of new images to follow")
            self.key_names: list[str] = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
            self._shard = table.stream_shard
            self._position = len(self._shard.items)

    def take(self) -> list[dict[str, Any]]:
        """The changes written since the last call (or since this was made), in order."""
        with table_lock():
            shard = self._backend.get_table(self.table_name).stream_shard
            if shard is not self._shard or self._position > len(shard.items):
                raise RuntimeError(f"the stream of {self.table_name} was replaced: follow it anew")
            records = shard.items[self._position :]
            self._position += len(records)
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

    def key(keys: dict[str, Any]) -> str:
        return json.dumps({name: keys[name] for name in key_names}, sort_keys=True)

    table = {key(item): item for item in items}
    for change in changes:
        if change["item"] is None:
            table.pop(key(change["keys"]), None)
        else:
            table[key(change["keys"])] = change["item"]
    return list(table.values())
