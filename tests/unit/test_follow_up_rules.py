"""What follows an order, over an in-memory event ledger and recording clients:
counters once per event, confirmations once per order, low-stock alerts
when the stock crosses the threshold, a failure's marker forgotten.

The ledger keeps DynamoDB's promises (tests/support/memory_stores.py; the
same scenarios run on DynamoDB in tests/functional/test_store_contract.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.orders.follow_ups import (
    LOW_STOCK_THRESHOLD,
    MARKER_TTL_S,
    BatchReport,
    EventDeps,
    EventSettings,
    event_settings_from_env,
    falls_under,
    handle_records,
)
from chalicelib.platform.config import ConfigError
from tests.support.memory_stores import MemoryEventLedger, Sales

NOW = 1_700_000_000
TOPIC = "arn:aws:sns:us-east-1:123456789012:low-stock"
QUEUE = "https://sqs.example/failed-records"


class Outbox:
    """SES, SNS and SQS as the handler calls them: what was sent, or an error to answer."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.failing: dict[str, Exception] = {}

    def __getattr__(self, action: str) -> Any:
        def call(**request: Any) -> dict[str, Any]:
            if action in self.failing:
                raise self.failing[action]
            self.sent.append((action, request))
            return {}

        return call

    def of(self, action: str) -> list[dict[str, Any]]:
        return [request for name, request in self.sent if name == action]


def deps_of(ledger: MemoryEventLedger, outbox: Outbox, **settings: Any) -> EventDeps:
    chosen = {"sender": "shop@example.com", "low_stock_topic_arn": TOPIC, "failed_records_queue_url": QUEUE}
    return EventDeps(
        ledger=ledger,
        ses=lambda: outbox,
        sns=lambda: outbox,
        sqs=lambda: outbox,
        settings=EventSettings(**{**chosen, **settings}),
        clock=lambda: NOW,
    )


def wire(item: dict[str, Any]) -> dict[str, Any]:
    return {name: TypeSerializer().serialize(value) for name, value in item.items()}


