"""The shop's own metrics, in CloudWatch embedded metric format (EMF).

Each fact is counted where it is known (an order placed, a token refused), on
a sink passed in: the entry points give the stage's ``EmfMetrics`` (built once
in bootstrap), tests give a list. At the end of a request or a batch the sink
writes one JSON document per dimension set to stdout, which CloudWatch Logs
turns into metrics; no API call, no extra permission. infra/monitoring.py
alarms on these names.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

NAMESPACE: Final = "PetStore"

SERVER_ERRORS: Final = "ServerErrors"
ORDERS_PLACED: Final = "OrdersPlaced"
ORDER_VALUE_CENTS: Final = "OrderValueCents"
OUT_OF_STOCK_REFUSALS: Final = "OutOfStockRefusals"
IDEMPOTENT_REPLAYS: Final = "IdempotentReplays"
SEARCH_LATENCY: Final = "SearchLatency"
SEARCH_ITEMS_READ: Final = "SearchItemsRead"
TOKENS_REFUSED: Final = "TokensRefused"
JWKS_FETCH_FAILURES: Final = "JwksFetchFailures"
STREAM_RECORDS_FAILED: Final = "StreamRecordsFailed"


@dataclass(frozen=True)
class Metric:
    name: str
    value: float = 1
    unit: str = "Count"  # an EMF unit: Count, Milliseconds, None...
    reason: str | None = None  # also counted under the dimensions [Stage, Reason]


class MetricSink(Protocol):
    def append(self, metric: Metric, /) -> None: ...


class _Discard:
    """For callers that count nothing (benchmarks, scripts)."""

    def append(self, metric: Metric, /) -> None:
        pass


DISCARD: Final[MetricSink] = _Discard()


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")  # looked up at each write: Lambda and tests may swap it
    sys.stdout.flush()


class EmfMetrics:
    """Collects one invocation's metrics; ``flush`` writes them as EMF documents."""

    def __init__(
        self,
        stage: str,
        write: Callable[[str], None] = _stdout,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stage = stage
        self._write = write
        self._clock = clock
        self._pending: list[Metric] = []

    def append(self, metric: Metric, /) -> None:
        self._pending.append(metric)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        by_reason: dict[str | None, list[Metric]] = {}
        for metric in pending:
            by_reason.setdefault(metric.reason, []).append(metric)
        for reason, metrics in by_reason.items():
            self._write(json.dumps(self.document(metrics, reason), separators=(",", ":")))

    def document(self, metrics: list[Metric], reason: str | None = None) -> dict[str, Any]:
        """One EMF document; a metric counted twice is one value list."""
        values: dict[str, list[float]] = {}
        units: dict[str, str] = {}
        for metric in metrics:
            values.setdefault(metric.name, []).append(metric.value)
            units[metric.name] = metric.unit
        dimensions = [["Stage"]] + ([["Stage", "Reason"]] if reason else [])
        return {
            "_aws": {
                "Timestamp": int(self._clock() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": dimensions,
                        "Metrics": [{"Name": name, "Unit": units[name]} for name in values],
                    }
                ],
            },
            "Stage": self.stage,
            **({"Reason": reason} if reason else {}),
            **{name: v[0] if len(v) == 1 else v for name, v in values.items()},
        }
