"""Domain errors, and the one place where they become HTTP responses.

Services raise these; the ``api_errors`` decorator on each view turns them
into JSON responses. Chalice turns any other exception in a view into a bare
500 before middleware could see it, so the mapping has to wrap the view.

AWS being busy or out of reach, once botocore's bounded retries are spent
(chalicelib/bootstrap.py), is a 503 with ``Retry-After``: the client may try
again; nothing was half-written (every write is one request or transaction).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import ChaliceViewError, Response

if TYPE_CHECKING:
    # Only for the annotation: services and the stream handler raise these
    # errors without loading pydantic.
    from pydantic import ValidationError

logger = logging.getLogger(__name__)


class ShopError(Exception):
    status = 500
    code = "internal_error"
    retry_after_s: int | None = None  # a 503 says when to try again

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def details(self) -> dict[str, Any]:
        """Extra machine-readable fields of the error body."""
        return {}


class InvalidInput(ShopError):
    status = 400
    code = "invalid_input"


class Forbidden(ShopError):
    status = 403
    code = "forbidden"


class NotFound(ShopError):
    status = 404
    code = "not_found"


class ProductNotFound(NotFound):
    code = "product_not_found"

    def __init__(self, product_id: str) -> None:
        super().__init__(f"no product with id {product_id!r}")


class Conflict(ShopError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ShopError):
    status = 413
    code = "payload_too_large"


RETRY_AFTER_S = 1

# DynamoDB's answers that mean "busy, try again", whole-request or per
# transaction item (a TransactionCanceledException's reasons).
TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
TRANSIENT_CANCELLATION_CODES = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})


def is_transient_aws_error(exc: BaseException) -> bool:
    """AWS was busy or unreachable: the same request may succeed later."""
    from botocore import exceptions as aws

    if isinstance(exc, (aws.ConnectionError, aws.HTTPClientError)):
        return True  # refused, timed out, reset
    if not isinstance(exc, aws.ClientError):
        return False
    error = exc.response.get("Error", {})
    if error.get("Code") in TRANSIENT_AWS_CODES:
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return any(reason.get("Code") in TRANSIENT_CANCELLATION_CODES for reason in reasons)


def from_validation_error(exc: ValidationError, where: str = "") -> InvalidInput:
    """The first problem pydantic found, naming the field it is about."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = f"unknown {where or 'field'} {field!r}"
    elif field:
        message = f"{field}: {message}"
    return InvalidInput(message, field=field)


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, **(details or {})}
    if field:
        body["field"] = field
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


def service_unavailable() -> Response:
    return error_response(
        503,
        "service_unavailable",
        "the shop is busy just now; nothing was changed, please try again",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


F = TypeVar("F", bound=Callable[..., Any])


def _count_server_error() -> None:
    """ServerErrors: Lambda's Errors metric never sees a 500 the view returns."""
    # Imported here: the domain raises these errors and must not build AWS clients.
    from .bootstrap import get_metrics
    from .metrics import SERVER_ERRORS, Metric

    get_metrics().append(Metric(SERVER_ERRORS))


def api_errors(view: F) -> F:
    """Map domain errors to JSON responses; log and hide anything unexpected."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ShopError as exc:
            retry = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
            return error_response(exc.status, exc.code, exc.message, exc.field, exc.details(), retry)
        except ChaliceViewError:
            raise  # Chalice's own 4xx (e.g. a body that is not JSON)
        except Exception as exc:
            if is_transient_aws_error(exc):
                logger.warning("AWS is busy or unreachable in %s: %s", view.__name__, exc)
                _count_server_error()  # the shopper saw a failure of ours: the alarm must hear of it
                return service_unavailable()
            logger.exception("unhandled error in %s", view.__name__)
            _count_server_error()
            return error_response(500, "internal_error", "something went wrong on our side")

    return wrapper  # type: ignore[return-value]


class OutOfStock(Conflict):
    code = "out_of_stock"

    def __init__(self, short: list[dict[str, int | str]]) -> None:
        names = ", ".join(f"{line['product_id']} ({line['available']} left)" for line in short)
        super().__init__(f"not enough stock for: {names}", field="items")
        self.short = short

    def details(self) -> dict[str, Any]:
        return {"lines": self.short}


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            "this Idempotency-Key was used for a different order; use a new key per checkout attempt",
            field="Idempotency-Key",
        )
