"""Purchase and orders: decided on the server, atomic, idempotent.

``place_order`` reads the products once (one consistent read of the cart's
products), prices the cart in integer cents from the server's prices, then
has the ``OrderStore`` (chalicelib/orders/order_store.py) write in *one*
step:

- per line, the stock less its quantity, if there is that much and the price
  is still the one just read: stock never goes negative, under any concurrency;
- the order, if no order has that id;
- the idempotency record of (user, Idempotency-Key), if none exists yet;
- the order's shipping address as the user's last one (``saved_address``).

Either all of it is written or nothing is. A retry with the same key finds the
record (its condition fails) and gets the same order back; the same key with
another body is refused. A short line is a 409 naming each line and what is
left; a price that moved in between is read again, a bounded number of times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Final

from chalicelib.catalog.product import Product
from chalicelib.orders.order import Order, OrderIn, OrderLine, OrderPage, SavedAddress
from chalicelib.orders.order_store import (
    CancelRefused,
    KeyAlreadyUsed,
    OrderNotPlaced,
    OrderStore,
    Purchase,
    PurchaseRefused,
)
from chalicelib.platform import cursor, keys
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
MAX_IDEMPOTENCY_KEY: Final = 100
MAX_ORDER_ID: Final = 64


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
    if len(value) > MAX_IDEMPOTENCY_KEY or not all(ch.isalnum() or ch in "-_" for ch in value):
        raise InvalidInput("Idempotency-Key: 1-100 letters, digits, '-' or '_'", field="Idempotency-Key")
    return value


def place_order(
    store: OrderStore,
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
    wanted = [line.product_id for line in order_in.items]
    for _ in range(PRICE_RETRIES + 1):
        products = store.catalog.get_many(wanted, consistent=True)
        try:
            lines = price_lines(order_in, products)
        except InvalidInput:
            # A product of the cart is gone: if this is the retry of an order
            # placed before it went, that order is the answer, not a 400.
            replayed = _recorded(store, user_sub, idempotency_key, fingerprint)
            if replayed is None:
                raise
            metrics.append(Metric(IDEMPOTENT_REPLAYS))
            return replayed, True
        now = clock()
        order = new_order(order_in, lines, now)
        try:
            store.purchase(
                Purchase(
                    user_sub=user_sub,
                    idempotency_key=idempotency_key,
                    request_hash=fingerprint,
                    order=order,
                    email=email,
                    expires_at=int(now) + IDEMPOTENCY_TTL_S,
                )
            )
        except KeyAlreadyUsed:
            replayed = _replay(store, user_sub, idempotency_key, fingerprint)
            metrics.append(Metric(IDEMPOTENT_REPLAYS))
            return replayed, True
        except PurchaseRefused as exc:
            short = short_lines(order_in, store.catalog.get_many(wanted, consistent=True))
            if short:
                metrics.append(Metric(OUT_OF_STOCK_REFUSALS))
                raise OutOfStock(short) from exc
            continue  # stock was there: a price changed between our read and our write
        metrics.append(Metric(ORDERS_PLACED))
        metrics.append(Metric(ORDER_VALUE_CENTS, order.total_cents, unit="None"))
        return order, False
    raise Conflict("prices changed while the order was placed; please try again", field="items")


def price_lines(order_in: OrderIn, products: dict[str, Product]) -> list[OrderLine]:
    """The cart's lines at the catalog's prices (never the client's); a 400 naming an unknown product."""
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


def new_order(order_in: OrderIn, lines: list[OrderLine], now: float) -> Order:
    return Order(
        id=new_order_id(now),
        status="placed",
        items=lines,
        total_cents=sum(line.line_total_cents for line in lines),
        currency="USD",
        created_at=dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds"),
        shipping_address=order_in.shipping_address,
    )


def short_lines(order_in: OrderIn, current: dict[str, Product]) -> list[dict[str, int | str]]:
    """The lines the stock now cannot serve, with what is left (a product gone has 0)."""
    short: list[dict[str, int | str]] = []
    for line in order_in.items:
        available = current[line.product_id].stock if line.product_id in current else 0
        if available < line.quantity:
            short.append({"product_id": line.product_id, "requested": line.quantity, "available": available})
    return short


def _replay(store: OrderStore, user_sub: str, idem_key: str, fingerprint: str) -> Order:
    found = _recorded(store, user_sub, idem_key, fingerprint)
    if found is None:
        raise IdempotencyConflict()
    return found


def _recorded(store: OrderStore, user_sub: str, idem_key: str, fingerprint: str) -> Order | None:
    """The order this key placed; None if it placed none; a conflict if it was for another body."""
    record = store.idempotency_record(user_sub, idem_key)
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyConflict()
    return get_order(store, user_sub, record.order_id)


def saved_address(store: OrderStore, user_sub: str) -> SavedAddress:
    """The address of the caller's last order, offered at their next checkout (none before a first order)."""
    return SavedAddress(shipping_address=store.saved_address(user_sub))


def get_order(store: OrderStore, user_sub: str, order_id: str) -> Order:
    """One of the caller's orders; someone else's is not found, like a missing one."""
    if not order_id or len(order_id) > MAX_ORDER_ID:
        raise OrderNotFound(order_id)
    order = store.get(user_sub, order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order


def list_orders(store: OrderStore, user_sub: str, limit: int, page_cursor: str | None) -> OrderPage:
    """The caller's orders, newest first.

    The cursor holds the table's key of the last order of the page
    (``USER#<sub>`` / ``ORDER#<id>``), checked against the caller's own
    partition before it is used."""
    fingerprint = cursor.fingerprint({"orders_of": user_sub})
    owner = keys.user_pk(user_sub)
    after = None
    if page_cursor:
        rules = {"PK": cursor.equal_to(owner), "SK": cursor.key_text(keys.ORDER_PREFIX)}
        position = cursor.decode(page_cursor, fingerprint, rules)
        after = str(position["SK"]).removeprefix(keys.ORDER_PREFIX)
    page = store.orders_of(user_sub, limit, after)
    if page.last_id is None:
        return OrderPage(items=page.orders, next_cursor=None)
    last = keys.order_key(user_sub, page.last_id)
    return OrderPage(items=page.orders, next_cursor=cursor.encode({"PK": last["PK"], "SK": last["SK"]}, fingerprint))


def cancel_order(store: OrderStore, user_sub: str, order_id: str) -> Order:
    """Cancel a placed order and put its stock back, in one step."""
    order = get_order(store, user_sub, order_id)
    if order.status != "placed":
        raise Conflict(f"the order is {order.status}; only a placed order can be cancelled", field="status")
    still_sold = store.catalog.get_many([line.product_id for line in order.items])
    restock = [line for line in order.items if line.product_id in still_sold]  # a product deleted since has none
    try:
        store.cancel(user_sub, order.id, restock)
    except OrderNotPlaced as exc:
        raise Conflict("the order is no longer placed; it cannot be cancelled", field="status") from exc
    except CancelRefused as exc:
        raise Conflict("the order could not be cancelled just now; try again") from exc
    return order.model_copy(update={"status": "cancelled"})
