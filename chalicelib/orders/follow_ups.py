"""Order events: what follows a purchase, driven by the table's stream.

The purchase writes only its transaction; everything after it reacts to the
stream records of that write (no dual writes):

- an order inserted: per-product sales counters go up and the buyer gets a
  confirmation message (SES);
- an order cancelled: the counters go down;
- a product's stock falls under the threshold: a low-stock alert (SNS).

The search index is another consumer of the same stream
(chalicelib/search/indexing.py).

Streams deliver at least once, so each effect is guarded by a marker in the
``EventLedger`` (chalicelib/orders/event_ledger.py): the counters move in the
same step as their marker, so a redelivered batch counts nothing twice; a
message is sent only by whoever wrote its marker.

One record cannot jam the stream: each is handled on its own. A record that no
retry can handle (SES rejects the address, the record is malformed) is recorded
in the failed-records queue at once and the shard moves on; any other failure
(throttling, a timeout) is reported back to Lambda as a partial batch failure,
retried under ``STREAM_POLICY`` and finally sent to the same queue by the event
source mapping. What is recorded or logged names keys and error codes only,
never an image: orders hold the buyer's email and address.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from chalicelib.orders.event_ledger import EventLedger, SalesChange
from chalicelib.platform import keys
from chalicelib.platform.aws import error_code
from chalicelib.platform.config import ConfigError, Env
from chalicelib.platform.metrics import DISCARD, STREAM_RECORDS_FAILED, Metric, MetricSink
from chalicelib.platform.observability import caller_hash
from chalicelib.platform.stream_records import StreamPolicy, deserialize, image

logger = logging.getLogger(__name__)
MARKER_TTL_S: Final = 7 * 24 * 3600
LOW_STOCK_THRESHOLD: Final = 5  # units: a product's stock falling under it is alerted

# SES answers these for a message it will never send, however often it is
# asked (a fresh account's sandbox rejects every unverified recipient).
SES_REJECTIONS = frozenset(
    {"MessageRejected", "MailFromDomainNotVerifiedException", "ConfigurationSetDoesNotExist", "InvalidParameterValue"}
)


STREAM_POLICY = StreamPolicy()


@dataclass(frozen=True)
class EventSettings:
    sender: str | None  # SES verified sender; None: no confirmation messages
    low_stock_topic_arn: str | None  # SNS topic; None: no alerts
    low_stock_threshold: int = LOW_STOCK_THRESHOLD
    failed_records_queue_url: str | None = None  # SQS; None: permanent failures are retried too
    function_name: str | None = None  # named in what is recorded of a failure


@dataclass
class EventDeps:
    ledger: EventLedger  # markers of the events handled, and the sales counters
    ses: Callable[[], Any]
    sns: Callable[[], Any]
    settings: EventSettings
    clock: Callable[[], float]
    sqs: Callable[[], Any]
    metrics: MetricSink = DISCARD
    pseudonym: Callable[[str], str] = field(default=lambda sub: caller_hash(sub, "local"))  # of a user's sub


@dataclass
class BatchReport:
    """What one batch did: effects run, records to retry, records given up on."""

    done: dict[str, int] = field(default_factory=lambda: {"counted": 0, "uncounted": 0, "confirmed": 0, "alerts": 0})
    retry: list[str] = field(default_factory=list)  # sequence numbers
    dead_lettered: int = 0

    def lambda_response(self) -> dict[str, list[dict[str, str]]]:
        """Lambda's partial batch response (ReportBatchItemFailures) for streams."""
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in self.retry]}


