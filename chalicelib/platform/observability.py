"""What the shop writes about itself: one JSON line per request, authorizer
call and stream batch, and the metrics counted while it ran.

Every line names the request (Lambda's and API Gateway's ids), the function,
the route, the status, the latency, the outcome (the error body's ``code``, or
``ok``) and whether the container was cold. The caller appears only as a hash
of their ``sub`` (``caller_hash``): never a token, an email, an address or a
name. An unexpected error's type and stack trace go to the log, never to the
response (``api_errors``).

``Telemetry`` is built once per container (``bootstrap.get_telemetry``); the
request log (chalicelib/api/request_log.py), the authorizer and the stream handler use it.
``LOG_FORMAT=pretty`` (the default when stdout is a terminal, as under
``make run``) writes the same lines for people to read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.platform.metrics import EmfMetrics

SHOP_LOGGER = "chalicelib"  # every module of the shop logs under it
_context: ContextVar[dict[str, Any] | None] = ContextVar("petstore_request", default=None)


def caller_hash(sub: str, stage: str) -> str:
    """A stable pseudonym of a user id: the first 16 hex of HMAC-SHA256(stage salt, sub).

    The salt is not a secret (docs/operations.md shows how to hash a known
    sub); it keeps one stage's hashes from matching another's.
    """
    return hmac.new(f"petstore:{stage}".encode(), sub.encode(), hashlib.sha256).hexdigest()[:16]


# -- formatting ----------------------------------------------------------------------
def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The line's facts: the request's, then those passed as ``extra={"fields": ...}``."""
    found: dict[str, Any] = dict(_context.get() or {})
    found.update(getattr(record, "fields", None) or {})
    if record.exc_info and record.exc_info[0] is not None:
        found["error_type"] = record.exc_info[0].__name__
        found["stack"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    return found


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        return json.dumps(line, default=str, separators=(",", ":"))


class PrettyFormatter(logging.Formatter):
    """``12:00:01 INFO request GET /products 200 12.3ms outcome=ok ...`` and the stack."""

    def format(self, record: logging.LogRecord) -> str:
        facts = _fields(record)
        stack = facts.pop("stack", None)
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        head = f"{when} {record.levelname} {record.getMessage()}"
        route = " ".join(str(facts.pop(k)) for k in ("route", "status") if k in facts)
        latency = facts.pop("latency_ms", None)
        parts = [head, route, f"{latency}ms" if latency is not None else ""]
        parts += [f"{k}={v}" for k, v in facts.items() if v not in (None, "")]
        return " ".join(p for p in parts if p) + (f"\n{stack}" if stack else "")


class _StdoutHandler(logging.StreamHandler[Any]):
    """Writes to the current sys.stdout (Lambda sends it to CloudWatch Logs as is)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def pretty_wanted(env: dict[str, str] | None = None) -> bool:
    fmt = (os.environ if env is None else env).get("LOG_FORMAT", "").strip().lower()
    return fmt == "pretty" or (fmt != "json" and sys.stdout.isatty())


def shop_logger(pretty: bool) -> logging.Logger:
    """The shop's loggers write one line each to stdout, and only there.

    Lambda's own handler on the root logger would prefix every line (and
    break the JSON), hence no propagation.
    """
    logger = logging.getLogger(SHOP_LOGGER)
    for handler in [h for h in logger.handlers if isinstance(h, _StdoutHandler)]:
        logger.removeHandler(handler)
    handler = _StdoutHandler()
    handler.setFormatter(PrettyFormatter() if pretty else JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


# -- the lines -----------------------------------------------------------------------
@dataclass
class Invocation:
    """The facts of one request or batch, filled in while it runs."""

    facts: dict[str, Any]
    started: float
    level: int = logging.INFO
    error: BaseException | None = None


@dataclass
class Telemetry:
    """The logger, the metrics and the caller's hash of one stage, once per container."""

    stage: str
    function: str | None  # AWS_LAMBDA_FUNCTION_NAME; None off Lambda
    logger: logging.Logger
    metrics: EmfMetrics
    clock: Callable[[], float] = time.perf_counter
    _warm: bool = False

    def caller_of(self, sub: str) -> str:
        return caller_hash(sub, self.stage)

    @contextmanager
    def invocation(self, message: str, function: str, **facts: Any) -> Iterator[Invocation]:
        """Log one line when the block ends, raising or not, and flush the metrics.

        The block sets ``outcome`` (and ``status``); an exception it raises
        without one is logged at ERROR with its type and stack trace.
        """
        cold, self._warm = not self._warm, True
        current = Invocation({**facts, "function": self.function or function}, started=self.clock())
        token = _context.set({k: v for k, v in current.facts.items() if k in CONTEXT_FIELDS and v})
        try:
            yield current
        except Exception as exc:
            if "outcome" not in current.facts:  # not an answer the block chose (e.g. a 401)
                current.facts["outcome"] = "internal_error"
                current.level, current.error = logging.ERROR, exc
            raise
        finally:
            current.facts["latency_ms"] = round((self.clock() - current.started) * 1000, 1)
            current.facts["cold_start"] = cold
            _context.reset(token)
            error = current.error
            exc_info = (type(error), error, error.__traceback__) if error else None
            self.logger.log(current.level, message, exc_info=exc_info, extra={"fields": current.facts})
            self.metrics.flush()


# Facts of a request that every line logged during it carries.
CONTEXT_FIELDS = ("request_id", "api_request_id", "function", "route")


def build_telemetry(stage: str, env: dict[str, str] | None = None) -> Telemetry:
    environ = dict(os.environ if env is None else env)
    pretty = pretty_wanted(environ)
    logger = shop_logger(pretty)
    write = _pretty_metrics(logger) if pretty else None
    metrics = EmfMetrics(stage, write) if write else EmfMetrics(stage)
    return Telemetry(
        stage=stage,
        function=environ.get("AWS_LAMBDA_FUNCTION_NAME") or None,
        logger=logging.getLogger(f"{SHOP_LOGGER}.requests"),
        metrics=metrics,
    )


def _pretty_metrics(logger: logging.Logger) -> Callable[[str], None]:
    """Locally, a metrics document reads as ``metrics OrdersPlaced=1 ...``."""

    def write(document: str) -> None:
        data = json.loads(document)
        names = [m["Name"] for m in data["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
        logger.getChild("metrics").info(" ".join(["metrics", *(f"{n}={data[n]}" for n in names)]))

    return write


# -- the entry points ------------------------------------------------------------------
def arn_route(method_arn: str) -> str:
    """``GET /orders/123`` from an authorizer's method ARN (…/stage/GET/orders/123)."""
    parts = method_arn.split(":", 5)[-1].split("/", 3)
    return f"{parts[2]} /{parts[3]}" if len(parts) == 4 else ""
