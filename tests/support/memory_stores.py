"""In-memory stores for the unit tests: the catalog, orders and the event ledger in dicts.

Each keeps the promises of its Protocol (chalicelib/catalog/product_store.py,
chalicelib/orders/order_store.py, chalicelib/orders/event_ledger.py) as
``DynamoProductStore``, ``DynamoOrderStore`` and ``DynamoEventLedger`` keep
them in the table: a write checks all its conditions, then applies all of it
or raises the same refusal and changes nothing, under one lock shared by a
catalog and its orders. tests/functional/test_store_contract.py runs the same
scenarios against both, so a rule tested here behaves so on DynamoDB.

They live with the tests, not in chalicelib/: nothing that ships or runs the
shop uses them (the local stack runs the DynamoDB adapters on moto, the same
boto3 code paths as production), and the Lambda package stays the shop alone.

``interleave``, when set, runs inside a purchase or cancellation just before
its conditions are checked: what a concurrent writer (an admin, another
buyer) could do between the rules' read and their write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from chalicelib.catalog.product import Product
from chalicelib.catalog.product_store import WriteRefused
from chalicelib.orders.event_ledger import SalesChange
from chalicelib.orders.order import Address, Order, OrderLine
from chalicelib.orders.order_store import (
    CancelRefused,
    IdempotencyRecord,
    KeyAlreadyUsed,
    OrderNotPlaced,
    OrdersPage,
    Purchase,
    PurchaseRefused,
)
from chalicelib.photos.photo import Photo


class MemoryProductStore:
    """A ``ProductStore`` in a dict; ``calls`` names each method called, in order."""

    def __init__(self, products: Iterable[Product] = ()) -> None:
        self.lock = threading.RLock()
        self.products: dict[str, Product] = {}
        self.calls: list[str] = []
        self.put_many(products)
        self.calls.clear()

    def get(self, product_id: str) -> Product | None:
        self.calls.append("get")
        return self.products.get(product_id)

    def get_many(self, product_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Product]:
        self.calls.append("get_many")
        assert len(product_ids) <= 100, "a BatchGetItem takes at most 100 keys"
        with self.lock:
            return {pid: self.products[pid] for pid in dict.fromkeys(product_ids) if pid in self.products}

    def insert(self, product: Product) -> None:
        self.calls.append("insert")
        with self.lock:
            if product.id in self.products:
                raise WriteRefused(product.id)
            self.products[product.id] = product.model_copy(update={"version": 1, "photos": [], "photos_rev": 0})

    def update(self, product: Product, *, keep_stock: bool, expected_version: int | None) -> Product:
        self.calls.append("update")
        with self.lock:
            current = self.products.get(product.id)
            if current is None or (expected_version is not None and current.version != expected_version):
                raise WriteRefused(product.id)
            stock = current.stock if keep_stock else product.stock
            written = product.model_copy(
                update={
                    "stock": stock,
                    "version": current.version + 1,
                    "photos": current.photos,  # an edit leaves the photos alone
                    "photos_rev": current.photos_rev,
                }
            )
            self.products[product.id] = written
            return written

    def add_stock(self, product_id: str, change: int, *, floor: int, ceiling: int) -> Product:
        self.calls.append("add_stock")
        with self.lock:
            current = self.products.get(product_id)
            if current is None or not floor <= current.stock <= ceiling:
                raise WriteRefused(product_id)
            return self.write_stock(current, current.stock + change)

    def delete(self, product_id: str) -> Product:
        self.calls.append("delete")
        with self.lock:
            deleted = self.products.pop(product_id, None)
            if deleted is None:
                raise WriteRefused(product_id)
            return deleted

    def put_many(self, products: Iterable[Product]) -> None:
        self.calls.append("put_many")
        for product in products:
            with self.lock:
                self.products[product.id] = product.model_copy(update={"version": 1, "photos": [], "photos_rev": 0})

    def replace_photos(self, product_id: str, photos: Sequence[Photo], *, expected_rev: int) -> Product:
        self.calls.append("replace_photos")
        with self.lock:
            current = self.products.get(product_id)
            if current is None or current.photos_rev != expected_rev:
                raise WriteRefused(product_id)
            written = current.model_copy(update={"photos": list(photos), "photos_rev": expected_rev + 1})
            self.products[product_id] = written
            return written

    # -- for the order store and the tests ----------------------------------------------
    def write_stock(self, product: Product, stock: int) -> Product:
        changed = product.model_copy(update={"stock": stock})
        self.products[product.id] = changed
        return changed

    def stock(self, product_id: str) -> int:
        return self.products[product_id].stock

    def set_price(self, product_id: str, price_cents: int) -> None:
        """An admin's edit of the price (as a PUT would, the version moves on)."""
        with self.lock:
            current = self.products[product_id]
            self.products[product_id] = current.model_copy(
                update={"price_cents": price_cents, "version": current.version + 1}
            )


