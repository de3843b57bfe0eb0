"""Order events: what follows a purchase, driven by the table's stream.

The purchase writes only its transaction; everything after it reacts to the
stream records of that write (no dual writes):

- an order inserted: per-product sales counters go up and the buyer gets a
  confirmation message (SES);
- an order cancelled: the counters go down;
- a product's stock falls under the threshold: a low-stock alert (SNS);
- a product's stock reaches zero or comes back: its search index entries'
  ``in_stock`` flag follows.

Streams deliver at least once, so each effect is guarded by a marker item
(``EVENT#...``) written with ``attribute_not_exists``: the counters move in
the same transaction as their marker, so a redelivered batch counts nothing
twice; a message is sent only by whoever wrote its marker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from . import keys

logger = logging.getLogger(__name__)
_deserialize = TypeDeserializer().deserialize
MARKER_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class EventSettings:
    sender: str | None  # SES verified sender; None: no confirmation messages
    low_stock_topic_arn: str | None  # SNS topic; None: no alerts
    low_stock_threshold: int = 5


@dataclass
class EventDeps:
    table: Any
    ses: Callable[[], Any]
    sns: Callable[[], Any]
    settings: EventSettings
    clock: Callable[[], float]


def image(record: dict[str, Any], which: str) -> dict[str, Any]:
    raw = record.get("dynamodb", {}).get(which) or {}
    return {k: _deserialize(v) for k, v in raw.items()}


def handle_records(records: Iterable[dict[str, Any]], deps: EventDeps) -> dict[str, int]:
    """Handle one stream batch; returns how many effects ran (for logs and tests)."""
    done = {"counted": 0, "uncounted": 0, "confirmed": 0, "alerts": 0, "flags": 0}
    for record in records:
        new, old = image(record, "NewImage"), image(record, "OldImage")
        sk = str((new or old).get("SK", ""))
        if sk.startswith(keys.ORDER_PREFIX):
            _order_changed(record["eventName"], new, old, deps, done)
        elif sk == keys.PRODUCT_SK and record["eventName"] == "MODIFY":
            _stock_changed(str(record["eventID"]), new, old, deps, done)
    return done


def _order_changed(event: str, new: dict[str, Any], old: dict[str, Any], deps: EventDeps, done: dict[str, int]) -> None:
    if event == "INSERT" and new.get("status") == "placed":
        if _count(new, +1, f"order-placed#{new['id']}", deps):
            done["counted"] += 1
        if deps.settings.sender and _confirm(new, deps):
            done["confirmed"] += 1
    elif (
        event == "MODIFY"
        and old.get("status") == "placed"
        and new.get("status") == "cancelled"
        and _count(new, -1, f"order-cancelled#{new['id']}", deps)
    ):
        done["uncounted"] += 1


def _marker(event_id: str, deps: EventDeps) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": deps.table.name,
            "Item": {**keys.event_marker_key(event_id), "expires_at": int(deps.clock()) + MARKER_TTL_S},
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


def _count(order: dict[str, Any], sign: int, event_id: str, deps: EventDeps) -> bool:
    """Move the sales counters of an order's products, once per event."""
    actions = [_marker(event_id, deps)]
    for line in order.get("items", []):
        actions.append(
            {
                "Update": {
                    "TableName": deps.table.name,
                    "Key": keys.sales_key(str(line["product_id"])),
                    "UpdateExpression": "ADD units_sold :units, revenue_cents :cents, orders :one",
                    "ExpressionAttributeValues": {
                        ":units": sign * int(line["quantity"]),
                        ":cents": sign * int(line["line_total_cents"]),
                        ":one": sign,
                    },
                }
            }
        )
    return _once(actions, deps)


def _once(actions: list[dict[str, Any]], deps: EventDeps) -> bool:
    try:
        deps.table.meta.client.transact_write_items(TransactItems=actions)
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or [{}]
        if exc.response["Error"]["Code"] == "TransactionCanceledException" and (
            reasons[0].get("Code") == "ConditionalCheckFailed"
        ):
            return False  # the marker exists: this event was handled before
        raise
    return True


def _confirm(order: dict[str, Any], deps: EventDeps) -> bool:
    email = order.get("email")
    if not email:
        logger.warning("order %s has no email to confirm to", order["id"])
        return False
    if not _once([_marker(f"order-confirmed#{order['id']}", deps)], deps):
        return False
    lines = "\n".join(
        f"  {line['quantity']} x {line['name']}: ${int(line['line_total_cents']) / 100:.2f}" for line in order["items"]
    )
    try:
        deps.ses().send_email(
            Source=deps.settings.sender,
            Destination={"ToAddresses": [email]},
            Message={
                "Subject": {"Data": f"Your Pet Store order {order['id']}"},
                "Body": {
                    "Text": {
                        "Data": f"Thank you for your order.\n\n{lines}\n\n"
                        f"Total: ${int(order['total_cents']) / 100:.2f}\n"
                    }
                },
            },
        )
    except ClientError:
        # Let the stream deliver the record again: forget the marker first.
        deps.table.delete_item(Key=keys.event_marker_key(f"order-confirmed#{order['id']}"))
        raise
    logger.info("sent the confirmation of order %s to %s", order["id"], email)
    return True


def _stock_changed(
    event_id: str, new: dict[str, Any], old: dict[str, Any], deps: EventDeps, done: dict[str, int]
) -> None:
    before, after = int(old.get("stock", 0)), int(new.get("stock", 0))
    threshold = deps.settings.low_stock_threshold
    topic = deps.settings.low_stock_topic_arn
    if topic and after < threshold <= before and _once([_marker(f"low-stock#{event_id}", deps)], deps):
        deps.sns().publish(
            TopicArn=topic,
            Subject="Low stock",
            Message=f"{new.get('name')} ({new.get('id')}): {after} left",
            MessageAttributes={"product_id": {"DataType": "String", "StringValue": str(new.get("id"))}},
        )
        done["alerts"] += 1
    if (before > 0) != (after > 0):
        # Keep search's in_stock filter right: rewrite the flag on every entry.
        for pk, sk in new.get("index_keys", []):
            try:
                deps.table.update_item(
                    Key={"PK": pk, "SK": sk},
                    UpdateExpression="SET in_stock = :flag",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues={":flag": after > 0},
                )
            except ClientError as exc:  # the entry went away with a newer save: nothing to fix
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        done["flags"] += 1
