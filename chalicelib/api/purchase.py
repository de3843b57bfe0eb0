"""The purchase function: the signed-in shopper's account and orders."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.accounts import profile
from chalicelib.api.authorizer import jwt_auth
from chalicelib.api.http import caller, dump, json_body, query_params
from chalicelib.api.responses import api_errors
from chalicelib.bootstrap import get_cognito, get_metrics, get_order_store, get_settings
from chalicelib.orders import checkout as orders
from chalicelib.orders.order import OrderIn, OrderListParams

bp = Blueprint(__name__)


def describe_caller() -> dict[str, Any]:
    """Id, email and roles; the email from the token, else (Cognito access
    tokens carry none) from Cognito's GetUser. The provider is read from the
    settings: the verifier (and PyJWT) belongs to the authorizer function."""
    request = bp.current_request
    cognito = get_cognito if get_settings().auth_provider == "cognito" else None
    return profile.describe(caller(request), request.headers.get("authorization", ""), cognito)


@bp.route("/me", authorizer=jwt_auth)
@api_errors
def me() -> dict[str, Any]:
    return describe_caller()


@bp.route("/me/address", authorizer=jwt_auth)
@api_errors
def my_address() -> dict[str, Any]:
    return dump(orders.saved_address(get_order_store(), caller(bp.current_request).sub))


@bp.route("/orders", methods=["POST"], authorizer=jwt_auth)
@api_errors
def place_order() -> Response:
    request = bp.current_request
    key = orders.validate_idempotency_key(request.headers.get("idempotency-key"))
    order_in = json_body(request, OrderIn)
    order, replayed = orders.place_order(
        get_order_store(), caller(request).sub, key, order_in, email=describe_caller()["email"], metrics=get_metrics()
    )
    headers: dict[str, str | list[str]] = {
        "Location": f"/orders/{order.id}",
        "Idempotent-Replayed": str(replayed).lower(),
    }
    return Response(dump(order), status_code=201, headers=headers)


@bp.route("/orders", authorizer=jwt_auth)
@api_errors
def list_orders() -> dict[str, Any]:
    params = query_params(bp.current_request, OrderListParams)
    return dump(orders.list_orders(get_order_store(), caller(bp.current_request).sub, params.limit, params.cursor))


@bp.route("/orders/{order_id}", authorizer=jwt_auth)
@api_errors
def get_order(order_id: str) -> dict[str, Any]:
    return dump(orders.get_order(get_order_store(), caller(bp.current_request).sub, order_id))


@bp.route("/orders/{order_id}/cancel", methods=["POST"], authorizer=jwt_auth)
@api_errors
def cancel_order(order_id: str) -> dict[str, Any]:
    return dump(orders.cancel_order(get_order_store(), caller(bp.current_request).sub, order_id))
