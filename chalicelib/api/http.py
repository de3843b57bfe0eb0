"""What every view does with a request: validate it, name the caller, dump models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib.accounts.identity import Identity, from_context
from chalicelib.platform.errors import Forbidden, InvalidInput, PayloadTooLarge, from_validation_error

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024  # a product with the longest description, escaped, fits many times


def query_params(request: Request, model: type[M]) -> M:
    """The query string, validated; unknown parameters are refused."""
    try:
        return model.model_validate(dict(request.query_params or {}))
    except ValidationError as exc:
        raise from_validation_error(exc, where="parameter") from exc


def json_body(request: Request, model: type[M]) -> M:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes", field="body")
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise InvalidInput("the body is not valid JSON", field="body") from exc
    except RecursionError as exc:  # arrays or objects nested hundreds deep
        raise InvalidInput("the body nests too deep", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def if_match_version(header: str | None, in_body: int | None = None) -> int | None:
    """The version an edit was made on: ``If-Match: "<version>"``, or the body's
    ``version`` (a product read, edited and sent back); None when neither is given."""
    if header is None:
        return in_body
    raw = header.strip().removeprefix("W/").strip('"')
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput('If-Match must be a product\'s version in quotes, e.g. "3"', field="If-Match")
    if in_body is not None and in_body != int(raw):
        raise InvalidInput("If-Match and the body's version disagree", field="If-Match")
    return int(raw)


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def caller(request: Request) -> Identity:
    """The identity the authorizer put in the request context."""
    return from_context(request.context.get("authorizer") or {})


def require_role(request: Request, role: str) -> Identity:
    identity = caller(request)
    if role not in identity.roles:
        raise Forbidden(f"this needs the {role} role")
    return identity
