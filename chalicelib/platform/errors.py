"""The shop's domain errors: raised by the features, answered by the API.

Each carries the HTTP status and the stable ``code`` of its answer, and the
field at fault; ``chalicelib/api/responses.py`` is the one place that turns
them into responses. Nothing here imports chalice or boto3: the rules code
raises these without loading either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only for the annotation: services and the stream handler raise these
    # errors without loading pydantic.
    from pydantic import ValidationError


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