class ConfirmationRejected(Exception):
    """SES refused the confirmation for good (its code, never its message)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Failure:
    code: str  # an AWS error code or an exception's type: never its message
    permanent: bool


def classify(exc: Exception) -> Failure:
    """Permanent: no retry can help (recorded at once); transient: retry it."""
    if isinstance(exc, ConfirmationRejected):
        return Failure(exc.code, permanent=True)
    if isinstance(exc, KeyError | ValueError | TypeError):  # a malformed record or image
        return Failure(type(exc).__name__, permanent=True)
    if isinstance(exc, ClientError):
        return Failure(error_code(exc) or "ClientError", permanent=False)
    return Failure(type(exc).__name__, permanent=False)


def handle_records(records: Iterable[dict[str, Any]], deps: EventDeps) -> BatchReport:
    """Handle one stream batch, each record on its own; never raises for a record.

    A record that fails does not redo or hold up the others: it is either
    recorded in the failed-records queue (permanent) or listed in
    ``retry`` for Lambda to deliver again (transient).
    """
    report = BatchReport()
    for record in records:
        try:
            _handle_record(record, deps, report.done)
        except Exception as exc:  # one record's failure must not fail the batch
            _record_failed(record, exc, deps, report)
    return report


def _handle_record(record: dict[str, Any], deps: EventDeps, done: dict[str, int]) -> None:
    new, old = image(record, "NewImage"), image(record, "OldImage")
    sk = str((new or old).get("SK", ""))
    if sk.startswith(keys.ORDER_PREFIX):
        _order_changed(record["eventName"], new, old, deps, done)
    elif sk == keys.PRODUCT_SK and record["eventName"] == "MODIFY":
        _stock_changed(str(record["eventID"]), new, old, deps, done)


# -- failures ----------------------------------------------------------------------
def sequence_number(record: dict[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def failure_facts(record: dict[str, Any], failure: Failure, deps: EventDeps) -> dict[str, Any]:
    """What is recorded and logged of a failed record: ids and codes, no personal data.

    Stream keys are ids (``USER#<sub>`` / ``ORDER#<id>``, ``PRODUCT#<id>``);
    the images, which hold the buyer's email and address, and the error's
    message, which may repeat the address, are left out.
    """
    raw = record.get("dynamodb")
    stream: dict[str, Any] = raw if isinstance(raw, dict) else {}
    item_keys = {}
    for name, value in (stream.get("Keys") or {}).items():
        try:
            item_keys[str(name)] = str(deserialize(value))
        except (TypeError, ValueError, AttributeError):
            item_keys[str(name)] = "?"
    return {
        "event": "stream_record_failed",
        "eventID": str(record.get("eventID", "")),
        "sequenceNumber": sequence_number(record),
        "eventName": str(record.get("eventName", "")),
        "keys": item_keys,
        "error": failure.code,
        "permanent": failure.permanent,
        "function": deps.settings.function_name,
        "timestamp": datetime.fromtimestamp(deps.clock(), UTC).isoformat(timespec="seconds"),
    }


def _record_failed(record: dict[str, Any], exc: Exception, deps: EventDeps, report: BatchReport) -> None:
    failure = classify(exc)
    facts = failure_facts(record, failure, deps)
    deps.metrics.append(Metric(STREAM_RECORDS_FAILED))
    queue = deps.settings.failed_records_queue_url
    if failure.permanent and queue:
        try:
            _dead_letter(facts, queue, deps)
        except Exception as send_exc:  # then Lambda delivers it again
            facts["recording_error"] = classify(send_exc).code
        else:
            report.dead_lettered += 1
            _log(facts, "dead_lettered", deps)
            return
    report.retry.append(facts["sequenceNumber"])
    _log(facts, "retry", deps)


def _log(facts: dict[str, Any], outcome: str, deps: EventDeps) -> None:
    """One line of the shop's log; an owner's partition key is logged as the
    caller's hash, as in the request lines."""
    owner = keys.user_pk("")
    logged_keys = {
        name: owner + deps.pseudonym(value.removeprefix(owner)) if value.startswith(owner) else value
        for name, value in facts["keys"].items()
    }
    fields = {**facts, "keys": logged_keys, "outcome": outcome}
    logger.warning("stream record failed", extra={"fields": fields})


def _dead_letter(facts: dict[str, Any], queue_url: str, deps: EventDeps) -> None:
    """Send the facts of a record to the failed-records queue, once per record.

    The marker is written after the message is sent: if writing it fails, a
    redelivery sends the message again; a record is never left unrecorded.
    """
    marker = f"failed#{facts['eventID'] or facts['sequenceNumber']}"
    if deps.ledger.is_recorded(marker):
        return  # recorded by an earlier delivery of the same record
    deps.sqs().send_message(QueueUrl=queue_url, MessageBody=json.dumps(facts))
    _once(marker, deps)


def _order_changed(event: str, new: dict[str, Any], old: dict[str, Any], deps: EventDeps, done: dict[str, int]) -> None:
    if event == "INSERT" and new.get("status") == "placed":
        if _count(new, +1, f"order-placed#{new['id']}", deps):
            done["counted"] += 1
        if deps.settings.sender and _confirm(new, deps):
            done["confirmed"] += 1
    elif (
        event == "MODIFY"
        and old.get("status") == "placed"
        and new.get("status") == "cancelled"
        and _count(new, -1, f"order-cancelled#{new['id']}", deps)
    ):
        done["uncounted"] += 1


def sales_changes(order: dict[str, Any], sign: int) -> list[SalesChange]:
    """What an order image adds to (sign +1) or, cancelled, takes from (-1) each product's counters."""
    return [
        SalesChange(
            product_id=str(line["product_id"]),
            units=sign * int(line["quantity"]),
            cents=sign * int(line["line_total_cents"]),
            orders=sign,
        )
        for line in order.get("items", [])
    ]


def _count(order: dict[str, Any], sign: int, event_id: str, deps: EventDeps) -> bool:
    """Move the sales counters of an order's products, once per event."""
    return _once(event_id, deps, sales_changes(order, sign))


def _once(event_id: str, deps: EventDeps, sales: Sequence[SalesChange] = ()) -> bool:
    """Mark the event handled (with its counters); False if an earlier delivery did."""
    return deps.ledger.record(event_id, int(deps.clock()) + MARKER_TTL_S, sales)


def _confirm(order: dict[str, Any], deps: EventDeps) -> bool:
    email = order.get("email")
    if not email:
        logger.warning("order %s has no email to confirm to", order["id"])
        return False
    marker = f"order-confirmed#{order['id']}"
    if not _once(marker, deps):
        return False
    lines = "\n".join(
        f"  {line['quantity']} x {line['name']}: ${int(line['line_total_cents']) / 100:.2f}" for line in order["items"]
    )
    try:
        deps.ses().send_email(
            Source=deps.settings.sender,
            Destination={"ToAddresses": [email]},
            Message={
                "Subject": {"Data": f"Your Pet Store order {order['id']}"},
                "Body": {
                    "Text": {
                        "Data": f"Thank you for your order.\n\n{lines}\n\n"
                        f"Total: ${int(order['total_cents']) / 100:.2f}\n"
                    }
                },
            },
        )
    except ClientError as exc:
        # Forget the marker, so that a later delivery (or a redrive) can send it.
        deps.ledger.forget(marker)
        code = error_code(exc)
        if code in SES_REJECTIONS:
            raise ConfirmationRejected(code) from exc
        raise
    logger.info("sent the confirmation of order %s", order["id"])
    return True


def _stock_changed(
    event_id: str, new: dict[str, Any], old: dict[str, Any], deps: EventDeps, done: dict[str, int]
) -> None:
    before, after = int(old.get("stock", 0)), int(new.get("stock", 0))
    topic = deps.settings.low_stock_topic_arn
    if (
        topic
        and falls_under(before, after, deps.settings.low_stock_threshold)
        and _alert(topic, event_id, new, after, deps)
    ):
        done["alerts"] += 1


def falls_under(before: int, after: int, threshold: int) -> bool:
    """A stock that crosses the threshold downwards: alerted once, not at every sale below it."""
    return after < threshold <= before


def _alert(topic: str, event_id: str, product: dict[str, Any], left: int, deps: EventDeps) -> bool:
    marker = f"low-stock#{event_id}"
    if not _once(marker, deps):
        return False
    try:
        deps.sns().publish(
            TopicArn=topic,
            Subject="Low stock",
            Message=f"{product.get('name')} ({product.get('id')}): {left} left",
            MessageAttributes={"product_id": {"DataType": "String", "StringValue": str(product.get("id"))}},
        )
    except Exception:
        deps.ledger.forget(marker)  # so that the retry alerts
        raise
    return True


def event_settings_from_env(environ: Mapping[str, str] | None = None) -> EventSettings:
    """Follow-up work of orders: NOTIFY_FROM (SES sender), LOW_STOCK_TOPIC_ARN
    (SNS), LOW_STOCK_THRESHOLD (default ``LOW_STOCK_THRESHOLD``). Unset: that effect is off.

    FAILED_RECORDS_QUEUE_URL (SQS) receives the stream records that cannot be
    handled; unset, they are retried like any other failure. Lambda sets
    AWS_LAMBDA_FUNCTION_NAME, named in what is recorded of a failure."""
    env = Env(environ)
    threshold = env.get("LOW_STOCK_THRESHOLD", str(LOW_STOCK_THRESHOLD))
    if not threshold.isdigit():
        raise ConfigError(f"LOW_STOCK_THRESHOLD must be a whole number, not {threshold!r}")
    return EventSettings(
        sender=env.get("NOTIFY_FROM") or None,
        low_stock_topic_arn=env.get("LOW_STOCK_TOPIC_ARN") or None,
        low_stock_threshold=int(threshold),
        failed_records_queue_url=env.get("FAILED_RECORDS_QUEUE_URL") or None,
        function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or None,
    )
