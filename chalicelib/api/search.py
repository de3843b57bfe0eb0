"""The search function: public, read-only catalog routes."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import openapi
from chalicelib.api.http import dump, query_params
from chalicelib.api.responses import api_errors
from chalicelib.bootstrap import get_metrics, get_product_store, get_search_index, get_table
from chalicelib.catalog import products as catalog
from chalicelib.search.results import BestSellers, BestSellersParams, SearchParams
from chalicelib.search.service import best_sellers, result_page, search_products

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


@bp.route("/products/best-sellers")
@api_errors
def list_best_sellers() -> dict[str, Any]:
    params = query_params(bp.current_request, BestSellersParams)
    return dump(BestSellers(items=best_sellers(get_table(), get_search_index(), params)))


@bp.route("/products/{product_id}")
@api_errors
def get_product(product_id: str) -> dict[str, Any]:
    return dump(catalog.get_product(get_product_store(), product_id))


@bp.route("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return openapi.document()
