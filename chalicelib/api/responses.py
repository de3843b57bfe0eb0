"""What every API answer carries, set in one place: a Chalice HTTP middleware.

- Chalice answers some requests itself, before or around a view: a method
  the route does not have (405), a Content-Type it does not take (415), an
  unhandled error (500). Its body is ``{"Code", "Message"}``; here it becomes
  the shop's error body ``{"code", "message"}``, the one the OpenAPI document
  promises for every error.
- ``X-Content-Type-Options: nosniff`` on every answer.
- ``Cache-Control``: the public catalog reads may be kept by shared caches
  for a minute; a browser revalidates them, so an admin's edit or a purchase
  shows at once in the shop's own pages. The best sellers are kept five
  minutes, by browsers too. Everything else (the caller's
  account and orders, writes, errors) is ``no-store``.

``shop_app()`` registers ``finish_response`` on every app it builds, so the
packaged functions' own apps answer the same as ``app.py``.

The shop's own errors are mapped here too, by ``api_errors`` on each view:
Chalice turns any other exception in a view into a bare 500 before
middleware could see it, so the mapping has to wrap the view.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

from chalice import ChaliceViewError, Response
from chalice.app import Request

from chalicelib.platform.aws import is_transient_aws_error
from chalicelib.platform.errors import RETRY_AFTER_S, ShopError

logger = logging.getLogger(__name__)

CATALOG_CACHE: Final = "public, max-age=0, s-maxage=60"
DOCUMENT_CACHE: Final = "public, max-age=300"
# The front page's best sellers: the same for everyone, and minutes old is fine.
# The shop's CloudFront keeps them five minutes (infra/edge.py, BEST_SELLERS_PATH);
# a browser one: a page opened before the first sales sees them a minute later.
BEST_SELLERS_CACHE: Final = "public, max-age=60, s-maxage=300"
PRIVATE: Final = "no-store"
PUBLIC_READS: Final = {
    "/products": CATALOG_CACHE,
    "/products/{product_id}": CATALOG_CACHE,
    "/products/best-sellers": BEST_SELLERS_CACHE,
    "/openapi.json": DOCUMENT_CACHE,
}

# Chalice's own error codes and what the shop calls them.
CHALICE_CODES: Final = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "invalid_input",
    "BadRequestError": "invalid_input",
    "InternalServerError": "internal_error",
    "NotFoundError": "not_found",
}


def finish_response(request: Request | None, get_response: Callable[[Request | None], Response]) -> Response:
    """The middleware: the shop's error body and headers on every answer."""
    response = get_response(request)
    _use_shop_error_body(response)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = cache_control(request, response.status_code)
    return response


def cache_control(request: Request | None, status: int) -> str:
    if request is None or request.method != "GET" or status != 200:
        return PRIVATE
    return PUBLIC_READS.get(str(request.context.get("resourcePath")), PRIVATE)


def _use_shop_error_body(response: Response) -> None:
    body: Any = response.body
    if not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return
    code = str(body["Code"])
    response.body = {"code": CHALICE_CODES.get(code) or _snake_case(code), "message": str(body["Message"])}
    response.headers.setdefault("Content-Type", "application/json")


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower()


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
    # Imported here: the error mapping must not build AWS clients at import.
    from chalicelib.bootstrap import get_metrics
    from chalicelib.platform.metrics import SERVER_ERRORS, Metric

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
