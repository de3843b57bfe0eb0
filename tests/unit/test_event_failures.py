"""Which stream failures are recorded at once, which are retried, and what is kept of them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.orders.follow_ups import (
    STREAM_POLICY,
    BatchReport,
    ConfirmationRejected,
    EventDeps,
    EventSettings,
    classify,
    failure_facts,
)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Address buyer@example.com rejected"}}, "SendEmail")


@pytest.mark.parametrize(
    ("exc", "code", "permanent"),
    [
        (ConfirmationRejected("MessageRejected"), "MessageRejected", True),
        (KeyError("id"), "KeyError", True),
        (TypeError("Dynamodb type Q is not supported"), "TypeError", True),
        (ValueError("bad number"), "ValueError", True),
        (client_error("ProvisionedThroughputExceededException"), "ProvisionedThroughputExceededException", False),
        (client_error("Throttling"), "Throttling", False),
        (TimeoutError(), "TimeoutError", False),
    ],
)
def test_failures_are_permanent_only_when_no_retry_can_help(exc: Exception, code: str, permanent: bool) -> None:
    failure = classify(exc)
    assert (failure.code, failure.permanent) == (code, permanent)


def test_the_lambda_response_lists_the_records_to_retry() -> None:
    assert BatchReport().lambda_response() == {"batchItemFailures": []}
    report = BatchReport(retry=["111", "222"])
    assert report.lambda_response() == {"batchItemFailures": [{"itemIdentifier": "111"}, {"itemIdentifier": "222"}]}


def test_what_is_kept_of_a_failed_record_names_ids_not_the_buyer() -> None:
    settings = EventSettings(sender=None, low_stock_topic_arn=None, function_name="petstore-dev-events")
    deps = EventDeps(ledger=None, ses=dict, sns=dict, sqs=dict, settings=settings, clock=lambda: 1_700_000_000)
    record: dict[str, Any] = {
        "eventID": "e1",
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": "42",
            "Keys": {"PK": {"S": "USER#sub-1"}, "SK": {"S": "ORDER#o-1"}},
            "NewImage": {"email": {"S": "buyer@example.com"}, "shipping_address": {"M": {"line1": {"S": "1 Lane"}}}},
        },
    }
    facts = failure_facts(record, classify(client_error("MessageRejected")), deps)
    assert facts["keys"] == {"PK": "USER#sub-1", "SK": "ORDER#o-1"}
    assert (facts["sequenceNumber"], facts["function"], facts["error"]) == (
        "42",
        "petstore-dev-events",
        "MessageRejected",
    )
    assert facts["timestamp"] == "2023-11-14T22:13:20+00:00"
    assert "buyer@example.com" not in json.dumps(facts) and "1 Lane" not in json.dumps(facts)


def test_the_stream_policy_bounds_retries_and_reports_partial_failures() -> None:
    assert STREAM_POLICY.maximum_retry_attempts == 3 and STREAM_POLICY.bisect_batch_on_function_error
    assert STREAM_POLICY.report_batch_item_failures and STREAM_POLICY.batch_size == 50
