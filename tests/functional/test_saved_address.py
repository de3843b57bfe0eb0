"""The last shipping address, kept with the account: written by the purchase's
own transaction, read by GET /me/address (the Chalice test client against moto)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.platform import keys
from tests.support.api_calls import bearer

HOME = {
    "name": "Grace Hopper",
    "line1": "7 Compiler Court",
    "city": "Arlington",
    "postal_code": "22201",
    "country": "US",
}
WORK = {
    "name": "Grace Hopper",
    "line1": "1 Navy Yard",
    "line2": "Building 3",
    "city": "Washington",
    "postal_code": "20374",
    "country": "US",
}
NewShopper = Callable[[], str]


def answered(address: dict[str, str]) -> dict[str, str | None]:
    """An address as the API answers it (an order's too): ``line2`` is always there, null when not given."""
    return {"line2": None, **address}


@pytest.fixture()
def new_shopper(user_pool: dict[str, str]) -> Iterator[NewShopper]:
    """Access tokens of accounts made for one test (confirmed, no order yet), deleted after it."""
    cognito = boto3.client("cognito-idp")
    made: list[str] = []

    def make() -> str:
        email, password = f"saved-{uuid.uuid4().hex[:8]}@example.com", "Address-pass-1"
        cognito.admin_create_user(
            UserPoolId=user_pool["user_pool_id"],
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=user_pool["user_pool_id"], Username=email, Password=password, Permanent=True
        )
        made.append(email)
        result = cognito.initiate_auth(
            ClientId=user_pool["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return str(result["AuthenticationResult"]["AccessToken"])

    yield make
    for email in made:
        cognito.admin_delete_user(UserPoolId=user_pool["user_pool_id"], Username=email)


def order(client: Client, token: str, product_id: str, address: dict[str, str], quantity: int = 1) -> Any:
    body = {"items": [{"product_id": product_id, "quantity": quantity}], "shipping_address": address}
    headers = {**bearer(token), "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    return client.http.post("/orders", headers=headers, body=json.dumps(body))


def saved(client: Client, token: str) -> Any:
    response = client.http.get("/me/address", headers=bearer(token))
    assert response.status_code == 200, response.body
    return response.json_body["shipping_address"]


def test_an_account_without_orders_has_no_saved_address(client: Client, new_shopper: NewShopper) -> None:
    token = new_shopper()
    response = client.http.get("/me/address", headers=bearer(token))
    assert response.status_code == 200 and response.json_body == {"shipping_address": None}
    assert response.headers["Cache-Control"] == "no-store"


def test_an_order_keeps_its_address_with_the_account_in_the_same_transaction(
    client: Client, new_shopper: NewShopper, make_product: Any, table: Any, dynamo_calls: Any
) -> None:
    # GIVEN a shopper without orders
    token, product = new_shopper(), make_product(stock=5)
    dynamo_calls.clear()

    # WHEN they order to their home address
    assert order(client, token, product.id, HOME).status_code == 201

    # THEN the purchase wrote the address with the order, in its one transaction
    assert dynamo_calls.operations.count("TransactWriteItems") == 1
    assert not {"PutItem", "UpdateItem"} & set(dynamo_calls.operations)
    sub = client.http.get("/me", headers=bearer(token)).json_body["id"]
    item = table.get_item(Key=keys.account_key(sub), ConsistentRead=True)["Item"]
    assert item["shipping_address"] == HOME and item["address_used_at"]
    # AND GET /me/address offers it
    assert saved(client, token) == answered(HOME)


def test_the_next_order_replaces_the_saved_address(client: Client, new_shopper: NewShopper, make_product: Any) -> None:
    token, product = new_shopper(), make_product(stock=5)
    assert order(client, token, product.id, HOME).status_code == 201
    assert order(client, token, product.id, WORK).status_code == 201
    assert saved(client, token) == answered(WORK)
    orders = client.http.get("/orders", headers=bearer(token)).json_body["items"]
    assert len(orders) == 2  # the account item is not an order


def test_a_refused_order_leaves_the_saved_address_as_it_was(
    client: Client, new_shopper: NewShopper, make_product: Any
) -> None:
    token, product = new_shopper(), make_product(stock=1)
    assert order(client, token, product.id, HOME).status_code == 201
    refused = order(client, token, product.id, WORK, quantity=2)  # none left
    assert refused.status_code == 409
    assert saved(client, token) == answered(HOME)


def test_a_shoppers_address_is_theirs_alone(client: Client, new_shopper: NewShopper, make_product: Any) -> None:
    buyer, other, product = new_shopper(), new_shopper(), make_product()
    assert order(client, buyer, product.id, HOME).status_code == 201
    assert saved(client, other) is None


def test_without_a_token_the_address_is_api_gateways_401(client: Client) -> None:
    response = client.http.get("/me/address")
    assert response.status_code == 401 and response.json_body["code"] == "UNAUTHORIZED"


def test_the_saved_address_is_never_logged(
    client: Client,
    new_shopper: NewShopper,
    make_product: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    bootstrap.reset()
    token, product = new_shopper(), make_product()
    capsys.readouterr()
    assert order(client, token, product.id, HOME).status_code == 201
    assert saved(client, token) == answered(HOME)
    written = capsys.readouterr().out
    routes = [json.loads(line).get("route") for line in written.splitlines() if line.startswith("{")]
    assert "GET /me/address" in routes and "POST /orders" in routes
    assert HOME["line1"] not in written and HOME["name"] not in written and HOME["postal_code"] not in written
    bootstrap.reset()
