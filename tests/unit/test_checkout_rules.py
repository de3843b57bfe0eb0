"""Checkout's rules over the in-memory stores: pricing, totals, idempotency,
price retries and cancellation, with no AWS at all.

The stores keep DynamoDB's promises (tests/support/memory_stores.py; the
same scenarios run on DynamoDB in tests/functional/test_store_contract.py),
so what these show of the rules holds in the shop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.catalog.product import Product
from chalicelib.orders.checkout import (
    IDEMPOTENCY_TTL_S,
    PRICE_RETRIES,
    OrderNotFound,
    cancel_order,
    get_order,
    list_orders,
    place_order,
    request_hash,
    validate_idempotency_key,
)
from chalicelib.orders.order import OrderIn
from chalicelib.platform import cursor
from chalicelib.platform.errors import Conflict, IdempotencyConflict, InvalidInput, OutOfStock
from chalicelib.platform.metrics import IDEMPOTENT_REPLAYS, ORDERS_PLACED, OUT_OF_STOCK_REFUSALS, Metric
from tests.support.memory_stores import MemoryOrderStore, MemoryProductStore

ADDRESS = {"name": "Ann Buyer", "line1": "1 Kennel Lane", "city": "Springfield", "postal_code": "1234", "country": "US"}
NOW = 1_700_000_000.0


def product(product_id: str, price_cents: int = 1250, stock: int = 10) -> Product:
    return Product.model_validate(
        {
            "id": product_id,
            "name": f"{product_id.title()} Treat",
            "description": "For a unit test.",
            "species": "dog",
            "category": "treats",
            "brand": "Testbrand",
            "price_cents": price_cents,
            "stock": stock,
        }
    )


def cart(*lines: tuple[str, int], **address: Any) -> OrderIn:
    return OrderIn.model_validate(
        {
            "items": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
            "shipping_address": {**ADDRESS, **address},
        }
    )


def shop(*products: Product) -> MemoryOrderStore:
    return MemoryOrderStore(MemoryProductStore(products))


def once(action: Callable[[], object]) -> Callable[[], None]:
    """``action`` the first time it is called, nothing after: one concurrent write."""
    pending = [action]

    def run() -> None:
        while pending:
            pending.pop()()

    return run


def buy(store: MemoryOrderStore, body: OrderIn, key: str = "key-1", user: str = "ann", **kwargs: Any) -> Any:
    return place_order(store, user, key, body, clock=lambda: NOW, **kwargs)


# -- pricing and totals ------------------------------------------------------------------------


def test_an_order_is_priced_from_the_catalog_and_takes_its_stock() -> None:
    # GIVEN a chew at 12.50 with 10 in stock
    store = shop(product("chew", price_cents=1250, stock=10))
    # WHEN a shopper buys 3
    order, replayed = buy(store, cart(("chew", 3)))
    # THEN the line is at the catalog's price, the stock is down by 3, and it is a new order
    line = order.items[0]
    assert (line.name, line.unit_price_cents, line.quantity, line.line_total_cents) == ("Chew Treat", 1250, 3, 3750)
    assert order.status == "placed" and order.currency == "USD" and not replayed
    assert store.catalog.stock("chew") == 7
    assert get_order(store, "ann", order.id) == order


def test_the_total_is_the_sum_of_the_lines_in_integer_cents() -> None:
    # GIVEN two products at prices that do not add up in binary floating point
    store = shop(product("chew", price_cents=10), product("ball", price_cents=20))
    # WHEN one of each is bought, three times over
    order, _ = buy(store, cart(("chew", 3), ("ball", 3)))
    # THEN the total is exactly 90 cents
    assert [line.line_total_cents for line in order.items] == [30, 60]
    assert order.total_cents == 90 and isinstance(order.total_cents, int)


def test_the_order_id_starts_with_the_time_it_was_placed() -> None:
    # GIVEN a shop WHEN an order is placed at a known time
    order, _ = buy(shop(product("chew")), cart(("chew", 1)))
    # THEN its id begins with that time in hex milliseconds, and its date is that time
    assert order.id.startswith(f"{int(NOW * 1000):012x}") and len(order.id) == 28
    assert order.created_at == "2023-11-14T22:13:20+00:00"


def test_the_idempotency_record_lasts_a_day() -> None:
    # GIVEN a shop WHEN an order is placed
    store = shop(product("chew"))
    buy(store, cart(("chew", 1)))
    # THEN its key's record expires a day after the purchase
    _, expires_at = store.records[("ann", "key-1")]
    assert expires_at == int(NOW) + IDEMPOTENCY_TTL_S == int(NOW) + 86_400


def test_an_unknown_product_is_a_400_naming_its_line_and_writes_nothing() -> None:
    # GIVEN a shop with a chew only
    store = shop(product("chew"))
    # WHEN a cart names a chew and a product the shop does not have
    with pytest.raises(InvalidInput) as refused:
        buy(store, cart(("chew", 1), ("unicorn", 1)))
    # THEN the 400 names the second line, and nothing was bought
    assert refused.value.field == "items.1.product_id" and "'unicorn'" in refused.value.message
    assert store.catalog.stock("chew") == 10 and store.orders == {}


# -- stock -------------------------------------------------------------------------------------


def test_a_short_line_is_refused_naming_each_short_line_and_what_is_left() -> None:
    # GIVEN a chew with 2 left, a ball with 10 and a bone with 0
    store = shop(product("chew", stock=2), product("ball", stock=10), product("bone", stock=0))
    metrics: list[Metric] = []
    # WHEN a cart wants 3 chews, 1 ball and 1 bone
    with pytest.raises(OutOfStock) as refused:
        buy(store, cart(("chew", 3), ("ball", 1), ("bone", 1)), metrics=metrics)
    # THEN the 409 lists the chew and the bone with what is left, and is counted as such
    assert refused.value.short == [
        {"product_id": "chew", "requested": 3, "available": 2},
        {"product_id": "bone", "requested": 1, "available": 0},
    ]
    assert refused.value.message == "not enough stock for: chew (2 left), bone (0 left)"
    assert [m.name for m in metrics] == [OUT_OF_STOCK_REFUSALS]


def test_an_out_of_stock_refusal_writes_nothing_so_the_same_key_can_buy_later() -> None:
    # GIVEN a refused cart: the ball's line was fine, the chew's short
    store = shop(product("chew", stock=2), product("ball", stock=10))
    with pytest.raises(OutOfStock):
        buy(store, cart(("chew", 3), ("ball", 1)))
    assert store.catalog.stock("ball") == 10 and store.orders == {} and store.records == {}
    # WHEN the chew is restocked and the shopper retries with the same key
    store.catalog.write_stock(store.catalog.products["chew"], 5)
    order, replayed = buy(store, cart(("chew", 3), ("ball", 1)))
    # THEN the order is placed, not taken for a replay
    assert (
        not replayed
        and store.orders[("ann", order.id)].order == order
        and store.catalog.stock("chew") == 2
        and store.catalog.stock("ball") == 9
    )


def test_stock_taken_between_the_read_and_the_write_is_out_of_stock_not_a_negative_stock() -> None:
    # GIVEN a chew with 3 left, and another buyer who takes 2 of them just before our write
    store = shop(product("chew", stock=3))
    store.interleave = once(lambda: store.catalog.write_stock(store.catalog.products["chew"], 1))
    # WHEN the shopper's order for 3 is written
    with pytest.raises(OutOfStock) as refused:
        buy(store, cart(("chew", 3)))
    # THEN it is refused with what is left now, and the stock stays at 1
    assert refused.value.short == [{"product_id": "chew", "requested": 3, "available": 1}]
    assert store.catalog.stock("chew") == 1


# -- idempotency -------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_returns_the_same_order_and_takes_no_more_stock() -> None:
    # GIVEN an order placed with key-1
    store = shop(product("chew", stock=10))
    first, _ = buy(store, cart(("chew", 2)))
    metrics: list[Metric] = []
    # WHEN the client sends it again (its answer was lost)
    again, replayed = buy(store, cart(("chew", 2)), metrics=metrics)
    # THEN it gets the same order, marked as a replay, and the stock moved once
    assert again == first and replayed
    assert store.catalog.stock("chew") == 8 and len(store.orders) == 1
    assert [m.name for m in metrics] == [IDEMPOTENT_REPLAYS]


def test_the_same_key_with_another_body_is_refused_and_changes_nothing() -> None:
    # GIVEN an order placed with key-1
    store = shop(product("chew", stock=10))
    buy(store, cart(("chew", 2)))
    # WHEN key-1 comes again with another quantity
    with pytest.raises(IdempotencyConflict) as refused:
        buy(store, cart(("chew", 5)))
    # THEN it is a 409 naming the header, and nothing more was bought
    assert refused.value.field == "Idempotency-Key" and refused.value.status == 409
    assert store.catalog.stock("chew") == 8 and len(store.orders) == 1


def test_keys_are_per_shopper() -> None:
    # GIVEN Ann's order with key-1
    store = shop(product("chew", stock=10))
    anns, _ = buy(store, cart(("chew", 1)), user="ann")
    # WHEN Bob uses the same key for the same cart
    bobs, replayed = buy(store, cart(("chew", 1)), user="bob")
    # THEN Bob gets an order of his own
    assert not replayed and bobs.id != anns.id and store.catalog.stock("chew") == 8


def test_a_retry_after_a_product_was_deleted_returns_the_order_it_placed() -> None:
    # GIVEN an order for a chew, after which the chew left the catalog
    store = shop(product("chew"))
    first, _ = buy(store, cart(("chew", 1)))
    del store.catalog.products["chew"]
    # WHEN the client retries with the same key and body
    again, replayed = buy(store, cart(("chew", 1)))
    # THEN it gets its order, not a 400 for the missing product
    assert again == first and replayed


def test_a_retry_at_a_new_price_still_returns_the_order_at_the_price_it_was_placed() -> None:
    # GIVEN an order at 10.00, after which the price went up
    store = shop(product("chew", price_cents=1000))
    first, _ = buy(store, cart(("chew", 1)))
    store.catalog.set_price("chew", 1500)
    # WHEN the client retries with the same key
    again, replayed = buy(store, cart(("chew", 1)))
    # THEN it gets the order as placed, at 10.00
    assert replayed and again == first and again.total_cents == 1000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "the Idempotency-Key header is required (one new key per checkout attempt)"),
        ("", "the Idempotency-Key header is required (one new key per checkout attempt)"),
        ("has space", "Idempotency-Key: 1-100 letters, digits, '-' or '_'"),
        ("semi;colon", "Idempotency-Key: 1-100 letters, digits, '-' or '_'"),
        ("k" * 101, "Idempotency-Key: 1-100 letters, digits, '-' or '_'"),
    ],
)
def test_an_idempotency_key_is_required_and_made_of_1_to_100_safe_characters(value: str | None, message: str) -> None:
    # GIVEN a missing or unsafe key WHEN it is checked THEN it is a 400 naming the header
    with pytest.raises(InvalidInput) as refused:
        validate_idempotency_key(value)
    assert (refused.value.field, refused.value.message) == ("Idempotency-Key", message)


@pytest.mark.parametrize("value", ["a", "k" * 100, "9f1c-4e_AB"])
def test_a_safe_idempotency_key_is_taken_as_it_is(value: str) -> None:
    # GIVEN a key of safe characters WHEN it is checked THEN it comes back unchanged
    assert validate_idempotency_key(value) == value


def test_the_request_fingerprint_is_the_body_not_how_it_was_written() -> None:
    # GIVEN the same cart written with its keys in another order and other spacing
    written = {"items": [{"product_id": "chew", "quantity": 2}], "shipping_address": ADDRESS}
    reordered = json.loads(json.dumps({"shipping_address": dict(reversed(ADDRESS.items())), "items": written["items"]}))
    # WHEN both are fingerprinted THEN they are the same request...
    assert request_hash(OrderIn.model_validate(written)) == request_hash(OrderIn.model_validate(reordered))
    # ...and another quantity or address is another request
    assert request_hash(cart(("chew", 2))) != request_hash(cart(("chew", 3)))
    assert request_hash(cart(("chew", 2))) != request_hash(cart(("chew", 2), city="Shelbyville"))


# -- prices that move ---------------------------------------------------------------------------


def test_a_price_changed_between_the_read_and_the_write_is_read_again_and_charged_at_the_new_price() -> None:
    # GIVEN a chew at 10.00 whose price an admin raises just before the first write
    store = shop(product("chew", price_cents=1000))
    store.interleave = once(lambda: store.catalog.set_price("chew", 1500))
    # WHEN the shopper buys one
    order, replayed = buy(store, cart(("chew", 1)))
    # THEN the order is placed once, at the new price, after reading the cart again
    assert order.total_cents == 1500 and not replayed and len(store.orders) == 1
    assert store.calls.count("purchase") == 2 and store.catalog.calls.count("get_many") == 3  # read, recheck, read


def test_prices_that_keep_changing_give_up_after_the_bounded_retries_and_write_nothing() -> None:
    # GIVEN a chew whose price moves before every write
    store = shop(product("chew", price_cents=1000, stock=5))
    store.interleave = lambda: store.catalog.set_price("chew", store.catalog.products["chew"].price_cents + 1)
    metrics: list[Metric] = []
    # WHEN the shopper buys one
    with pytest.raises(Conflict) as refused:
        buy(store, cart(("chew", 1)), metrics=metrics)
    # THEN after the first try and PRICE_RETRIES more it is a 409 on the items; nothing was bought
    assert refused.value.message == "prices changed while the order was placed; please try again"
    assert refused.value.field == "items" and type(refused.value) is Conflict
    assert store.calls.count("purchase") == PRICE_RETRIES + 1 == 3
    assert store.catalog.stock("chew") == 5 and store.orders == {} and metrics == []


def test_a_placed_order_is_counted_with_its_value() -> None:
    # GIVEN a shop WHEN an order of 37.50 is placed
    metrics: list[Metric] = []
    buy(shop(product("chew", price_cents=1250)), cart(("chew", 3)), metrics=metrics)
    # THEN OrdersPlaced is one and OrderValueCents is its total
    assert [(m.name, m.value) for m in metrics] == [(ORDERS_PLACED, 1), ("OrderValueCents", 3750)]


# -- reading and cancelling ----------------------------------------------------------------------


def test_someone_elses_order_and_an_impossible_id_are_not_found() -> None:
    # GIVEN Ann's order
    store = shop(product("chew"))
    order, _ = buy(store, cart(("chew", 1)))
    # WHEN Bob asks for it, or anyone for an empty or over-long id THEN it is not found, like a missing one
    for user, order_id in (("bob", order.id), ("ann", ""), ("ann", "x" * 65), ("ann", "nope")):
        with pytest.raises(OrderNotFound):
            get_order(store, user, order_id)
    assert store.calls.count("get") == 2  # the impossible ids are refused without a read


def test_orders_are_listed_newest_first_a_page_at_a_time() -> None:
    # GIVEN three of Ann's orders, placed a second apart, and one of Bob's
    store = shop(product("chew"))
    placed = [place_order(store, "ann", f"k{n}", cart(("chew", 1)), clock=lambda n=n: NOW + n)[0] for n in range(3)]
    place_order(store, "bob", "k0", cart(("chew", 1)))
    # WHEN Ann lists them two at a time
    first = list_orders(store, "ann", 2, None)
    second = list_orders(store, "ann", 2, first.next_cursor)
    # THEN she sees her own, newest first, and the second page ends the list
    assert [o.id for o in first.items + second.items] == [o.id for o in reversed(placed)]
    assert first.next_cursor is not None and second.next_cursor is None


def test_a_cursor_of_another_shoppers_list_is_refused() -> None:
    # GIVEN a cursor of Ann's orders
    store = shop(product("chew"))
    for n in range(2):
        buy(store, cart(("chew", 1)), key=f"k{n}")
    cursor = list_orders(store, "ann", 1, None).next_cursor
    # WHEN Bob pages with it THEN it is a 400 naming the cursor, and nothing is read
    with pytest.raises(InvalidInput) as refused:
        list_orders(store, "bob", 1, cursor)
    assert refused.value.field == "cursor" and store.calls.count("orders_of") == 1


def test_a_cursor_edited_to_point_into_another_shoppers_orders_is_refused() -> None:
    # GIVEN Ann's orders, and a cursor Bob made by hand: his own query's fingerprint, Ann's partition
    store = shop(product("chew"))
    anns, _ = buy(store, cart(("chew", 1)))
    forged = cursor.encode({"PK": "USER#ann", "SK": f"ORDER#{anns.id}z"}, cursor.fingerprint({"orders_of": "bob"}))
    # WHEN Bob pages with it THEN it is a 400 naming the cursor, and nothing is read
    with pytest.raises(InvalidInput) as refused:
        list_orders(store, "bob", 10, forged)
    assert refused.value.field == "cursor" and store.calls.count("orders_of") == 0


def test_cancelling_puts_the_stock_back_and_only_a_placed_order_can_be_cancelled() -> None:
    # GIVEN an order for 3 chews
    store = shop(product("chew", stock=10))
    order, _ = buy(store, cart(("chew", 3)))
    # WHEN it is cancelled
    cancelled = cancel_order(store, "ann", order.id)
    # THEN the stock is back and the order says so
    assert cancelled.status == "cancelled" and store.catalog.stock("chew") == 10
    assert get_order(store, "ann", order.id).status == "cancelled"
    # AND cancelling it again is a 409 naming its status, which puts nothing back twice
    with pytest.raises(Conflict) as refused:
        cancel_order(store, "ann", order.id)
    assert refused.value.message == "the order is cancelled; only a placed order can be cancelled"
    assert refused.value.field == "status" and store.catalog.stock("chew") == 10


def test_cancelling_skips_the_lines_of_products_deleted_since() -> None:
    # GIVEN an order for a chew and a ball, after which the ball left the catalog
    store = shop(product("chew", stock=10), product("ball", stock=10))
    order, _ = buy(store, cart(("chew", 1), ("ball", 1)))
    del store.catalog.products["ball"]
    # WHEN the order is cancelled THEN the chew's stock is back and the ball is not brought back to life
    cancel_order(store, "ann", order.id)
    assert store.catalog.stock("chew") == 10 and "ball" not in store.catalog.products


def test_a_cancellation_that_loses_a_race_to_another_is_refused_and_restocks_once() -> None:
    # GIVEN an order that another cancellation (say, another tab) cancels just before ours is written
    store = shop(product("chew", stock=10))
    order, _ = buy(store, cart(("chew", 2)))
    store.interleave = once(lambda: cancel_order(store, "ann", order.id))
    # WHEN ours is written THEN it is a 409: the order is no longer placed; the stock came back once
    with pytest.raises(Conflict) as refused:
        cancel_order(store, "ann", order.id)
    assert refused.value.message == "the order is no longer placed; it cannot be cancelled"
    assert store.catalog.stock("chew") == 10


def test_a_product_deleted_while_the_cancellation_is_written_is_a_try_again_and_changes_nothing() -> None:
    # GIVEN an order for a chew and a ball, the ball deleted between the read and the write
    store = shop(product("chew", stock=10), product("ball", stock=10))
    order, _ = buy(store, cart(("chew", 1), ("ball", 1)))
    store.interleave = lambda: store.catalog.products.pop("ball", None)
    # WHEN the order is cancelled THEN it is a 409 asking to try again, and the order is still placed
    with pytest.raises(Conflict) as refused:
        cancel_order(store, "ann", order.id)
    assert refused.value.message == "the order could not be cancelled just now; try again"
    assert get_order(store, "ann", order.id).status == "placed" and store.catalog.stock("chew") == 9