def record(event: str, new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    images = {"NewImage": wire(new), **({"OldImage": wire(old)} if old else {})}
    keys = {name: wire(new)[name] for name in ("PK", "SK")}
    stream = {"Keys": keys, "SequenceNumber": str(uuid.uuid4().int)[:21], **images}
    return {"eventID": uuid.uuid4().hex, "eventName": event, "dynamodb": stream}


def order(status: str = "placed", email: str | None = "ann@example.com") -> dict[str, Any]:
    lines = [
        {"product_id": "chew", "name": "Chew", "quantity": 3, "unit_price_cents": 300, "line_total_cents": 900},
        {"product_id": "ball", "name": "Ball", "quantity": 1, "unit_price_cents": 450, "line_total_cents": 450},
    ]
    item = {"PK": "USER#ann", "SK": "ORDER#o-1", "id": "o-1", "status": status, "items": lines, "total_cents": 1350}
    return {**item, **({"email": email} if email else {})}


def stock_change(before: int, after: int) -> dict[str, Any]:
    product = {"PK": "PRODUCT#chew", "SK": "PRODUCT", "id": "chew", "name": "Chew"}
    return record("MODIFY", {**product, "stock": after}, {**product, "stock": before})


def handle(deps: EventDeps, *records: dict[str, Any]) -> BatchReport:
    return handle_records(list(records), deps)


# -- counters -----------------------------------------------------------------------------------


def test_a_placed_order_moves_the_counters_once_however_often_it_is_delivered() -> None:
    # GIVEN an order's INSERT, delivered twice (streams deliver at least once)
    ledger, outbox = MemoryEventLedger(), Outbox()
    placed = record("INSERT", order())
    first = handle(deps_of(ledger, outbox), placed)
    # WHEN it comes again
    again = handle(deps_of(ledger, outbox), placed)
    # THEN each product's counters moved once, by its line
    assert ledger.sales == {"chew": Sales(3, 900, 1), "ball": Sales(1, 450, 1)}
    assert (first.done["counted"], again.done["counted"]) == (1, 0)


def test_an_order_inserted_twice_under_two_event_ids_is_still_counted_once() -> None:
    # GIVEN the same order in two records (a replayed shard): the marker is the order's, not the record's
    ledger = MemoryEventLedger()
    # WHEN both are handled
    handle(deps_of(ledger, Outbox()), record("INSERT", order()), record("INSERT", order()))
    # THEN it is counted once
    assert ledger.sales["chew"] == Sales(3, 900, 1)


def test_a_cancellation_takes_the_order_off_the_counters_once() -> None:
    # GIVEN a counted order
    ledger, outbox = MemoryEventLedger(), Outbox()
    handle(deps_of(ledger, outbox), record("INSERT", order()))
    cancelled = record("MODIFY", order(status="cancelled"), order())
    # WHEN its cancellation is delivered twice
    report = handle(deps_of(ledger, outbox), cancelled, cancelled)
    # THEN the counters are back to nothing, once
    assert ledger.sales == {"chew": Sales(0, 0, 0), "ball": Sales(0, 0, 0)}
    assert report.done["uncounted"] == 1


def test_an_edit_of_an_order_that_is_not_a_cancellation_counts_nothing() -> None:
    # GIVEN a counted order WHEN a record shows it placed before and after THEN the counters stay
    ledger = MemoryEventLedger()
    handle(deps_of(ledger, Outbox()), record("INSERT", order()), record("MODIFY", order(), order()))
    assert ledger.sales["chew"] == Sales(3, 900, 1)


def test_markers_expire_a_week_after_the_event_was_handled() -> None:
    # GIVEN a placed order WHEN it is handled THEN its markers expire in a week
    ledger = MemoryEventLedger()
    handle(deps_of(ledger, Outbox()), record("INSERT", order()))
    assert ledger.markers == {"order-placed#o-1": NOW + MARKER_TTL_S, "order-confirmed#o-1": NOW + 7 * 24 * 3600}


# -- confirmations ------------------------------------------------------------------------------


def test_a_confirmation_is_sent_once_per_order_even_when_redelivered() -> None:
    # GIVEN an order's INSERT WHEN it is delivered twice
    ledger, outbox = MemoryEventLedger(), Outbox()
    placed = record("INSERT", order())
    reports = [handle(deps_of(ledger, outbox), placed) for _ in range(2)]
    # THEN the buyer got one message, with the lines and the total
    (sent,) = outbox.of("send_email")
    assert sent["Destination"] == {"ToAddresses": ["ann@example.com"]} and sent["Source"] == "shop@example.com"
    body = sent["Message"]["Body"]["Text"]["Data"]
    assert "3 x Chew: $9.00" in body and "Total: $13.50" in body
    assert [r.done["confirmed"] for r in reports] == [1, 0]


def test_without_a_sender_no_confirmation_is_sent_but_the_counters_move() -> None:
    # GIVEN no SES sender configured WHEN an order is placed THEN no message, and the counters move
    ledger, outbox = MemoryEventLedger(), Outbox()
    handle(deps_of(ledger, outbox, sender=None), record("INSERT", order()))
    assert outbox.of("send_email") == [] and ledger.sales["chew"].orders == 1


def test_a_confirmation_ses_rejects_is_queued_once_and_its_marker_forgotten() -> None:
    # GIVEN SES rejecting the address for good
    ledger, outbox = MemoryEventLedger(), Outbox()
    outbox.failing["send_email"] = ClientError({"Error": {"Code": "MessageRejected"}}, "SendEmail")
    placed = record("INSERT", order())
    # WHEN the order's INSERT is delivered twice
    reports = [handle(deps_of(ledger, outbox), placed) for _ in range(2)]
    # THEN the record is queued once, not retried; the counters moved once; and the
    # confirmation's marker is gone, so that a redrive can still send it
    assert len(outbox.of("send_message")) == 1
    assert all(r.retry == [] and r.dead_lettered == 1 for r in reports)
    assert ledger.sales["chew"].orders == 1
    assert not ledger.is_recorded("order-confirmed#o-1") and ledger.is_recorded("order-placed#o-1")


def test_a_confirmation_ses_throttles_is_retried_with_its_marker_forgotten() -> None:
    # GIVEN SES throttling WHEN an order's INSERT is handled
    ledger, outbox = MemoryEventLedger(), Outbox()
    outbox.failing["send_email"] = ClientError({"Error": {"Code": "Throttling"}}, "SendEmail")
    placed = record("INSERT", order())
    report = handle(deps_of(ledger, outbox), placed)
    # THEN Lambda is asked to deliver it again, and the retry sends it
    assert report.retry == [placed["dynamodb"]["SequenceNumber"]] and outbox.of("send_message") == []
    del outbox.failing["send_email"]
    assert handle(deps_of(ledger, outbox), placed).done["confirmed"] == 1


# -- low stock ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "alerted"),
    [(6, 4, True), (5, 4, True), (9, 0, True), (4, 3, False), (5, 5, False), (10, 5, False), (3, 10, False)],
)
def test_a_low_stock_alert_follows_a_fall_under_the_threshold_not_every_sale_below_it(
    before: int, after: int, alerted: bool
) -> None:
    # GIVEN the default threshold (5) WHEN the stock goes from `before` to `after`
    outbox = Outbox()
    report = handle(deps_of(MemoryEventLedger(), outbox), stock_change(before, after))
    # THEN there is an alert only when it fell under the threshold
    assert (len(outbox.of("publish")), report.done["alerts"]) == ((1, 1) if alerted else (0, 0))
    assert falls_under(before, after, LOW_STOCK_THRESHOLD) is alerted


