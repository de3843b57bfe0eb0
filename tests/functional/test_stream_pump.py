"""The local stream pump retries, bisects and gives up as Lambda's mapping does.

Each test writes its records to a table of its own before the pump starts
from the stream's beginning (TRIM_HORIZON), so the first batch holds all of
them; the pump's outcomes are awaited with a timeout, never slept for.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.orders.follow_ups import STREAM_POLICY
from localdev.resources import create_table
from localdev.stream_pump import StreamPump

WAIT_S = 30


@pytest.fixture()
def stream_table(aws: str) -> str:
    name = f"pump-{uuid.uuid4().hex[:8]}"
    create_table(boto3.client("dynamodb"), name)
    return name


@pytest.fixture()
def queue(aws: str) -> str:
    return str(boto3.client("sqs").create_queue(QueueName=f"on-failure-{uuid.uuid4().hex[:8]}")["QueueUrl"])


class Handler:
    """Stands in for handle_table_stream: notes each batch, fails on ``poison``."""

    def __init__(self, poison: str, raises: bool = False) -> None:
        self.poison, self.raises = poison, raises
        self.batches: list[list[str]] = []
        self.sequence: dict[str, str] = {}

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event["Records"]
        names = [r["dynamodb"]["Keys"]["PK"]["S"] for r in records]
        self.batches.append(names)
        self.sequence.update({n: r["dynamodb"]["SequenceNumber"] for n, r in zip(names, records, strict=True)})
        if self.poison in names and self.raises:
            raise RuntimeError("the handler failed")
        return {"batchItemFailures": [{"itemIdentifier": self.sequence[self.poison]}] if self.poison in names else []}

    def deliveries(self, name: str) -> int:
        return sum(name in batch for batch in self.batches)


@pytest.fixture()
def pumps() -> Iterator[list[StreamPump]]:
    started: list[StreamPump] = []
    yield started
    for pump in started:
        pump.stop()


def start(pumps: list[StreamPump], table: str, handler: Handler, queue: str, **options: Any) -> StreamPump:
    pump = StreamPump(
        table,
        handler,
        interval_s=0.05,
        failed_records_queue_url=queue,
        retry_backoff_s=0,
        starting_position="TRIM_HORIZON",
        **options,
    )
    pumps.append(pump.start())
    return pump


def put(table: str, *names: str) -> None:
    for name in names:
        boto3.client("dynamodb").put_item(TableName=table, Item={"PK": {"S": name}, "SK": {"S": "ITEM"}})


def on_failure_records(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_record_reported_as_failed_is_retried_then_recorded_and_the_shard_moves_on(
    stream_table: str, queue: str, pumps: list[StreamPump]
) -> None:
    # GIVEN a handler that always reports the second record as failed
    put(stream_table, "a", "poison", "b")
    handler = Handler("poison")
    pump = start(pumps, stream_table, handler, queue)

    # WHEN the pump has given up on it, and a later record is written
    assert pump.wait_until(lambda: pump.given_up == 1, WAIT_S)
    put(stream_table, "c")
    assert pump.wait_until(lambda: handler.deliveries("c") == 1, WAIT_S)

    # THEN it was delivered once and retried maximum_retry_attempts times
    assert handler.deliveries("poison") == 1 + STREAM_POLICY.maximum_retry_attempts
    assert handler.deliveries("a") == 1  # checkpointed before the failed record
    assert handler.batches[-2:] == [["b"], ["c"]]
    # AND the queue holds Lambda's on-failure record of it alone
    [failure] = on_failure_records(queue)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1 + STREAM_POLICY.maximum_retry_attempts
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == handler.sequence["poison"]
    assert info["batchSize"] == 1 and info["shardId"] and f":table/{stream_table}/stream/" in info["streamArn"]
    assert info["approximateArrivalOfFirstRecord"] and "poison" not in json.dumps(failure)


def test_a_handler_that_raises_has_its_batch_bisected_down_to_the_failing_record(
    stream_table: str, queue: str, pumps: list[StreamPump]
) -> None:
    put(stream_table, "a", "b", "poison", "c")
    handler = Handler("poison", raises=True)
    pump = start(pumps, stream_table, handler, queue)

    assert pump.wait_until(lambda: handler.deliveries("c") >= 1 and handler.batches[-1] == ["c"], WAIT_S)

    retries = [["poison"]] * (1 + STREAM_POLICY.maximum_retry_attempts)
    assert handler.batches == [["a", "b", "poison", "c"], ["a", "b"], ["poison", "c"], *retries, ["c"]]
    [failure] = on_failure_records(queue)
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["DDBStreamBatchInfo"]["startSequenceNumber"] == handler.sequence["poison"]


def test_records_older_than_the_maximum_age_are_recorded_and_not_delivered(
    stream_table: str, queue: str, pumps: list[StreamPump]
) -> None:
    put(stream_table, "a", "b")
    handler = Handler("none")
    later = time.time() + STREAM_POLICY.maximum_record_age_s + 60
    pump = start(pumps, stream_table, handler, queue, clock=lambda: later)

    assert pump.wait_until(lambda: pump.given_up == 1, WAIT_S)

    assert handler.batches == []
    [failure] = on_failure_records(queue)
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2


# -- through the pump, as `make run` delivers it to the order events -----------------
def test_six_buyers_racing_for_the_last_unit_make_one_order_one_mail_and_one_sale(
    table: Any, make_product: Any, pumps: list[StreamPump], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from chalicelib import bootstrap
    from chalicelib.api.order_events import handle_table_stream
    from chalicelib.orders.checkout import place_order
    from chalicelib.orders.order import OrderIn
    from chalicelib.orders.order_table import DynamoOrderStore
    from chalicelib.platform import keys
    from chalicelib.platform.errors import OutOfStock
    from localdev.resources import create_notifications

    # GIVEN the order events fed by the pump, and a product with one unit left
    for name, value in create_notifications(f"race-{uuid.uuid4().hex[:6]}").items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    treat = make_product(stock=1, price_cents=300, name="Last Unit Treat")
    seen: list[str] = []

    def order_events(event: dict[str, Any], context: Any) -> Any:
        seen.extend(r["dynamodb"]["Keys"]["PK"]["S"] for r in event["Records"])
        return handle_table_stream(event, context)

    pump = StreamPump(table.name, order_events, interval_s=0.05)
    pumps.append(pump.start())

    # WHEN six buyers race for it
    run = uuid.uuid4().hex[:8]
    buyers = [f"racer-{run}-{n}@example.com" for n in range(6)]
    body = OrderIn.model_validate(
        {
            "items": [{"product_id": treat.id, "quantity": 1}],
            "shipping_address": {"name": "Ada", "line1": "1 Lane", "city": "Town", "postal_code": "1", "country": "US"},
        }
    )
    start = threading.Barrier(len(buyers))
    outcomes: dict[str, str] = {}

    def buy(email: str) -> None:
        mine = boto3.session.Session().resource("dynamodb").Table(table.name)
        start.wait(timeout=WAIT_S)
        try:
            place_order(DynamoOrderStore(mine), f"user-{email}", uuid.uuid4().hex, body, email=email)
            outcomes[email] = "placed"
        except OutOfStock:
            outcomes[email] = "refused"

    threads = [threading.Thread(target=buy, args=(email,), daemon=True) for email in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert sorted(outcomes.values()) == ["placed"] + ["refused"] * 5
    # ... and the pump has delivered everything written before a last marker
    marker = {"PK": f"TEST#{run}", "SK": "AFTER-THE-RACE"}
    table.put_item(Item=marker)
    assert pump.wait_until(lambda: marker["PK"] in seen, WAIT_S)
    table.delete_item(Key=marker)

    # THEN one order was confirmed, to its buyer, and one unit counted as sold
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    mailed = [
        address
        for message in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        for address in json.loads(json.dumps(message.destinations, default=str)).get("ToAddresses", [])
        if address in buyers
    ]
    [winner] = [email for email, outcome in outcomes.items() if outcome == "placed"]
    assert mailed == [winner]
    sales = table.get_item(Key=keys.sales_key(treat.id), ConsistentRead=True)["Item"]
    assert (sales["units_sold"], sales["orders"], sales["revenue_cents"]) == (1, 1, 300)
    # (the winner's items only: the order, and the account item keeping its address)
    assert {key for key in seen if key.startswith("USER#")} == {f"USER#user-{winner}"}
