"""The stream handler: confirmations, low-stock alerts, sales counters; and the index following stock.

Batches are built from the items really written (read back in DynamoDB's wire
format), as the table's stream carries them, and handed to the app's handler
as Lambda would; each is delivered twice to prove at-least-once is harmless.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.orders import follow_ups as events
from chalicelib.orders.checkout import cancel_order, place_order
from chalicelib.orders.follow_ups import event_settings_from_env
from chalicelib.orders.order import OrderIn
from chalicelib.orders.order_table import DynamoOrderStore
from chalicelib.platform import keys
from tests.support.stream_records import deliver, record, wire_item
from tests.support.waiting import eventually

ADDRESS = {"name": "Ada", "line1": "1 Lane", "city": "Town", "postal_code": "1234", "country": "US"}


@pytest.fixture()
def alerts_queue(events_env: dict[str, str]) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"alerts-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=events_env["LOW_STOCK_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)
    return str(url)


@pytest.fixture()
def product(make_product: Any) -> Any:
    def make(stock: int) -> Any:
        return make_product(stock=stock, price_cents=300, name="Events Test Treat", species="cat")

    return make


def sent_messages(to: str) -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages if to in json.dumps(m.destinations)]


def sales(table: Any, product_id: str) -> dict[str, int]:
    item = table.get_item(Key=keys.sales_key(product_id), ConsistentRead=True).get("Item", {})
    return {k: int(item.get(k, 0)) for k in ("units_sold", "revenue_cents", "orders")}


def test_an_order_counts_and_confirms_once_however_often_it_is_delivered(
    client: Client, events_env: dict[str, str], table: Any, product: Any
) -> None:
    treat = product(stock=20)
    buyer = f"buyer-{uuid.uuid4().hex[:6]}@example.com"
    body = OrderIn.model_validate({"items": [{"product_id": treat.id, "quantity": 3}], "shipping_address": ADDRESS})
    order, _ = place_order(DynamoOrderStore(table), "events-user", uuid.uuid4().hex, body, email=buyer)
    batch = [record("INSERT", wire_item(table, keys.order_key("events-user", order.id)))]
    deliver(client, batch)
    deliver(client, batch)  # at-least-once: the same batch again
    assert sales(table, treat.id) == {"units_sold": 3, "revenue_cents": 900, "orders": 1}
    messages = sent_messages(buyer)
    assert len(messages) == 1 and order.id in messages[0].subject and "$9.00" in messages[0].body

    before = wire_item(table, keys.order_key("events-user", order.id))
    cancel_order(DynamoOrderStore(table), "events-user", order.id)
    cancelled = [record("MODIFY", wire_item(table, keys.order_key("events-user", order.id)), before)]
    deliver(client, cancelled)
    deliver(client, cancelled)
    assert sales(table, treat.id) == {"units_sold": 0, "revenue_cents": 0, "orders": 0}


def test_falling_under_the_threshold_alerts_once(
    client: Client, events_env: dict[str, str], table: Any, product: Any, alerts_queue: str
) -> None:
    treat = product(stock=6)
    before = wire_item(table, keys.product_key(treat.id))
    body = OrderIn.model_validate({"items": [{"product_id": treat.id, "quantity": 2}], "shipping_address": ADDRESS})
    place_order(DynamoOrderStore(table), "events-user", uuid.uuid4().hex, body)
    batch = [record("MODIFY", wire_item(table, keys.product_key(treat.id)), before)]
    deliver(client, batch)
    deliver(client, batch)
    messages = boto3.client("sqs").receive_message(QueueUrl=alerts_queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    assert f"({treat.id}): 4 left" in json.loads(messages[0]["Body"])["Message"]


def test_selling_out_is_followed_by_the_search_indexs_in_stock_filter(client: Client, table: Any, product: Any) -> None:
    # GIVEN a product with one unit left, in the index
    treat = product(stock=1)
    listed = "/products?brand=Testbrand&in_stock=true&limit=100"
    eventually(lambda: treat.id in [p["id"] for p in client.http.get(listed).json_body["items"]])
    # WHEN the last unit is bought
    body = OrderIn.model_validate({"items": [{"product_id": treat.id, "quantity": 1}], "shipping_address": ADDRESS})
    place_order(DynamoOrderStore(table), "events-user", uuid.uuid4().hex, body)
    # THEN the indexer, from the stream, moves it out of the in-stock results and into the others
    sold_out = "/products?brand=Testbrand&in_stock=false&limit=100"
    eventually(lambda: treat.id in [p["id"] for p in client.http.get(sold_out).json_body["items"]])
    assert treat.id not in [p["id"] for p in client.http.get(listed).json_body["items"]]


# -- one record cannot jam the stream ------------------------------------------------
@pytest.fixture()
def failed_records(events_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A failed-records queue of this test alone, set as the stage's."""
    url = str(boto3.client("sqs").create_queue(QueueName=f"failed-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    monkeypatch.setenv("FAILED_RECORDS_QUEUE_URL", url)
    bootstrap.reset()
    return url


def queued(url: str) -> list[dict[str, Any]]:
    """Every message in the queue, read back from the embedded SQS."""
    sqs, bodies = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in batch]
    return bodies


def ordered(table: Any, treat: Any, email: str) -> tuple[Any, dict[str, Any]]:
    """An order of one treat by ``email``, and the INSERT record of its item."""
    body = OrderIn.model_validate({"items": [{"product_id": treat.id, "quantity": 1}], "shipping_address": ADDRESS})
    order, _ = place_order(DynamoOrderStore(table), "events-user", uuid.uuid4().hex, body, email=email)
    return order, record("INSERT", wire_item(table, keys.order_key("events-user", order.id)))


def test_a_confirmation_ses_rejects_is_recorded_once_and_the_rest_of_the_batch_goes_on(
    client: Client, table: Any, product: Any, failed_records: str, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN three orders, the second to an address SES refuses (no domain)
    treat = product(stock=20)
    first, second = (f"buyer-{uuid.uuid4().hex[:6]}@example.com" for _ in range(2))
    refused = f"buyer-{uuid.uuid4().hex[:6]}"
    (_, r1), (poison, r2), (_, r3) = (ordered(table, treat, email) for email in (first, refused, second))

    # WHEN the batch is delivered, and delivered again
    responses = [deliver(client, [r1, r2, r3]), deliver(client, [r1, r2, r3])]

    # THEN nothing is retried, every order counts once, the others are confirmed once
    assert responses == [{"batchItemFailures": []}] * 2
    assert sales(table, treat.id)["orders"] == 3
    assert len(sent_messages(first)) == 1 and len(sent_messages(second)) == 1
    assert sent_messages(refused) == []
    # AND the refused record is in the queue once, with ids and the code only
    [recorded] = queued(failed_records)
    assert recorded["eventID"] == r2["eventID"] and recorded["sequenceNumber"] == r2["dynamodb"]["SequenceNumber"]
    assert recorded["eventName"] == "INSERT" and recorded["error"] == "InvalidParameterValue"
    assert recorded["keys"]["SK"] == f"ORDER#{poison.id}" and recorded["timestamp"]
    assert refused not in json.dumps(recorded) and ADDRESS["line1"] not in json.dumps(recorded)
    logged = json.dumps([{"message": r.getMessage(), **getattr(r, "fields", {})} for r in caplog.records])
    assert poison.id in logged and refused not in logged and "events-user" not in logged
    assert first not in logged


def test_an_unverified_sender_is_recorded_not_retried(
    client: Client, table: Any, product: Any, failed_records: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_FROM", "orders@unverified.example.org")  # SES answers MessageRejected
    bootstrap.reset()
    buyer = f"buyer-{uuid.uuid4().hex[:6]}@example.com"
    _, r1 = ordered(table, product(stock=5), buyer)
    assert deliver(client, [r1]) == {"batchItemFailures": []}
    [recorded] = queued(failed_records)
    assert recorded["error"] == "MessageRejected" and buyer not in json.dumps(recorded)
    assert sent_messages(buyer) == []


def test_a_malformed_record_is_recorded_and_the_next_one_handled(
    client: Client, table: Any, product: Any, failed_records: str
) -> None:
    treat = product(stock=20)
    malformed = record("INSERT", {"PK": {"S": "USER#x"}, "SK": {"S": "ORDER#x"}, "status": {"Q": "placed"}})
    _, good = ordered(table, treat, f"buyer-{uuid.uuid4().hex[:6]}@example.com")
    assert deliver(client, [malformed, good]) == {"batchItemFailures": []}
    assert sales(table, treat.id)["orders"] == 1
    [recorded] = queued(failed_records)
    assert recorded["eventID"] == malformed["eventID"] and recorded["error"] == "TypeError"


def test_a_throttled_write_is_returned_for_retry_and_not_recorded(
    client: Client, table: Any, product: Any, failed_records: str
) -> None:
    from botocore.stub import Stubber

    from chalicelib.orders.event_ledger import DynamoEventLedger

    # GIVEN the handler's table answers the counters' transaction with a throttle
    _, placed = ordered(table, product(stock=20), f"buyer-{uuid.uuid4().hex[:6]}@example.com")
    throttled = boto3.resource("dynamodb").Table(table.name)
    stubber = Stubber(throttled.meta.client)
    stubber.add_client_error("transact_write_items", "ProvisionedThroughputExceededException", http_status_code=400)
    deps = events.EventDeps(
        ledger=DynamoEventLedger(throttled),
        ses=bootstrap.get_ses,
        sns=bootstrap.get_sns,
        sqs=bootstrap.get_sqs,
        settings=event_settings_from_env(),
        clock=time.time,
    )
    # WHEN the record is handled
    with stubber:
        report = events.handle_records([placed], deps)
    # THEN Lambda is asked to deliver it again, and nothing is recorded as failed
    stubber.assert_no_pending_responses()
    assert report.lambda_response() == {"batchItemFailures": [{"itemIdentifier": placed["dynamodb"]["SequenceNumber"]}]}
    assert report.dead_lettered == 0 and queued(failed_records) == []


def test_without_a_queue_a_permanent_failure_is_retried_rather_than_lost(
    client: Client, events_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAILED_RECORDS_QUEUE_URL", raising=False)
    bootstrap.reset()
    malformed = record("INSERT", {"PK": {"S": "USER#x"}, "SK": {"S": "ORDER#x"}, "status": {"Q": "placed"}})
    assert deliver(client, [malformed]) == {
        "batchItemFailures": [{"itemIdentifier": malformed["dynamodb"]["SequenceNumber"]}]
    }