@dataclass
class StoredOrder:
    user_sub: str
    order: Order
    idempotency_key: str
    email: str | None


class MemoryOrderStore:
    """An ``OrderStore`` whose steps move the stock of a ``MemoryProductStore``."""

    def __init__(self, catalog: MemoryProductStore) -> None:
        self._catalog = catalog
        self.orders: dict[tuple[str, str], StoredOrder] = {}
        self.records: dict[tuple[str, str], tuple[IdempotencyRecord, int]] = {}  # with its expiry
        self.addresses: dict[str, Address] = {}  # the account item's last shipping address
        self.calls: list[str] = []
        self.interleave: Callable[[], None] | None = None

    @property
    def catalog(self) -> MemoryProductStore:
        return self._catalog

    def purchase(self, purchase: Purchase) -> None:
        self.calls.append("purchase")
        with self._catalog.lock:
            self._interleave()
            if (purchase.user_sub, purchase.idempotency_key) in self.records:
                raise KeyAlreadyUsed(purchase.idempotency_key)
            products = self._catalog.products
            for line in purchase.order.items:
                product = products.get(line.product_id)
                if product is None or product.stock < line.quantity or product.price_cents != line.unit_price_cents:
                    raise PurchaseRefused(purchase.order.id)
            if (purchase.user_sub, purchase.order.id) in self.orders:  # the order's key: USER#<sub> / ORDER#<id>
                raise PurchaseRefused(purchase.order.id)
            for line in purchase.order.items:
                self._catalog.write_stock(products[line.product_id], products[line.product_id].stock - line.quantity)
            self.orders[(purchase.user_sub, purchase.order.id)] = StoredOrder(
                purchase.user_sub, purchase.order, purchase.idempotency_key, purchase.email
            )
            self.addresses[purchase.user_sub] = purchase.order.shipping_address
            record = IdempotencyRecord(request_hash=purchase.request_hash, order_id=purchase.order.id)
            self.records[(purchase.user_sub, purchase.idempotency_key)] = (record, purchase.expires_at)

    def saved_address(self, user_sub: str) -> Address | None:
        self.calls.append("saved_address")
        return self.addresses.get(user_sub)

    def idempotency_record(self, user_sub: str, idempotency_key: str) -> IdempotencyRecord | None:
        self.calls.append("idempotency_record")
        found = self.records.get((user_sub, idempotency_key))
        return None if found is None else found[0]

    def get(self, user_sub: str, order_id: str) -> Order | None:
        self.calls.append("get")
        stored = self.orders.get((user_sub, order_id))
        return None if stored is None else stored.order

    def orders_of(self, user_sub: str, limit: int, after: str | None) -> OrdersPage:
        self.calls.append("orders_of")
        with self._catalog.lock:
            newest_first = sorted((oid for sub, oid in self.orders if sub == user_sub), reverse=True)
        following = [oid for oid in newest_first if after is None or oid < after]
        page = following[:limit]
        return OrdersPage(
            orders=[self.orders[(user_sub, oid)].order for oid in page],
            last_id=page[-1] if len(following) > limit else None,
        )

    def cancel(self, user_sub: str, order_id: str, restock: Sequence[OrderLine]) -> None:
        self.calls.append("cancel")
        with self._catalog.lock:
            self._interleave()
            stored = self.orders.get((user_sub, order_id))
            if stored is None or stored.order.status != "placed":
                raise OrderNotPlaced(order_id)
            products = self._catalog.products
            if any(line.product_id not in products for line in restock):
                raise CancelRefused(order_id)
            for line in restock:
                self._catalog.write_stock(products[line.product_id], products[line.product_id].stock + line.quantity)
            stored.order = stored.order.model_copy(update={"status": "cancelled"})

    def _interleave(self) -> None:
        if self.interleave is not None:
            self.interleave()


@dataclass
class Sales:
    units_sold: int = 0
    revenue_cents: int = 0
    orders: int = 0


@dataclass
class MemoryEventLedger:
    """An ``EventLedger``: markers (with their expiry) and sales counters in dicts."""

    markers: dict[str, int] = field(default_factory=dict)
    sales: dict[str, Sales] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, event_id: str, expires_at: int, sales: Sequence[SalesChange] = ()) -> bool:
        with self.lock:
            if event_id in self.markers:
                return False
            self.markers[event_id] = expires_at
            for change in sales:
                counters = self.sales.setdefault(change.product_id, Sales())
                counters.units_sold += change.units
                counters.revenue_cents += change.cents
                counters.orders += change.orders
            return True

    def is_recorded(self, event_id: str) -> bool:
        return event_id in self.markers

    def forget(self, event_id: str) -> None:
        with self.lock:
            self.markers.pop(event_id, None)
