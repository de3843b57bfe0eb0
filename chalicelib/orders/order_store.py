"""``OrderStore``: what checkout's rules need of wherever orders are kept.

The rules (chalicelib/orders/checkout.py) price the cart, decide replays,
conflicts and retries; a store writes a purchase or a cancellation as *one*
all-or-nothing step, under the conditions below, or refuses it whole with
the exception the method names. An order store moves the stock of its own
``catalog``, so the two are always the same data. Two implementations keep
the same promises: ``DynamoOrderStore`` (chalicelib/orders/order_table.py,
one TransactWriteItems per step) and the in-memory one the unit tests use
(tests/support/memory_stores.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from chalicelib.catalog.product_store import ProductStore
from chalicelib.orders.order import Address, Order, OrderLine


class KeyAlreadyUsed(Exception):
    """The purchase's (user, Idempotency-Key) has a record already: nothing was written."""


class PurchaseRefused(Exception):
    """A line's stock is short or its price moved (or the order id is taken, or
    a concurrent write got in the way): nothing was written."""


class OrderNotPlaced(Exception):
    """The order to cancel is not (or no longer) placed: nothing was written."""


class CancelRefused(Exception):
    """Something else got in the way (a line's product deleted meanwhile, a
    concurrent write): nothing was written; trying again later may succeed."""


@dataclass(frozen=True)
class Purchase:
    """What one checkout writes: the order, and the record of its Idempotency-Key."""

    user_sub: str
    idempotency_key: str
    request_hash: str  # of the body, so that a retry with another body is told apart
    order: Order
    email: str | None  # kept on the order, for its confirmation message
    expires_at: int  # when the idempotency record may go (epoch seconds)


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    order_id: str


@dataclass(frozen=True)
class OrdersPage:
    orders: list[Order]  # newest first
    last_id: str | None  # the id to continue after; None: no more (DynamoDB may give one for a full last page)


class OrderStore(Protocol):
    @property
    def catalog(self) -> ProductStore:
        """The products whose stock this store's purchases and cancellations move."""
        ...

    def purchase(self, purchase: Purchase) -> None:
        """In one step: per line, take its quantity from the stock if the
        product exists, has at least that many and still costs the line's unit
        price; write the order if no order has its id; write the idempotency
        record if none exists; and keep the order's shipping address as the
        user's last one (``saved_address``). ``KeyAlreadyUsed`` if the record
        exists (that first), else ``PurchaseRefused`` if any other condition
        fails."""
        ...

    def saved_address(self, user_sub: str) -> Address | None:
        """The shipping address of the user's last order placed, if any."""
        ...

    def idempotency_record(self, user_sub: str, idempotency_key: str) -> IdempotencyRecord | None:
        """The record of a key as last written (a consistent read)."""
        ...

    def get(self, user_sub: str, order_id: str) -> Order | None:
        """One of the user's orders as last written (a consistent read)."""
        ...

    def orders_of(self, user_sub: str, limit: int, after: str | None) -> OrdersPage:
        """The user's orders, newest first, up to ``limit``, starting after the order id ``after``."""
        ...

    def cancel(self, user_sub: str, order_id: str, restock: Sequence[OrderLine]) -> None:
        """In one step: mark the order cancelled if it is placed, and put each
        ``restock`` line's quantity back, if its product exists.
        ``OrderNotPlaced`` if the order is not placed (that first), else
        ``CancelRefused``."""
        ...
