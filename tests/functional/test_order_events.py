"""The stream handler: confirmations, low-stock alerts, sales counters, stock flags.

Batches are built from the items really written (read back in DynamoDB's wire
format), as the table's stream carries them, and handed to the app's handler
as Lambda would; each is delivered twice to prove at-least-once is harmless.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap, keys
from chalicelib.models import OrderIn
from chalicelib.orders import cancel_order, place_order
from scripts.resources import create_notifications

ADDRESS = {"name": "Ada", "line1": "1 Lane", "city": "Town", "postal_code": "1234", "country": "US"}


@pytest.fixture(scope="session")
def notifications(aws: str) -> dict[str, str]:
    return create_notifications(f"events-{uuid.uuid4().hex[:6]}")


@pytest.fixture()
def events_env(client: Client, notifications: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in notifications.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    return notifications


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


def wire_item(table: Any, key: dict[str, str]) -> dict[str, Any]:
    """An item in DynamoDB's wire format, as stream records carry images."""
    from boto3.dynamodb.types import TypeSerializer

    item = table.get_item(Key=key, ConsistentRead=True)["Item"]
    return {k: TypeSerializer().serialize(v) for k, v in item.items()}


def record(event: str, new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    images = {"NewImage": new, **({"OldImage": old} if old else {})}
    return {"eventID": uuid.uuid4().hex, "eventName": event, "eventSource": "aws:dynamodb", "dynamodb": images}


def deliver(client: Client, records: list[dict[str, Any]]) -> None:
    """Invoke the stream handler as Lambda would, with the stage's environment."""
    client.lambda_.invoke("handle_table_stream", {"Records": records})


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
    order, _ = place_order(table, "events-user", uuid.uuid4().hex, body, email=buyer)
    batch = [record("INSERT", wire_item(table, keys.order_key("events-user", order.id)))]
    deliver(client, batch)
    deliver(client, batch)  # at-least-once: the same batch again
    assert sales(table, treat.id) == {"units_sold": 3, "revenue_cents": 900, "orders": 1}
    messages = sent_messages(buyer)
    assert len(messages) == 1 and order.id in messages[0].subject and "$9.00" in messages[0].body

    before = wire_item(table, keys.order_key("events-user", order.id))
    cancel_order(table, "events-user", order.id)
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
    place_order(table, "events-user", uuid.uuid4().hex, body)
    batch = [record("MODIFY", wire_item(table, keys.product_key(treat.id)), before)]
    deliver(client, batch)
    deliver(client, batch)
    messages = boto3.client("sqs").receive_message(QueueUrl=alerts_queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    assert f"({treat.id}): 4 left" in json.loads(messages[0]["Body"])["Message"]


def test_selling_out_clears_the_in_stock_flag_of_every_index_entry(
    client: Client, events_env: dict[str, str], table: Any, product: Any
) -> None:
    treat = product(stock=1)
    before = wire_item(table, keys.product_key(treat.id))
    body = OrderIn.model_validate({"items": [{"product_id": treat.id, "quantity": 1}], "shipping_address": ADDRESS})
    place_order(table, "events-user", uuid.uuid4().hex, body)
    deliver(client, [record("MODIFY", wire_item(table, keys.product_key(treat.id)), before)])
    index_keys = table.get_item(Key=keys.product_key(treat.id))["Item"]["index_keys"]
    flags = {table.get_item(Key={"PK": pk, "SK": sk})["Item"]["in_stock"] for pk, sk in index_keys}
    assert flags == {False}
