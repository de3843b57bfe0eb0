"""The catalog admin function: products and stock, for the admin role only."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.authorizer import jwt_auth
from chalicelib.api.http import dump, if_match_version, json_body, require_role
from chalicelib.api.responses import api_errors
from chalicelib.bootstrap import get_product_store, get_settings
from chalicelib.catalog import products as catalog
from chalicelib.catalog.product import ProductIn, ProductUpdate, StockChange

bp = Blueprint(__name__)


def require_admin() -> None:
    require_role(bp.current_request, get_settings().admin_role)


@bp.route("/products", methods=["POST"], authorizer=jwt_auth)
@api_errors
def create_product() -> Response:
    require_admin()
    product = catalog.create_product(get_product_store(), json_body(bp.current_request, ProductIn))
    return Response(dump(product), status_code=201, headers={"Location": f"/products/{product.id}"})


@bp.route("/products/{product_id}", methods=["PUT"], authorizer=jwt_auth)
@api_errors
def update_product(product_id: str) -> dict[str, Any]:
    require_admin()
    fields = json_body(bp.current_request, ProductUpdate)
    seen = if_match_version(bp.current_request.headers.get("if-match"), fields.version)
    return dump(catalog.update_product(get_product_store(), product_id, fields, expected_version=seen))


@bp.route("/products/{product_id}/stock", methods=["POST"], authorizer=jwt_auth)
@api_errors
def adjust_stock(product_id: str) -> dict[str, Any]:
    require_admin()
    change = json_body(bp.current_request, StockChange).change
    return dump(catalog.adjust_stock(get_product_store(), product_id, change))


@bp.route("/products/{product_id}", methods=["DELETE"], authorizer=jwt_auth)
@api_errors
def delete_product(product_id: str) -> Response:
    require_admin()
    catalog.delete_product(get_product_store(), product_id)
    return Response(body="", status_code=204)
