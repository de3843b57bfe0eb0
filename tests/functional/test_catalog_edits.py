"""Admin edits against purchases: edits condition only on the version an
admin saw (which purchases never bump), so they never conflict with buyers,
while a second admin's stale edit is refused."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import boto3
from chalice.test import Client

from chalicelib.catalog.product import ProductUpdate
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.catalog.products import get_product, update_product
from chalicelib.orders.checkout import place_order
from chalicelib.orders.order import OrderIn
from chalicelib.orders.order_table import DynamoOrderStore
from tests.support.api_calls import bearer

ADDRESS = {"name": "Ada", "line1": "1 Lane", "city": "Town", "postal_code": "1234", "country": "US"}


def edit_fields(product: Any, **changes: Any) -> dict[str, Any]:
    fields = product.model_dump(mode="json", exclude={"id", "version", "stock", "image", "photos"})
    return {**fields, **changes}


def test_five_admin_edits_racing_fifteen_buyers_all_land_and_no_purchase_is_lost(
    aws: str, make_product: Any, table: Any
) -> None:
    chew = make_product(stock=100)
    body = OrderIn.model_validate({"items": [{"product_id": chew.id, "quantity": 1}], "shipping_address": ADDRESS})
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def buyer(n: int) -> None:
        own = boto3.session.Session().resource("dynamodb").Table(table.name)
        start.wait()
        try:
            place_order(DynamoOrderStore(own), f"edit-racer-{n}", uuid.uuid4().hex, body)
            result = "ok"
        except Exception as exc:
            result = type(exc).__name__
        with lock:
            outcomes.append(("buy", result))

    def admin(n: int) -> None:
        own = boto3.session.Session().resource("dynamodb").Table(table.name)
        start.wait()
        fields = ProductUpdate.model_validate(edit_fields(chew, name=f"Edited Chew {n}", description=f"Edit {n}."))
        try:
            update_product(DynamoProductStore(own), chew.id, fields)
            result = "ok"
        except Exception as exc:
            result = type(exc).__name__
        with lock:
            outcomes.append(("edit", result))

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(15)]
    threads += [threading.Thread(target=admin, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == sorted([("buy", "ok")] * 15 + [("edit", "ok")] * 5), outcomes
    after = get_product(DynamoProductStore(table), chew.id)
    assert after.stock == 100 - 15  # every purchase counted, none undone by an edit
    assert after.name in {f"Edited Chew {n}" for n in range(5)} and after.version == chew.version + 5


def test_a_second_admins_edit_on_a_stale_copy_is_a_409_and_a_purchase_does_not_make_it_stale(
    client: Client, tokens: dict[str, Any], make_product: Any, table: Any
) -> None:
    # GIVEN two admins who loaded the same product
    chew = make_product(stock=5)
    loaded = client.http.get(f"/products/{chew.id}").json_body
    headers = {
        **bearer(tokens["admin"]["access"]),
        "Content-Type": "application/json",
        "If-Match": f'"{loaded["version"]}"',
    }
    # AND a shopper buys one meanwhile (the version does not move)
    place_order(
        DynamoOrderStore(table),
        "edits-buyer",
        uuid.uuid4().hex,
        OrderIn.model_validate({"items": [{"product_id": chew.id, "quantity": 1}], "shipping_address": ADDRESS}),
    )
    # WHEN the first saves a new price, then the second a new price from the same copy
    first = client.http.put(
        f"/products/{chew.id}", headers=headers, body=json.dumps(edit_fields(chew, price_cents=1999))
    )
    second = client.http.put(f"/products/{chew.id}", headers=headers, body=json.dumps(edit_fields(chew, price_cents=1)))
    # THEN the first lands (and keeps the purchase), the second is a 409 naming If-Match
    assert first.status_code == 200, first.body
    assert first.json_body["price_cents"] == 1999 and first.json_body["stock"] == 4
    assert first.json_body["version"] == loaded["version"] + 1
    assert second.status_code == 409 and second.json_body["field"] == "If-Match"
    assert get_product(DynamoProductStore(table), chew.id).price_cents == 1999


def test_an_if_match_that_is_not_a_version_is_a_400_naming_it(
    client: Client, tokens: dict[str, Any], make_product: Any
) -> None:
    chew = make_product()
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json", "If-Match": "abc"}
    response = client.http.put(f"/products/{chew.id}", headers=headers, body=json.dumps(edit_fields(chew)))
    assert response.status_code == 400 and response.json_body["field"] == "If-Match"


def test_a_product_read_edited_and_sent_back_with_its_version_is_refused_once_stale(
    client: Client, tokens: dict[str, Any], make_product: Any
) -> None:
    chew = make_product()
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    read = {k: v for k, v in client.http.get(f"/products/{chew.id}").json_body.items() if k not in {"id", "stock"}}
    first = client.http.put(f"/products/{chew.id}", headers=headers, body=json.dumps({**read, "name": "Chew One"}))
    stale = client.http.put(f"/products/{chew.id}", headers=headers, body=json.dumps({**read, "name": "Chew Two"}))
    assert first.status_code == 200 and stale.status_code == 409, (first.body, stale.body)
    assert client.http.get(f"/products/{chew.id}").json_body["name"] == "Chew One"
