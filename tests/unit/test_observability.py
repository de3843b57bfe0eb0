"""Log lines and EMF documents, built without AWS."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from chalicelib.accounts.verifier import JwksCache
from chalicelib.api.request_log import outcome_of
from chalicelib.platform.metrics import JWKS_FETCH_FAILURES, EmfMetrics, Metric
from chalicelib.platform.observability import Telemetry, arn_route, caller_hash


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def telemetry(written: list[str]) -> tuple[Telemetry, Lines]:
    logger = logging.getLogger(f"test.observability.{len(written)}.{id(written)}")
    lines = Lines()
    logger.addHandler(lines)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    metrics = EmfMetrics("dev", written.append, clock=lambda: 1_700_000_000.0)
    return Telemetry("dev", None, logger, metrics, clock=lambda: next(ticks)), lines


def test_the_caller_hash_is_stable_short_and_differs_by_stage() -> None:
    assert caller_hash("sub-1", "dev") == caller_hash("sub-1", "dev")
    assert len(caller_hash("sub-1", "dev")) == 16 and "sub-1" not in caller_hash("sub-1", "dev")
    assert caller_hash("sub-1", "dev") != caller_hash("sub-1", "prod")


def test_an_emf_document_has_the_namespace_the_stage_and_one_value_list_per_name() -> None:
    written: list[str] = []
    metrics = EmfMetrics("prod", written.append, clock=lambda: 1_700_000_000.5)
    for metric in (Metric("OrdersPlaced"), Metric("OrdersPlaced"), Metric("TokensRefused", reason="expired")):
        metrics.append(metric)
    metrics.flush()
    metrics.flush()  # nothing pending: nothing written
    plain, by_reason = (json.loads(line) for line in written)
    assert plain == {
        "_aws": {
            "Timestamp": 1_700_000_000_500,
            "CloudWatchMetrics": [
                {
                    "Namespace": "PetStore",
                    "Dimensions": [["Stage"]],
                    "Metrics": [{"Name": "OrdersPlaced", "Unit": "Count"}],
                }
            ],
        },
        "Stage": "prod",
        "OrdersPlaced": [1, 1],
    }
    assert by_reason["Reason"] == "expired" and by_reason["TokensRefused"] == 1
    assert by_reason["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"], ["Stage", "Reason"]]


def test_an_invocation_logs_one_line_with_latency_and_cold_start_then_flushes() -> None:
    written: list[str] = []
    shop, lines = telemetry(written)
    for _ in range(2):
        with shop.invocation("request", function="search", route="GET /products") as call:
            shop.metrics.append(Metric("SearchItemsRead", 7))
            call.facts.update(status=200, outcome="ok")
    first, second = (r.fields for r in lines.records)
    assert first["latency_ms"] == 250.0 and first["cold_start"] is True and second["cold_start"] is False
    assert first["function"] == "search" and first["route"] == "GET /products"
    assert len(written) == 2


def test_an_unexpected_exception_is_logged_at_error_with_its_stack_and_still_raised() -> None:
    shop, lines = telemetry([])
    with pytest.raises(KeyError), shop.invocation("stream batch", function="order_events"):
        raise KeyError("id")
    [record] = lines.records
    assert record.levelno == logging.ERROR and record.fields["outcome"] == "internal_error"
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_an_answer_the_block_chose_is_not_an_error() -> None:
    shop, lines = telemetry([])
    with pytest.raises(PermissionError), shop.invocation("authorizer", function="authorizer") as call:
        call.facts.update(outcome="token_refused", reason="expired")
        raise PermissionError("Unauthorized")
    assert lines.records[0].levelno == logging.INFO


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, {"items": []}, "ok"),
        (409, {"code": "out_of_stock", "message": "..."}, "out_of_stock"),
        (400, {"Code": "BadRequestError", "Message": "..."}, "BadRequestError"),
        (502, "", "http_502"),
    ],
)
def test_the_outcome_is_the_error_code_or_ok(status: int, body: Any, outcome: str) -> None:
    assert outcome_of(status, body) == outcome


def test_the_authorizer_route_comes_from_the_method_arn() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/POST/orders/o-1/cancel"
    assert arn_route(arn) == "POST /orders/o-1/cancel"
    assert arn_route("not an arn") == ""


def test_a_jwks_fetch_that_fails_is_counted() -> None:
    counted: list[Metric] = []

    def unreachable(url: str) -> dict[str, Any]:
        raise TimeoutError(url)

    cache = JwksCache("https://issuer.example/jwks.json", fetch=unreachable, metrics=counted)
    with pytest.raises(Exception, match="does not publish"):
        cache.key("kid-1")
    assert counted == [Metric(JWKS_FETCH_FAILURES)]
