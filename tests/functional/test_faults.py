"""Faults injected under the real app: DynamoDB throttling and a JWKS endpoint
that never answers. Busy AWS is retried (bounded), then a 503 with
Retry-After; nothing is half-written; a dead JWKS is a prompt 401."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.accounts.verifier import JWKS_TIMEOUT_S
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.catalog.products import get_product
from chalicelib.orders.checkout import list_orders
from chalicelib.orders.order_table import DynamoOrderStore
from tests.functional.conftest import AwsFaults
from tests.support.api_calls import bearer

ADDRESS = {"name": "Ada Shopper", "line1": "1 Kibble Lane", "city": "Springfield", "postal_code": "1", "country": "US"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def assert_busy(response: Any) -> None:
    assert response.status_code == 503, response.body
    assert response.json_body["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Cache-Control"] == "no-store"


def buy(client: Client, token: str, product_id: str, key: str) -> Any:
    headers = {**bearer(token), "Content-Type": "application/json", "Idempotency-Key": key}
    body = {"items": [{"product_id": product_id, "quantity": 2}], "shipping_address": ADDRESS}
    return client.http.post("/orders", headers=headers, body=json.dumps(body))


def test_a_throttled_product_read_is_retried_then_a_503_with_retry_after(
    client: Client, aws_faults: AwsFaults, make_product: Any
) -> None:
    chew = make_product()
    aws_faults.throttle("GetItem")
    assert_busy(client.http.get(f"/products/{chew.id}"))
    assert aws_faults.attempts["GetItem"] == bootstrap.AWS_MAX_ATTEMPTS
    aws_faults.clear()
    assert client.http.get(f"/products/{chew.id}").status_code == 200


def test_a_throttled_search_is_a_503_with_retry_after(client: Client, aws_faults: AwsFaults) -> None:
    # The index answers which products; the page's prices and stock come from the table.
    aws_faults.throttle("BatchGetItem")
    assert_busy(client.http.get("/products?q=salmon"))
    assert aws_faults.attempts["BatchGetItem"] == bootstrap.AWS_MAX_ATTEMPTS


@pytest.fixture()
def shopper(tokens: dict[str, Any]) -> str:
    return str(tokens["shopper"]["access"])


def test_a_failing_database_is_a_503_for_a_signed_in_read(client: Client, aws_faults: AwsFaults, shopper: str) -> None:
    aws_faults.fail("Query", "InternalServerError", status=500)
    assert_busy(client.http.get("/orders", headers=bearer(shopper)))
    assert aws_faults.attempts["Query"] == bootstrap.AWS_MAX_ATTEMPTS


@pytest.mark.parametrize(
    "fault",
    [
        {"code": "ProvisionedThroughputExceededException"},
        {
            "code": "TransactionCanceledException",
            "CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}, {"Code": "None"}],
        },
    ],
    ids=["whole request", "one item"],
)
def test_a_throttled_purchase_is_a_503_and_writes_nothing_and_its_key_stays_usable(
    client: Client,
    aws_faults: AwsFaults,
    dynamo_calls: Any,
    make_product: Any,
    table: Any,
    shopper: str,
    fault: dict[str, Any],
) -> None:
    chew = make_product(stock=5)
    key, sub = uuid.uuid4().hex, client.http.get("/me", headers=bearer(shopper)).json_body["id"]
    orders_before = len(list_orders(DynamoOrderStore(table), sub, 50, None).items)
    aws_faults.fail("TransactWriteItems", **fault)
    dynamo_calls.clear()

    assert_busy(buy(client, shopper, chew.id, key))

    assert [op for op in dynamo_calls.operations if op in WRITES] == ["TransactWriteItems"]
    assert get_product(DynamoProductStore(table), chew.id).stock == 5
    assert len(list_orders(DynamoOrderStore(table), sub, 50, None).items) == orders_before
    aws_faults.clear()
    retried = buy(client, shopper, chew.id, key)
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "false"
    assert get_product(DynamoProductStore(table), chew.id).stock == 3


@pytest.fixture()
def silent_jwks() -> Iterator[str]:
    """A JWKS URL whose server takes the connection and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # connections wait in the backlog: never accepted, never answered
        yield f"http://127.0.0.1:{server.getsockname()[1]}/.well-known/jwks.json"


def test_a_jwks_endpoint_that_never_answers_is_a_401_within_its_timeout(
    client: Client, shopper: str, silent_jwks: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_JWKS_URL", silent_jwks)
    bootstrap.reset()  # a new verifier, with no keys cached
    started = time.monotonic()
    pool = ThreadPoolExecutor(1)
    try:
        answer = pool.submit(client.http.get, "/me", headers=bearer(shopper))
        response = answer.result(timeout=JWKS_TIMEOUT_S + 20)  # a hang fails here instead of blocking
    finally:
        pool.shutdown(wait=False)
    elapsed = time.monotonic() - started
    assert response.status_code == 401, response.body
    assert response.json_body["code"] == "UNAUTHORIZED"
    assert JWKS_TIMEOUT_S <= elapsed < JWKS_TIMEOUT_S + 10
