"""The search function: public, read-only catalog routes."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from .. import catalog, openapi
from ..bootstrap import get_metrics, get_table
from ..errors import api_errors
from ..models import ProductPage, SearchParams
from ..search import search_products
from .http import dump, query_params

bp = Blueprint(__name__)


@bp.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@bp.route("/products")
@api_errors
def list_products() -> dict[str, Any]:
    result = search_products(get_table(), query_params(bp.current_request, SearchParams), metrics=get_metrics())
    return dump(ProductPage(items=result.items, next_cursor=result.next_cursor))


@bp.route("/products/{product_id}")
@api_errors
def get_product(product_id: str) -> dict[str, Any]:
    return dump(catalog.get_product(get_table(), product_id))


@bp.route("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return openapi.document()
