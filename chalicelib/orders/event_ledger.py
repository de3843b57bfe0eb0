"""``EventLedger``: which stream events were handled, and the sales counters they moved.

Streams deliver at least once, so each follow-up of an order
(chalicelib/orders/follow_ups.py) is guarded by a marker: ``record`` writes
the marker and moves the counters in one step, or nothing if the marker
exists. ``DynamoEventLedger`` keeps markers as ``EVENT#<id>`` / ``HANDLED``
items (expiring by TTL) and counters on ``PRODUCT#<id>`` / ``SALES``, in one
TransactWriteItems; the unit tests use an in-memory ledger
(tests/support/memory_stores.py). Nothing here loads pydantic or the
catalog: the order events function stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from botocore.exceptions import ClientError

from chalicelib.platform import keys
from chalicelib.platform.aws import Table, condition_failed_at

MARKER: Final = 0  # the first action of ``record``'s transaction; the counters follow


@dataclass(frozen=True)
class SalesChange:
    """What one order (or its cancellation: negative) adds to a product's counters."""

    product_id: str
    units: int
    cents: int
    orders: int


class EventLedger(Protocol):
    def record(self, event_id: str, expires_at: int, sales: Sequence[SalesChange] = ()) -> bool:
        """Mark the event handled and move ``sales``, in one step; False (and
        nothing written) if it was marked before."""
        ...

    def is_recorded(self, event_id: str) -> bool:
        """Whether the event's marker exists (a consistent read)."""
        ...

    def forget(self, event_id: str) -> None:
        """Remove the event's marker, so that a later delivery handles it again."""
        ...


class DynamoEventLedger:
    """An ``EventLedger`` over the shop's table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, event_id: str, expires_at: int, sales: Sequence[SalesChange] = ()) -> bool:
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": {**keys.event_marker_key(event_id), "expires_at": expires_at},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        ]
        actions += [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": keys.sales_key(change.product_id),
                    "UpdateExpression": "ADD units_sold :units, revenue_cents :cents, orders :one",
                    "ExpressionAttributeValues": {
                        ":units": change.units,
                        ":cents": change.cents,
                        ":one": change.orders,
                    },
                }
            }
            for change in sales
        ]
        try:
            self.table.meta.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if condition_failed_at(exc, MARKER):
                return False  # the marker exists: this event was handled before
            raise
        return True

    def is_recorded(self, event_id: str) -> bool:
        return "Item" in self.table.get_item(Key=keys.event_marker_key(event_id), ConsistentRead=True)

    def forget(self, event_id: str) -> None:
        self.table.delete_item(Key=keys.event_marker_key(event_id))
