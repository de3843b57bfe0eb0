"""Purchase and orders: decided on the server, atomic, idempotent.

``place_order`` reads the products once (one consistent BatchGetItem), prices
the cart in integer cents, then writes in *one* TransactWriteItems:

- per line, ``stock = stock - :qty`` if ``stock >= :qty`` and the price is
  still the one just read: stock never goes negative, under any concurrency;
- the order, if no order has that id;
- the idempotency record of (user, Idempotency-Key), if none exists yet.

Either all of it is written or nothing is. A retry with the same key finds the
record (its condition fails) and gets the same order back; the same key with
another body is refused. A short line is a 409 naming each line and what is
left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Final

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from chalicelib.catalog.products import Table, get_products
from chalicelib.orders.order import Order, OrderIn, OrderLine, OrderPage
from chalicelib.platform import cursor, keys
from chalicelib.platform.aws import is_transient_aws_error
from chalicelib.platform.errors import Conflict, IdempotencyConflict, InvalidInput, NotFound, OutOfStock
from chalicelib.platform.metrics import (
    DISCARD,
    IDEMPOTENT_REPLAYS,
    ORDER_VALUE_CENTS,
    ORDERS_PLACED,
    OUT_OF_STOCK_REFUSALS,
    Metric,
    MetricSink,
)

IDEMPOTENCY_TTL_S: Final = 24 * 3600
PRICE_RETRIES: Final = 2  # a price changed between our read and our write: read again


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order with id {order_id!r}")


def new_order_id(now: float) -> str:
    """Time-ordered and unguessable: hex milliseconds + 64 random bits."""
    return f"{int(now * 1000):012x}{secrets.token_hex(8)}"


def request_hash(order_in: OrderIn) -> str:
    canonical = json.dumps(order_in.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_idempotency_key(value: str | None) -> str:
    if not value:
        raise InvalidInput(
            "the Idempotency-Key header is required (one new key per checkout attempt)", field="Idempotency-Key"
        )
    if len(value) > 100 or not all(ch.isalnum() or ch in "-_" for ch in value):
        raise InvalidInput("Idempotency-Key: 1-100 letters, digits, '-' or '_'", field="Idempotency-Key")
    return value


def place_order(
    table: Table,
    user_sub: str,
    idempotency_key: str,
    order_in: OrderIn,
    email: str | None = None,
    clock: Callable[[], float] = time.time,
    metrics: MetricSink = DISCARD,
) -> tuple[Order, bool]:
    """Place an order; returns it and whether it already existed (a replay).

    ``email`` is kept on the order item for the confirmation message.
    Counts OrdersPlaced and OrderValueCents, IdempotentReplays, OutOfStockRefusals.
    """
    fingerprint = request_hash(order_in)
    for _ in range(PRICE_RETRIES + 1):
        products = get_products(table, [line.product_id for line in order_in.items], consistent=True)
        try:
            lines = _price(order_in, products)
        except InvalidInput:
            # A product of the cart is gone: if this is the retry of an order
            # placed before it went, that order is the answer, not a 400.
            replayed = _recorded(table, user_sub, idempotency_key, fingerprint)
            if replayed is None:
                raise
            metrics.append(Metric(IDEMPOTENT_REPLAYS))
            return replayed, True
        now = clock()
        order = Order(
            id=new_order_id(now),
            status="placed",
            items=lines,
            total_cents=sum(line.line_total_cents for line in lines),
            currency="USD",
            created_at=dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds"),
            shipping_address=order_in.shipping_address,
        )
        try:
            _write(table, user_sub, idempotency_key, fingerprint, order, int(now), email)
            metrics.append(Metric(ORDERS_PLACED))
            metrics.append(Metric(ORDER_VALUE_CENTS, order.total_cents, unit="None"))
            return order, False
        except ClientError as exc:
            reasons = _cancellation_codes(exc)
            if reasons[-1] == "ConditionalCheckFailed":  # the idempotency record exists
                replayed = _replay(table, user_sub, idempotency_key, fingerprint)
                metrics.append(Metric(IDEMPOTENT_REPLAYS))
                return replayed, True
            short = _short_lines(table, order_in)
            if short:
                metrics.append(Metric(OUT_OF_STOCK_REFUSALS))
                raise OutOfStock(short) from exc
            # Stock was there: a price changed between our read and our write.
    raise Conflict("prices changed while the order was placed; please try again", field="items")


def _price(order_in: OrderIn, products: dict[str, Any]) -> list[OrderLine]:
    lines = []
    for position, line in enumerate(order_in.items):
        product = products.get(line.product_id)
        if product is None:
            raise InvalidInput(f"no product with id {line.product_id!r}", field=f"items.{position}.product_id")
        lines.append(
            OrderLine(
                product_id=product.id,
                name=product.name,
                quantity=line.quantity,
                unit_price_cents=product.price_cents,
                line_total_cents=product.price_cents * line.quantity,
            )
        )
    return lines


def _write(
    table: Table, user_sub: str, idem_key: str, fingerprint: str, order: Order, now: int, email: str | None
) -> None:
    actions: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table.name,
                "Key": keys.product_key(line.product_id),
                "UpdateExpression": "SET stock = stock - :qty",
                "ConditionExpression": "attribute_exists(PK) AND stock >= :qty AND price_cents = :price",
                "ExpressionAttributeValues": {":qty": line.quantity, ":price": line.unit_price_cents},
            }
        }
        for line in order.items
    ]
    actions.append(
        {
            "Put": {
                "TableName": table.name,
                "Item": order_item(user_sub, order, idem_key, email),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
    )
    actions.append(
        {
            "Put": {
                "TableName": table.name,
                "Item": {
                    **keys.idempotency_key(user_sub, idem_key),
                    "request_hash": fingerprint,
                    "order_id": order.id,
                    "expires_at": now + IDEMPOTENCY_TTL_S,
                },
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
    )
    table.meta.client.transact_write_items(TransactItems=actions)


def order_item(user_sub: str, order: Order, idem_key: str, email: str | None = None) -> dict[str, Any]:
    return {
        **keys.order_key(user_sub, order.id),
        "entity": "order",
        "user_sub": user_sub,
        "idempotency_key": idem_key,
        **({"email": email} if email else {}),
        **order.model_dump(mode="json", exclude_none=True),
    }


def _cancellation_codes(exc: ClientError) -> list[str]:
    """Why DynamoDB cancelled a transaction, per item; anything else (or a
    throttled item: nothing was written, the caller may retry) is re-raised."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException" or is_transient_aws_error(exc):
        raise exc
    return [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])] or ["None"]


