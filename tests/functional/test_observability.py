"""What the shop writes about itself: one JSON line per request or batch, no
personal data, and the metrics its alarms and dashboard read (EMF on stdout,
as CloudWatch Logs receives them from Lambda)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.platform import keys
from chalicelib.platform.observability import caller_hash
from tests.support.api_calls import bearer
from tests.support.ports import free_port
from tests.support.stream_records import deliver, record, wire_item

ADDRESS = {"name": "Ada Lovelace", "line1": "12 Analytical Row", "city": "Town", "postal_code": "1234", "country": "US"}
Output = Callable[[], list[dict[str, Any]]]


@pytest.fixture()
def output(client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Output]:
    """Every line the app writes to stdout during the test, parsed (each must be JSON)."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    bootstrap.reset()
    capsys.readouterr()
    seen: list[str] = []

    def lines() -> list[dict[str, Any]]:
        seen.extend(line for line in capsys.readouterr().out.splitlines() if line.strip())
        return [json.loads(line) for line in seen]

    yield lines
    bootstrap.reset()


def requests_logged(lines: list[dict[str, Any]], route: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("message") == "request" and line.get("route") == route]


def emf(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The EMF documents that carry ``name``, checked to be ones CloudWatch accepts."""
    found = []
    for line in lines:
        directives = line.get("_aws", {}).get("CloudWatchMetrics", [])
        if any(m["Name"] == name for d in directives for m in d["Metrics"]):
            [directive] = directives
            assert directive["Namespace"] == "PetStore" and ["Stage"] in directive["Dimensions"]
            assert isinstance(line["_aws"]["Timestamp"], int) and line["Stage"] == "local"
            found.append(line)
    return found


def sub_of(access_token: str) -> str:
    return str(jwt.decode(access_token, options={"verify_signature": False})["sub"])


def test_a_request_line_names_the_request_and_the_caller_only_by_a_hash(
    client: Client, output: Output, tokens: dict[str, dict[str, str]]
) -> None:
    # GIVEN a shopper, signed in
    token = tokens["shopper"]["access"]
    sub = sub_of(token)

    # WHEN they ask who they are (the answer holds her email)
    response = client.http.get("/me", headers=bearer(token))

    # THEN one line tells the request, with every field
    assert response.status_code == 200
    lines = output()
    [line] = requests_logged(lines, "GET /me")
    assert line["level"] == "INFO" and line["function"] == "purchase" and line["status"] == 200
    assert line["outcome"] == "ok" and isinstance(line["cold_start"], bool)
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert line["request_id"] and "api_request_id" in line
    assert line["caller"] == caller_hash(sub, "local") and len(line["caller"]) == 16
    # AND nothing written names them: no token, no email, no sub
    written = json.dumps(lines)
    assert token not in written and token.split(".")[1] not in written
    assert response.json_body["email"] not in written and "shopper@" not in written and sub not in written


def test_an_order_counts_its_value_and_a_replay_counts_as_one_without_the_address_logged(
    client: Client, output: Output, tokens: dict[str, dict[str, str]], make_product: Any
) -> None:
    # GIVEN a product at $12.50
    product = make_product(stock=10, price_cents=1250)
    body = json.dumps({"items": [{"product_id": product.id, "quantity": 2}], "shipping_address": ADDRESS})
    headers = {**bearer(tokens["shopper"]["access"]), "Idempotency-Key": uuid.uuid4().hex}

    # WHEN the shopper orders two, and the browser sends the same order again
    placed = client.http.post("/orders", headers=headers, body=body)
    replayed = client.http.post("/orders", headers=headers, body=body)

    # THEN the first counts an order worth 2500 cents, the second a replay
    assert placed.status_code == replayed.status_code == 201
    lines = output()
    [first, second] = requests_logged(lines, "POST /orders")
    assert first["status"] == second["status"] == 201 and first["caller"] == second["caller"]
    [orders] = emf(lines, "OrdersPlaced")
    assert orders["OrdersPlaced"] == 1 and orders["OrderValueCents"] == 2500
    [replay] = emf(lines, "IdempotentReplays")
    assert replay["IdempotentReplays"] == 1 and "OrdersPlaced" not in replay
    # AND the shipping address is in no line
    written = json.dumps(lines)
    assert ADDRESS["name"] not in written and ADDRESS["line1"] not in written


def test_an_order_out_of_stock_counts_a_refusal(
    client: Client, output: Output, tokens: dict[str, dict[str, str]], make_product: Any
) -> None:
    product = make_product(stock=1)
    body = json.dumps({"items": [{"product_id": product.id, "quantity": 3}], "shipping_address": ADDRESS})
    headers = {**bearer(tokens["shopper"]["access"]), "Idempotency-Key": uuid.uuid4().hex}

    response = client.http.post("/orders", headers=headers, body=body)

    assert response.status_code == 409
    lines = output()
    [line] = requests_logged(lines, "POST /orders")
    assert line["outcome"] == "out_of_stock" and line["level"] == "INFO"
    [refusal] = emf(lines, "OutOfStockRefusals")
    assert refusal["OutOfStockRefusals"] == 1 and not emf(lines, "OrdersPlaced")


def test_a_failing_table_answers_500_counts_a_server_error_and_logs_the_stack(
    client: Client, output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a region where DynamoDB has no such table (a stage wired wrong)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    bootstrap.reset()

    # WHEN a shopper searches
    response = client.http.get("/products?q=dog")

    # THEN a plain 500, and the ServerErrors metric the alarm watches
    assert response.status_code == 500 and response.json_body["code"] == "internal_error"
    assert "petstore-local" not in response.body.decode() and "Traceback" not in response.body.decode()
    lines = output()
    [metric] = emf(lines, "ServerErrors")
    assert metric["ServerErrors"] == 1
    # AND the log has the error's type and stack, tied to the request, then the request line at ERROR
    [error] = [line for line in lines if line.get("error_type")]
    assert error["level"] == "ERROR" and error["error_type"] == "ResourceNotFoundException"
    assert "Traceback" in error["stack"] and error["route"] == "GET /products"
    [line] = requests_logged(lines, "GET /products")
    assert line["level"] == "ERROR" and line["status"] == 500 and line["outcome"] == "internal_error"
    assert line["request_id"] == error["request_id"]


def test_an_unreachable_table_answers_503_and_still_counts_a_server_error(
    client: Client, output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN DynamoDB out of reach (nothing listens on its endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{free_port()}")
    bootstrap.reset()

    # WHEN a shopper searches
    response = client.http.get("/products?q=dog")

    # THEN 503 with Retry-After, and the failure is counted for the alarm all the same
    assert response.status_code == 503 and response.headers["Retry-After"]
    [metric] = emf(output(), "ServerErrors")
    assert metric["ServerErrors"] == 1


def test_a_refused_token_is_logged_with_its_reason_and_counted_not_an_error(
    client: Client, output: Output, tokens: dict[str, dict[str, str]]
) -> None:
    # GIVEN an ID token, where the API takes access tokens only
    token = tokens["shopper"]["id"]

    # WHEN it is presented
    response = client.http.get("/me", headers=bearer(token))

    # THEN a 401; the authorizer's line says why, at INFO
    assert response.status_code == 401
    lines = output()
    [line] = [line for line in lines if line.get("message") == "authorizer"]
    assert line["level"] == "INFO" and line["outcome"] == "token_refused" and line["reason"] == "wrong_token_use"
    assert line["function"] == "authorizer" and line["route"] == "GET /me"
    assert not [other for other in lines if other.get("level") == "ERROR"]
    # AND TokensRefused is counted by stage and by reason
    [metric] = emf(lines, "TokensRefused")
    assert metric["TokensRefused"] == 1 and metric["Reason"] == "wrong_token_use"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"], ["Stage", "Reason"]]
    assert token not in json.dumps(lines) and sub_of(tokens["shopper"]["access"]) not in json.dumps(lines)


def test_a_search_counts_its_latency_and_items_read(client: Client, output: Output) -> None:
    response = client.http.get("/products?q=dog&limit=5")

    assert response.status_code == 200
    [metric] = emf(output(), "SearchLatency")
    assert metric["SearchLatency"] >= 0 and metric["SearchItemsRead"] >= len(response.json_body["items"]) > 0
    assert {m["Name"]: m["Unit"] for m in metric["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "SearchLatency": "Milliseconds",
        "SearchItemsRead": "Count",
    }


def test_a_stream_batch_logs_one_line_with_its_counts(
    client: Client, output: Output, make_product: Any, table: Any
) -> None:
    # GIVEN a batch of a product's stock change and a record no handler can read
    product = make_product(stock=10)
    item = wire_item(table, keys.product_key(product.id))
    changed = record("MODIFY", {**item, "stock": {"N": "0"}}, item)
    broken = record("INSERT", {"PK": {"S": "USER#someone"}, "SK": {"S": "ORDER#x"}, "status": {"S": "placed"}})

    # WHEN it is delivered
    answer = deliver(client, [changed, broken])

    # THEN one line counts the records, what they did and what failed
    lines = output()
    [line] = [line for line in lines if line.get("message") == "stream batch"]
    assert line["records"] == 2 and line["function"] == "order_events"
    assert {"counted": 0, "uncounted": 0, "confirmed": 0, "alerts": 0}.items() <= line.items()
    assert line["retry"] + line["dead_lettered"] == 1 and line["outcome"] == "records_failed"
    assert line["level"] == "WARNING" and isinstance(line["latency_ms"], float)
    assert len(answer["batchItemFailures"]) == line["retry"]
    # AND the failed record counts once, and its owner is logged by hash only
    [failed] = emf(lines, "StreamRecordsFailed")
    assert failed["StreamRecordsFailed"] == 1
    [failure] = [line for line in lines if line.get("message") == "stream record failed"]
    assert failure["keys"]["PK"] == "USER#" + caller_hash("someone", "local")
    assert "someone" not in json.dumps(lines)
