"""The stores' contract, run on both implementations: DynamoDB (moto, through
boto3) and the in-memory stores the unit tests use.

What tests/unit/test_*_rules.py show of the rules holds in the shop only if
the in-memory stores keep the same promises as the DynamoDB ones: the same
conditions, all-or-nothing writes and the same refusals. Each scenario here
runs on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.catalog.product import Product
from chalicelib.catalog.product_store import ProductStore, WriteRefused
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.orders.checkout import new_order, price_lines
from chalicelib.orders.event_ledger import DynamoEventLedger, EventLedger, SalesChange
from chalicelib.orders.order import Order, OrderIn
from chalicelib.orders.order_store import (
    CancelRefused,
    KeyAlreadyUsed,
    OrderNotPlaced,
    OrderStore,
    Purchase,
    PurchaseRefused,
)
from chalicelib.orders.order_table import DynamoOrderStore
from chalicelib.photos.photo import Photo, content_id, rendition_key
from chalicelib.platform import keys
from tests.support.memory_stores import MemoryEventLedger, MemoryOrderStore, MemoryProductStore

ADDRESS = {"name": "Ann Buyer", "line1": "1 Kennel Lane", "city": "Springfield", "postal_code": "1234", "country": "US"}


@dataclass
class Stores:
    catalog: ProductStore
    orders: OrderStore
    ledger: EventLedger
    table: Any  # None for the in-memory stores
    made: list[dict[str, str]]  # keys of the items to remove after the test
    user: str

    def product(self, stock: int = 10, price_cents: int = 1000, **fields: Any) -> Product:
        made = Product.model_validate(
            {
                "id": f"contract-{uuid.uuid4().hex[:12]}",
                "name": "Contract Chew",
                "description": "Made for the store contract.",
                "species": "dog",
                "category": "treats",
                "brand": "Testbrand",
                "price_cents": price_cents,
                "stock": stock,
                **fields,
            }
        )
        self.catalog.insert(made)
        self.made.append(keys.product_key(made.id))
        return made

    def stock(self, product_id: str) -> int:
        found = self.catalog.get_many([product_id], consistent=True)
        return found[product_id].stock

    def purchase(self, lines: list[tuple[Product, int]], key: str | None = None, now: float = 1.7e9) -> Purchase:
        body = OrderIn.model_validate(
            {"items": [{"product_id": p.id, "quantity": q} for p, q in lines], "shipping_address": ADDRESS}
        )
        order = new_order(body, price_lines(body, {p.id: p for p, _ in lines}), now)
        return Purchase(self.user, key or uuid.uuid4().hex, "hash", order, "ann@example.com", int(now) + 60)

    def sales(self, product_id: str) -> tuple[int, int, int]:
        if isinstance(self.ledger, MemoryEventLedger):
            counted = self.ledger.sales[product_id]
            return counted.units_sold, counted.revenue_cents, counted.orders
        item = self.table.get_item(Key=keys.sales_key(product_id), ConsistentRead=True)["Item"]
        return int(item["units_sold"]), int(item["revenue_cents"]), int(item["orders"])


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    user = f"contract-{uuid.uuid4().hex[:8]}"
    if request.param == "memory":
        catalog = MemoryProductStore()
        yield Stores(catalog, MemoryOrderStore(catalog), MemoryEventLedger(), None, [], user)
        return
    table = request.getfixturevalue("table")
    made: list[dict[str, str]] = []
    yield Stores(DynamoProductStore(table), DynamoOrderStore(table), DynamoEventLedger(table), table, made, user)
    for key in made:
        table.delete_item(Key=key)


# -- products -------------------------------------------------------------------------------------


def test_an_id_is_inserted_once_at_version_1(stores: Stores) -> None:
    chew = stores.product()
    with pytest.raises(WriteRefused):
        stores.catalog.insert(chew.model_copy(update={"price_cents": 1}))
    stored = stores.catalog.get(chew.id)
    assert stored is not None and (stored.version, stored.price_cents) == (1, 1000)
    assert stores.catalog.get("contract-none") is None
    assert list(stores.catalog.get_many([chew.id, "contract-none", chew.id])) == [chew.id]


def test_an_update_keeps_the_stock_moves_the_version_and_removes_what_is_unset(stores: Stores) -> None:
    chew = stores.product(stock=10, image="chew.jpg")
    written = stores.catalog.update(
        chew.model_copy(update={"name": "Renamed", "stock": 0, "image": None}), keep_stock=True, expected_version=1
    )
    assert (written.name, written.stock, written.version, written.image) == ("Renamed", 10, 2, None)
    assert stores.catalog.get(chew.id) == written


def test_an_update_of_another_version_or_a_missing_product_is_refused_whole(stores: Stores) -> None:
    chew = stores.product(stock=10)
    with pytest.raises(WriteRefused):
        stores.catalog.update(chew.model_copy(update={"name": "Stale"}), keep_stock=False, expected_version=7)
    with pytest.raises(WriteRefused):
        stores.catalog.update(chew.model_copy(update={"id": "contract-none"}), keep_stock=False, expected_version=None)
    assert stores.catalog.get(chew.id) == chew
    assert stores.catalog.get("contract-none") is None


def test_stock_is_added_only_within_its_bounds(stores: Stores) -> None:
    chew = stores.product(stock=3)
    assert stores.catalog.add_stock(chew.id, -3, floor=3, ceiling=10).stock == 0
    with pytest.raises(WriteRefused):
        stores.catalog.add_stock(chew.id, -1, floor=1, ceiling=10)
    with pytest.raises(WriteRefused):
        stores.catalog.add_stock("contract-none", 1, floor=0, ceiling=10)
    stored = stores.catalog.get(chew.id)
    assert stored is not None and (stored.stock, stored.version) == (0, 1)


def test_a_delete_needs_the_product_and_returns_it_as_it_was(stores: Stores) -> None:
    chew = stores.product()
    with_photo = stores.catalog.replace_photos(chew.id, [Photo.processing("ph-contract-0")], expected_rev=0)
    assert stores.catalog.delete(chew.id) == with_photo  # its photos, for the caller to clean up
    assert stores.catalog.get(chew.id) is None
    with pytest.raises(WriteRefused):
        stores.catalog.delete(chew.id)


def test_put_many_replaces_whole_products_at_version_1(stores: Stores) -> None:
    chew = stores.product()
    stores.catalog.update(chew, keep_stock=True, expected_version=None)
    fresh = chew.model_copy(update={"id": f"{chew.id}-b", "name": "Second"})
    stores.made.append(keys.product_key(fresh.id))
    stores.catalog.put_many([chew.model_copy(update={"name": "Imported"}), fresh])
    found = stores.catalog.get_many([chew.id, fresh.id], consistent=True)
    assert {p.id: (p.name, p.version) for p in found.values()} == {chew.id: ("Imported", 1), fresh.id: ("Second", 1)}


# -- purchases ------------------------------------------------------------------------------------


def test_a_purchase_writes_the_stock_the_order_and_the_key_together(stores: Stores) -> None:
    chew, ball = stores.product(stock=5), stores.product(stock=5)
    purchase = stores.purchase([(chew, 2), (ball, 5)])
    stores.orders.purchase(purchase)
    assert (stores.stock(chew.id), stores.stock(ball.id)) == (3, 0)
    assert stores.orders.get(stores.user, purchase.order.id) == purchase.order
    record = stores.orders.idempotency_record(stores.user, purchase.idempotency_key)
    assert record is not None and (record.order_id, record.request_hash) == (purchase.order.id, "hash")


@pytest.mark.parametrize("why", ["short", "repriced", "deleted"])
def test_a_purchase_with_one_line_that_fails_writes_nothing(stores: Stores, why: str) -> None:
    chew, ball = stores.product(stock=5), stores.product(stock=1)
    purchase = stores.purchase([(chew, 2), (ball, 1)])
    if why == "short":
        stores.catalog.add_stock(ball.id, -1, floor=1, ceiling=10)
    elif why == "repriced":
        stores.catalog.update(ball.model_copy(update={"price_cents": 1001}), keep_stock=True, expected_version=None)
    else:
        stores.catalog.delete(ball.id)
    with pytest.raises(PurchaseRefused):
        stores.orders.purchase(purchase)
    assert stores.stock(chew.id) == 5
    assert stores.orders.get(stores.user, purchase.order.id) is None
    assert stores.orders.idempotency_record(stores.user, purchase.idempotency_key) is None


def test_a_used_key_is_told_apart_from_a_short_line_and_writes_nothing(stores: Stores) -> None:
    chew = stores.product(stock=2)
    first = stores.purchase([(chew, 1)], key="contract-key")
    stores.orders.purchase(first)
    again = stores.purchase([(chew, 5)], key="contract-key")  # and short, too
    with pytest.raises(KeyAlreadyUsed):
        stores.orders.purchase(again)
    assert stores.stock(chew.id) == 1 and stores.orders.get(stores.user, again.order.id) is None
    record = stores.orders.idempotency_record(stores.user, "contract-key")
    assert record is not None and record.order_id == first.order.id


def test_orders_are_read_newest_first_after_a_given_one(stores: Stores) -> None:
    chew = stores.product(stock=10)
    placed: list[Order] = []
    for n in range(3):
        purchase = stores.purchase([(chew, 1)], now=1.7e9 + n)
        stores.orders.purchase(purchase)
        placed.append(purchase.order)
    newest = [o.id for o in reversed(placed)]
    first = stores.orders.orders_of(stores.user, 2, None)
    assert [o.id for o in first.orders] == newest[:2] and first.last_id == newest[1]
    rest = stores.orders.orders_of(stores.user, 2, first.last_id)
    assert [o.id for o in rest.orders] == newest[2:] and rest.last_id is None
    assert stores.orders.orders_of("contract-nobody", 2, None).orders == []


# -- cancellations --------------------------------------------------------------------------------


def test_a_cancellation_restocks_once_and_only_a_placed_order(stores: Stores) -> None:
    chew = stores.product(stock=5)
    purchase = stores.purchase([(chew, 2)])
    stores.orders.purchase(purchase)
    stores.orders.cancel(stores.user, purchase.order.id, purchase.order.items)
    cancelled = stores.orders.get(stores.user, purchase.order.id)
    assert cancelled is not None and cancelled.status == "cancelled" and stores.stock(chew.id) == 5
    with pytest.raises(OrderNotPlaced):
        stores.orders.cancel(stores.user, purchase.order.id, purchase.order.items)
    with pytest.raises(OrderNotPlaced):
        stores.orders.cancel(stores.user, "contract-none", [])
    assert stores.stock(chew.id) == 5


def test_a_cancellation_restocking_a_deleted_product_writes_nothing(stores: Stores) -> None:
    chew, ball = stores.product(stock=5), stores.product(stock=5)
    purchase = stores.purchase([(chew, 1), (ball, 1)])
    stores.orders.purchase(purchase)
    stores.catalog.delete(ball.id)
    with pytest.raises(CancelRefused):
        stores.orders.cancel(stores.user, purchase.order.id, purchase.order.items)
    placed = stores.orders.get(stores.user, purchase.order.id)
    assert placed is not None and placed.status == "placed" and stores.stock(chew.id) == 4


# -- the event ledger -----------------------------------------------------------------------------


def test_an_event_is_recorded_once_with_its_counters(stores: Stores) -> None:
    event, product_id = f"contract-{uuid.uuid4().hex}", f"contract-{uuid.uuid4().hex[:12]}"
    sales = [SalesChange(product_id, units=3, cents=900, orders=1)]
    stores.made += [keys.event_marker_key(event), keys.sales_key(product_id)]
    assert stores.ledger.record(event, 1_800_000_000, sales)
    assert not stores.ledger.record(event, 1_800_000_000, sales)
    assert stores.ledger.is_recorded(event) and stores.sales(product_id) == (3, 900, 1)
    stores.ledger.forget(event)
    assert not stores.ledger.is_recorded(event)
    assert stores.ledger.record(event, 1_800_000_000, [SalesChange(product_id, units=-3, cents=-900, orders=-1)])
    assert stores.sales(product_id) == (0, 0, 0)


# -- photos ---------------------------------------------------------------------------------------


def _ready_photo(photo_id: str) -> Photo:
    cid = content_id(photo_id.encode())
    renditions = [
        {"width": w, "height": w * 3 // 4, "format": fmt, "key": rendition_key(cid, w, fmt)}
        for w in (160, 320)
        for fmt in ("webp", "jpeg")
    ]
    return Photo.model_validate(
        {
            "id": photo_id,
            "state": "ready",
            "alt": "A chew",
            "content_id": cid,
            "width": 320,
            "height": 240,
            "renditions": renditions,
        }
    )


def test_photos_are_replaced_whole_on_their_revision_and_edits_and_stock_leave_them(stores: Stores) -> None:
    chew = stores.product(stock=5)
    photos = [_ready_photo("ph-contract-1"), Photo.processing("ph-contract-2", alt="Side")]
    written = stores.catalog.replace_photos(chew.id, photos, expected_rev=0)
    assert (written.photos, written.photos_rev) == (photos, 1)
    stored = stores.catalog.get(chew.id)
    assert stored is not None and stored.photos == photos and stored.photos_rev == 1
    assert stored.photos[0].srcset.startswith("/img/") and stored.photos[1].src is None
    edited = stores.catalog.update(chew.model_copy(update={"name": "Renamed"}), keep_stock=True, expected_version=1)
    stocked = stores.catalog.add_stock(chew.id, 2, floor=0, ceiling=100)
    for product in (edited, stocked, stores.catalog.get(chew.id)):
        assert product is not None and product.photos == photos and product.photos_rev == 1


def test_a_photo_write_on_a_stale_revision_or_a_missing_product_is_refused(stores: Stores) -> None:
    chew = stores.product()
    stores.catalog.replace_photos(chew.id, [Photo.processing("ph-contract-3")], expected_rev=0)
    with pytest.raises(WriteRefused):
        stores.catalog.replace_photos(chew.id, [], expected_rev=0)  # another write came first
    with pytest.raises(WriteRefused):
        stores.catalog.replace_photos("contract-none", [], expected_rev=0)
    stored = stores.catalog.get(chew.id)
    assert stored is not None and [p.id for p in stored.photos] == ["ph-contract-3"]
    assert stores.catalog.get("contract-none") is None


def test_an_import_replaces_a_product_without_its_photos(stores: Stores) -> None:
    chew = stores.product()
    stores.catalog.replace_photos(chew.id, [_ready_photo("ph-contract-4")], expected_rev=0)
    stores.catalog.put_many([chew.model_copy(update={"name": "Imported"})])
    stored = stores.catalog.get(chew.id)
    assert stored is not None and (stored.name, stored.photos, stored.photos_rev) == ("Imported", [], 0)
