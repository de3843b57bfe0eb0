"""Serverless Pet Store API: the route table.

Each view parses the request, calls one service function and returns its
result. The work happens in chalicelib/ (see README.md for the map).
"""

from __future__ import annotations

import os
from typing import Any

from chalice import Chalice, CORSConfig
from pydantic import ValidationError

from chalicelib import catalog, openapi
from chalicelib.bootstrap import get_table
from chalicelib.errors import api_errors, from_validation_error
from chalicelib.models import ProductPage, SearchParams
from chalicelib.search import search_products

app = Chalice(app_name="petstore")
# Bearer tokens, not cookies, carry the session, so any origin may read
# responses; a stage can still pin its SPA origin with CORS_ALLOW_ORIGIN.
app.api.cors = CORSConfig(
    allow_origin=os.environ.get("CORS_ALLOW_ORIGIN", "*"),
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
    max_age=600,
)


def query_params() -> dict[str, Any]:
    return dict(app.current_request.query_params or {})


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/products")
@api_errors
def list_products() -> dict[str, Any]:
    try:
        params = SearchParams.model_validate(query_params())
    except ValidationError as exc:
        raise from_validation_error(exc, where="parameter") from exc
    result = search_products(get_table(), params)
    return ProductPage(items=result.items, next_cursor=result.next_cursor).model_dump(mode="json")


@app.route("/products/{product_id}")
@api_errors
def get_product(product_id: str) -> dict[str, Any]:
    return catalog.get_product(get_table(), product_id).model_dump(mode="json")


@app.route("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return openapi.document()
