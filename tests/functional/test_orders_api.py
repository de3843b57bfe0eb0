"""Purchase and orders through the Chalice test client against moto."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.catalog.product import Product
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.catalog.products import delete_product, get_product, save_product
from chalicelib.orders.order import MAX_ORDER_LINES
from chalicelib.orders.order_table import DynamoOrderStore
from tests.support.api_calls import ADDRESS, bearer, checkout


@pytest.fixture()
def shop_table(table: Any) -> Any:
    return table


def stock(table: Any, product_id: str) -> int:
    return get_product(DynamoProductStore(table), product_id).stock


def test_an_order_is_priced_by_the_server_and_takes_the_stock(
    client: Client, tokens: dict[str, Any], make_product: Any, shop_table: Any, dynamo_calls: Any
) -> None:
    chew, ball = make_product(stock=5, price_cents=1250), make_product(stock=3, price_cents=799)
    dynamo_calls.clear()
    response = checkout(
        client,
        tokens["shopper"]["access"],
        [{"product_id": chew.id, "quantity": 2}, {"product_id": ball.id, "quantity": 3}],
    )
    assert response.status_code == 201, response.body
    order = response.json_body
    assert order["status"] == "placed" and order["total_cents"] == 2 * 1250 + 3 * 799
    assert [(line["name"], line["unit_price_cents"], line["line_total_cents"]) for line in order["items"]] == [
        (chew.name, 1250, 2500),
        (ball.name, 799, 2397),
    ]
    assert (stock(shop_table, chew.id), stock(shop_table, ball.id)) == (3, 0)
    assert dynamo_calls.operations.count("BatchGetItem") == 1
    assert dynamo_calls.operations.count("TransactWriteItems") == 1


def test_prices_sent_by_the_client_are_refused(client: Client, tokens: dict[str, Any], make_product: Any) -> None:
    chew = make_product()
    response = checkout(client, tokens["shopper"]["access"], [{"product_id": chew.id, "quantity": 1, "price_cents": 1}])
    assert response.status_code == 400 and response.json_body["field"] == "items.0.price_cents"


def test_the_same_key_and_body_return_the_same_order_once(
    client: Client, tokens: dict[str, Any], make_product: Any, shop_table: Any
) -> None:
    chew = make_product(stock=5)
    items, key = [{"product_id": chew.id, "quantity": 2}], uuid.uuid4().hex
    first = checkout(client, tokens["shopper"]["access"], items, key)
    again = checkout(client, tokens["shopper"]["access"], items, key)
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stock(shop_table, chew.id) == 3


def test_a_retry_after_the_product_was_deleted_returns_the_order_it_placed(
    client: Client, tokens: dict[str, Any], shop_table: Any
) -> None:
    # GIVEN an order placed with a key, of a product then deleted from the catalog
    product = Product.model_validate(
        {
            "id": f"gone-{uuid.uuid4().hex[:8]}",
            "name": "Soon Gone Chew",
            "description": "Deleted by a test.",
            "species": "dog",
            "category": "treats",
            "brand": "Testbrand",
            "price_cents": 650,
            "stock": 4,
        }
    )
    save_product(DynamoProductStore(shop_table), product, create=True)
    items, key = [{"product_id": product.id, "quantity": 1}], uuid.uuid4().hex
    first = checkout(client, tokens["shopper"]["access"], items, key)
    assert first.status_code == 201, first.body
    delete_product(DynamoProductStore(shop_table), product.id)
    # WHEN the client retries with the same key and body (its answer was lost)
    again = checkout(client, tokens["shopper"]["access"], items, key)
    # THEN it gets the order it placed, not a 400
    assert again.status_code == 201, again.body
    assert again.json_body == first.json_body and again.headers["Idempotent-Replayed"] == "true"
    # AND a new key for the same cart is the 400 naming the line
    fresh = checkout(client, tokens["shopper"]["access"], items)
    assert fresh.status_code == 400 and fresh.json_body["field"] == "items.0.product_id"


def test_a_retry_after_the_product_was_repriced_returns_the_order_at_its_price(
    client: Client, tokens: dict[str, Any], make_product: Any, shop_table: Any
) -> None:
    chew = make_product(stock=5, price_cents=1000)
    items, key = [{"product_id": chew.id, "quantity": 1}], uuid.uuid4().hex
    first = checkout(client, tokens["shopper"]["access"], items, key)
    save_product(
        DynamoProductStore(shop_table), chew.model_copy(update={"price_cents": 1500}), create=False, keep_stock=True
    )
    again = checkout(client, tokens["shopper"]["access"], items, key)
    assert again.status_code == 201 and again.json_body == first.json_body
    assert again.json_body["total_cents"] == 1000 and stock(shop_table, chew.id) == 4


def test_the_same_key_with_another_body_is_a_409(client: Client, tokens: dict[str, Any], make_product: Any) -> None:
    chew = make_product(stock=5)
    key = uuid.uuid4().hex
    assert (
        checkout(client, tokens["shopper"]["access"], [{"product_id": chew.id, "quantity": 1}], key).status_code == 201
    )
    response = checkout(client, tokens["shopper"]["access"], [{"product_id": chew.id, "quantity": 2}], key)
    assert response.status_code == 409 and response.json_body["code"] == "idempotency_key_reused"


def test_keys_belong_to_their_user(client: Client, tokens: dict[str, Any], make_product: Any) -> None:
    chew = make_product(stock=5)
    items, key = [{"product_id": chew.id, "quantity": 1}], uuid.uuid4().hex
    mine = checkout(client, tokens["shopper"]["access"], items, key).json_body
    theirs = checkout(client, tokens["admin"]["access"], items, key).json_body
    assert mine["id"] != theirs["id"]


def test_a_short_line_is_a_409_naming_it_and_nothing_is_written(
    client: Client, tokens: dict[str, Any], make_product: Any, shop_table: Any
) -> None:
    plenty, scarce = make_product(stock=10), make_product(stock=1)
    before = client.http.get("/orders?limit=50", headers=bearer(tokens["shopper"]["access"])).json_body["items"]
    response = checkout(
        client,
        tokens["shopper"]["access"],
        [{"product_id": plenty.id, "quantity": 2}, {"product_id": scarce.id, "quantity": 3}],
    )
    assert response.status_code == 409
    assert response.json_body["code"] == "out_of_stock"
    assert response.json_body["lines"] == [{"product_id": scarce.id, "requested": 3, "available": 1}]
    assert (stock(shop_table, plenty.id), stock(shop_table, scarce.id)) == (10, 1)
    after = client.http.get("/orders?limit=50", headers=bearer(tokens["shopper"]["access"])).json_body["items"]
    assert after == before


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([{"product_id": "no-such-product", "quantity": 1}], "items.0.product_id"),
        ([{"product_id": "PLACEHOLDER", "quantity": 0}], "items.0.quantity"),
        ([{"product_id": "PLACEHOLDER", "quantity": -2}], "items.0.quantity"),
        ([{"product_id": "PLACEHOLDER", "quantity": 100000}], "items.0.quantity"),
        ([{"product_id": "PLACEHOLDER", "quantity": "2"}], "items.0.quantity"),
        ([{"product_id": "PLACEHOLDER", "quantity": 1}] * 2, "items"),
        ([{"product_id": f"p-{i}", "quantity": 1} for i in range(MAX_ORDER_LINES + 1)], "items"),
    ],
)
def test_bad_carts_are_a_400_naming_the_problem(
    client: Client, tokens: dict[str, Any], make_product: Any, shop_table: Any, items: list[Any], field: str
) -> None:
    chew = make_product(stock=5)
    items = [{**line, "product_id": chew.id} if line["product_id"] == "PLACEHOLDER" else line for line in items]
    response = checkout(client, tokens["shopper"]["access"], items)
    assert response.status_code == 400, response.body
    assert response.json_body["field"] == field
    assert stock(shop_table, chew.id) == 5


def test_an_idempotency_key_is_required(client: Client, tokens: dict[str, Any], make_product: Any) -> None:
    chew = make_product()
    response = checkout(client, tokens["shopper"]["access"], [{"product_id": chew.id, "quantity": 1}], key=False)
    assert response.status_code == 400 and response.json_body["field"] == "Idempotency-Key"


def test_a_shipping_address_is_required(client: Client, tokens: dict[str, Any], make_product: Any) -> None:
    chew = make_product()
    headers = {**bearer(tokens["shopper"]["access"]), "Idempotency-Key": "k1", "Content-Type": "application/json"}
    response = client.http.post(
        "/orders", headers=headers, body=json.dumps({"items": [{"product_id": chew.id, "quantity": 1}]})
    )
    assert response.status_code == 400 and response.json_body["field"] == "shipping_address"


def test_buying_needs_a_signed_in_user(client: Client) -> None:
    response = client.http.post("/orders", headers={"Idempotency-Key": "k"}, body="{}")
    assert response.status_code == 401


def test_orders_are_listed_newest_first_and_only_to_their_owner(
    client: Client, tokens: dict[str, Any], make_product: Any
) -> None:
    chew = make_product(stock=20)
    shopper = tokens["shopper"]["access"]
    placed = [checkout(client, shopper, [{"product_id": chew.id, "quantity": 1}]).json_body["id"] for _ in range(3)]
    listed = client.http.get("/orders?limit=2", headers=bearer(shopper)).json_body
    assert [o["id"] for o in listed["items"]] == placed[::-1][:2]
    rest = client.http.get(f"/orders?limit=2&cursor={listed['next_cursor']}", headers=bearer(shopper)).json_body
    assert rest["items"][0]["id"] == placed[0]
    assert client.http.get(f"/orders/{placed[0]}", headers=bearer(shopper)).json_body["id"] == placed[0]
    admin = tokens["admin"]["access"]
    assert client.http.get(f"/orders/{placed[0]}", headers=bearer(admin)).status_code == 404
    assert placed[0] not in [
        o["id"] for o in client.http.get("/orders?limit=50", headers=bearer(admin)).json_body["items"]
    ]


def test_an_order_keeps_the_name_and_price_it_was_bought_at(
    client: Client, tokens: dict[str, Any], make_product: Any, shop_table: Any
) -> None:
    chew = make_product(price_cents=500, name="Original Name Chew")
    order = checkout(client, tokens["shopper"]["access"], [{"product_id": chew.id, "quantity": 1}]).json_body
    save_product(
        DynamoProductStore(shop_table),
        chew.model_copy(update={"name": "Renamed Chew", "price_cents": 900, "stock": 9}),
        create=False,
    )
    again = client.http.get(f"/orders/{order['id']}", headers=bearer(tokens["shopper"]["access"])).json_body
    assert (again["items"][0]["name"], again["items"][0]["unit_price_cents"]) == ("Original Name Chew", 500)


def test_cancel_restores_the_stock_once(
    client: Client, tokens: dict[str, Any], make_product: Any, shop_table: Any
) -> None:
    chew = make_product(stock=4)
    shopper = tokens["shopper"]["access"]
    order = checkout(client, shopper, [{"product_id": chew.id, "quantity": 3}]).json_body
    assert stock(shop_table, chew.id) == 1
    cancelled = client.http.post(f"/orders/{order['id']}/cancel", headers=bearer(shopper))
    assert cancelled.status_code == 200 and cancelled.json_body["status"] == "cancelled"
    assert stock(shop_table, chew.id) == 4
    again = client.http.post(f"/orders/{order['id']}/cancel", headers=bearer(shopper))
    assert again.status_code == 409
    assert stock(shop_table, chew.id) == 4
    other = client.http.post(f"/orders/{order['id']}/cancel", headers=bearer(tokens["admin"]["access"]))
    assert other.status_code == 404


def test_fifty_buyers_racing_for_ten_units_make_exactly_ten_orders(
    aws: str, tokens: dict[str, Any], make_product: Any, shop_table: Any
) -> None:
    """Threads against moto's server, each with its own boto3 session."""
    from chalicelib.orders.checkout import place_order
    from chalicelib.orders.order import OrderIn

    chew = make_product(stock=10)
    body = OrderIn.model_validate({"items": [{"product_id": chew.id, "quantity": 1}], "shipping_address": ADDRESS})
    outcomes: list[str] = []
    lock = threading.Lock()

    def buyer(n: int) -> None:
        table = boto3.session.Session().resource("dynamodb").Table(shop_table.name)
        try:
            place_order(DynamoOrderStore(table), f"racer-{n}", uuid.uuid4().hex, body)
            result = "ok"
        except Exception as exc:
            result = type(exc).__name__
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert outcomes.count("ok") == 10, outcomes
    assert set(outcomes) - {"ok"} == {"OutOfStock"}
    assert stock(shop_table, chew.id) == 0


def test_a_replay_storm_of_one_key_makes_one_order(aws: str, make_product: Any, shop_table: Any) -> None:
    from chalicelib.orders.checkout import list_orders, place_order
    from chalicelib.orders.order import OrderIn

    chew = make_product(stock=30)
    body = OrderIn.model_validate({"items": [{"product_id": chew.id, "quantity": 2}], "shipping_address": ADDRESS})
    user, key, ids = f"storm-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex, []
    lock = threading.Lock()

    def retry() -> None:
        table = boto3.session.Session().resource("dynamodb").Table(shop_table.name)
        order, _ = place_order(DynamoOrderStore(table), user, key, body)
        with lock:
            ids.append(order.id)

    threads = [threading.Thread(target=retry) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(ids) == 20 and len(set(ids)) == 1
    assert stock(shop_table, chew.id) == 28
    assert len(list_orders(DynamoOrderStore(shop_table), user, 50, None).items) == 1
