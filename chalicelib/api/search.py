"""The search function: public, read-only catalog routes."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from .. import catalog, openapi
from ..bootstrap import get_metrics, get_search_index, get_table
from ..errors import api_errors
from ..models import SearchParams
from ..search.service import result_page, search_products
from .http import dump, query_params

bp = Blueprint(__name__)


@bp.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@bp.route("/products")
@api_errors
def list_products() -> dict[str, Any]:
    params = query_params(bp.current_request, SearchParams)
    found = search_products(get_table(), get_search_index(), params, metrics=get_metrics())
    return dump(result_page(found, params))


@bp.route("/products/{product_id}")
@api_errors
def get_product(product_id: str) -> dict[str, Any]:
    return dump(catalog.get_product(get_table(), product_id))


@bp.route("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return openapi.document()
