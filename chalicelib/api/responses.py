"""What every API answer carries, set in one place: a Chalice HTTP middleware.

- Chalice answers some requests itself, before or around a view: a method
  the route does not have (405), a Content-Type it does not take (415), an
  unhandled error (500). Its body is ``{"Code", "Message"}``; here it becomes
  the shop's error body ``{"code", "message"}``, the one the OpenAPI document
  promises for every error.
- ``X-Content-Type-Options: nosniff`` on every answer.
- ``Cache-Control``: the public catalog reads may be kept by shared caches
  for a minute; a browser revalidates them, so an admin's edit or a purchase
  shows at once in the shop's own pages. Everything else (the caller's
  account and orders, writes, errors) is ``no-store``.

``shop_app()`` registers ``finish_response`` on every app it builds, so the
packaged functions' own apps answer the same as ``app.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from chalice import Response
from chalice.app import Request

CATALOG_CACHE: Final = "public, max-age=0, s-maxage=60"
DOCUMENT_CACHE: Final = "public, max-age=300"
PRIVATE: Final = "no-store"
PUBLIC_READS: Final = {
    "/products": CATALOG_CACHE,
    "/products/{product_id}": CATALOG_CACHE,
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