def test_a_low_stock_alert_names_the_product_and_what_is_left() -> None:
    # GIVEN a fall to 2 WHEN it is handled THEN the alert names the product and its stock
    outbox = Outbox()
    handle(deps_of(MemoryEventLedger(), outbox), stock_change(6, 2))
    (alert,) = outbox.of("publish")
    assert alert["TopicArn"] == TOPIC and alert["Message"] == "Chew (chew): 2 left"
    assert alert["MessageAttributes"]["product_id"]["StringValue"] == "chew"


def test_a_threshold_set_for_the_stage_is_the_one_crossed() -> None:
    # GIVEN a threshold of 20 WHEN the stock falls from 25 to 15 THEN it is alerted
    outbox = Outbox()
    handle(deps_of(MemoryEventLedger(), outbox, low_stock_threshold=20), stock_change(25, 15))
    assert len(outbox.of("publish")) == 1


def test_the_same_fall_redelivered_is_alerted_once() -> None:
    # GIVEN a fall under the threshold WHEN its record is delivered twice THEN one alert
    ledger, outbox = MemoryEventLedger(), Outbox()
    fell = stock_change(6, 4)
    handle(deps_of(ledger, outbox), fell, fell)
    assert len(outbox.of("publish")) == 1


def test_a_failed_alert_forgets_its_marker_so_the_retry_alerts() -> None:
    # GIVEN SNS failing once
    ledger, outbox = MemoryEventLedger(), Outbox()
    outbox.failing["publish"] = TimeoutError()
    fell = stock_change(6, 4)
    # WHEN the fall is handled, then delivered again once SNS is back
    first = handle(deps_of(ledger, outbox), fell)
    del outbox.failing["publish"]
    second = handle(deps_of(ledger, outbox), fell)
    # THEN the first asks for a retry and the retry alerts
    assert first.retry == [fell["dynamodb"]["SequenceNumber"]]
    assert second.done["alerts"] == 1 and len(outbox.of("publish")) == 1


def test_without_a_topic_no_alert_is_sent() -> None:
    # GIVEN no SNS topic WHEN the stock falls under the threshold THEN no alert, and no marker
    ledger, outbox = MemoryEventLedger(), Outbox()
    handle(deps_of(ledger, outbox, low_stock_topic_arn=None), stock_change(6, 4))
    assert outbox.of("publish") == [] and ledger.markers == {}


@pytest.mark.parametrize(("environ", "threshold"), [({}, 5), ({"LOW_STOCK_THRESHOLD": "12"}, 12)])
def test_the_threshold_is_five_unless_the_stage_sets_one(environ: dict[str, str], threshold: int) -> None:
    # GIVEN a stage's environment WHEN the settings are read THEN the threshold is its, or 5
    assert event_settings_from_env(environ).low_stock_threshold == threshold
    assert EventSettings(sender=None, low_stock_topic_arn=None).low_stock_threshold == LOW_STOCK_THRESHOLD == 5


def test_a_threshold_that_is_not_a_whole_number_is_refused_at_start() -> None:
    # GIVEN a threshold of "five" WHEN the settings are read THEN it is a ConfigError naming the variable
    with pytest.raises(ConfigError, match="LOW_STOCK_THRESHOLD must be a whole number, not 'five'"):
        event_settings_from_env({"LOW_STOCK_THRESHOLD": "five"})