def _short_lines(table: Table, order_in: OrderIn) -> list[dict[str, int | str]]:
    current = get_products(table, [line.product_id for line in order_in.items], consistent=True)
    short: list[dict[str, int | str]] = []
    for line in order_in.items:
        available = current[line.product_id].stock if line.product_id in current else 0
        if available < line.quantity:
            short.append({"product_id": line.product_id, "requested": line.quantity, "available": available})
    return short


def _replay(table: Table, user_sub: str, idem_key: str, fingerprint: str) -> Order:
    found = _recorded(table, user_sub, idem_key, fingerprint)
    if found is None:
        raise IdempotencyConflict()
    return found


def _recorded(table: Table, user_sub: str, idem_key: str, fingerprint: str) -> Order | None:
    """The order this key placed; None if it placed none; a conflict if it was for another body."""
    record = table.get_item(Key=keys.idempotency_key(user_sub, idem_key), ConsistentRead=True).get("Item")
    if record is None:
        return None
    if record.get("request_hash") != fingerprint:
        raise IdempotencyConflict()
    return get_order(table, user_sub, str(record["order_id"]))


def to_order(item: dict[str, Any]) -> Order:
    return Order.model_validate(_plain(item))


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to ints (money and quantities are integers)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):
        return int(value)
    return value


def get_order(table: Table, user_sub: str, order_id: str) -> Order:
    """One of the caller's orders; someone else's is not found, like a missing one."""
    if not order_id or len(order_id) > 64:
        raise OrderNotFound(order_id)
    item = table.get_item(Key=keys.order_key(user_sub, order_id), ConsistentRead=True).get("Item")
    if item is None:
        raise OrderNotFound(order_id)
    return to_order(item)


def list_orders(table: Table, user_sub: str, limit: int, page_cursor: str | None) -> OrderPage:
    """The caller's orders, newest first."""
    fingerprint = cursor.fingerprint({"orders_of": user_sub})
    request: dict[str, Any] = {
        "KeyConditionExpression": Key("PK").eq(keys.user_pk(user_sub)) & Key("SK").begins_with(keys.ORDER_PREFIX),
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if page_cursor:
        rules = {"PK": cursor.equal_to(keys.user_pk(user_sub)), "SK": cursor.key_text(keys.ORDER_PREFIX)}
        request["ExclusiveStartKey"] = cursor.decode(page_cursor, fingerprint, rules)
    response = table.query(**request)
    last = response.get("LastEvaluatedKey")
    return OrderPage(
        items=[to_order(item) for item in response["Items"]],
        next_cursor=cursor.encode({"PK": last["PK"], "SK": last["SK"]}, fingerprint) if last else None,
    )


def cancel_order(table: Table, user_sub: str, order_id: str) -> Order:
    """Cancel a placed order and put its stock back, in one transaction."""
    order = get_order(table, user_sub, order_id)
    if order.status != "placed":
        raise Conflict(f"the order is {order.status}; only a placed order can be cancelled", field="status")
    still_sold = get_products(table, [line.product_id for line in order.items])
    actions: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table.name,
                "Key": keys.order_key(user_sub, order_id),
                "UpdateExpression": "SET #s = :cancelled",
                "ConditionExpression": "#s = :placed",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":cancelled": "cancelled", ":placed": "placed"},
            }
        }
    ]
    actions += [
        {
            "Update": {
                "TableName": table.name,
                "Key": keys.product_key(line.product_id),
                "UpdateExpression": "SET stock = stock + :qty",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":qty": line.quantity},
            }
        }
        for line in order.items
        if line.product_id in still_sold  # a product deleted since has no stock to restore
    ]
    try:
        table.meta.client.transact_write_items(TransactItems=actions)
    except ClientError as exc:
        if _cancellation_codes(exc)[0] == "ConditionalCheckFailed":
            raise Conflict("the order is no longer placed; it cannot be cancelled", field="status") from exc
        raise Conflict("the order could not be cancelled just now; try again") from exc
    return order.model_copy(update={"status": "cancelled"})
