"""Serverless Pet Store API: the route table.

Each view parses the request, calls one service function and returns its
result. The work happens in chalicelib/ (see README.md for the map).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, TypeVar

from chalice import AuthResponse, Chalice, CORSConfig, Response, UnauthorizedError
from chalice.app import AuthRequest, DynamoDBEvent
from pydantic import BaseModel, ValidationError

from chalicelib import catalog, events, openapi, orders, profile
from chalicelib.auth import Identity, InvalidToken
from chalicelib.bootstrap import get_cognito, get_event_deps, get_settings, get_table, get_verifier
from chalicelib.errors import Forbidden, InvalidInput, api_errors, from_validation_error
from chalicelib.models import (
    OrderIn,
    OrderListParams,
    ProductIn,
    ProductPage,
    ProductUpdate,
    SearchParams,
    StockChange,
)
from chalicelib.search import search_products

app = Chalice(app_name="petstore")
app.log.setLevel(logging.INFO)
# Bearer tokens, not cookies, carry the session, so any origin may read
# responses; a stage can still pin its SPA origin with CORS_ALLOW_ORIGIN.
app.api.cors = CORSConfig(
    allow_origin=os.environ.get("CORS_ALLOW_ORIGIN", "*"),
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
    max_age=600,
)

M = TypeVar("M", bound=BaseModel)


# -- authorizer --------------------------------------------------------------
@app.authorizer(ttl_seconds=300)
def jwt_auth(auth_request: AuthRequest) -> AuthResponse:
    """Verify the caller's JWT (chalicelib/auth.py).

    API Gateway answers 401 when a TOKEN authorizer fails with exactly
    "Unauthorized". The policy allows every route ("*") because API Gateway
    caches it per token for all routes: which route a caller may use (admin
    only, own orders only) is decided in the views, from the identity passed
    in the context (values must be strings there, hence the joined roles).
    """
    try:
        identity = get_verifier().verify(auth_request.token)
    except InvalidToken as exc:
        app.log.info("refused a token: %s", exc)
        raise UnauthorizedError("Unauthorized") from exc
    return AuthResponse(
        routes=["*"],
        principal_id=identity.sub,
        context={"sub": identity.sub, "email": identity.email or "", "roles": ",".join(identity.roles)},
    )


def caller() -> Identity:
    context = app.current_request.context.get("authorizer") or {}
    return Identity(
        sub=context["sub"],
        email=context.get("email") or None,
        roles=tuple(r for r in str(context.get("roles", "")).split(",") if r),
    )


def describe_caller() -> dict[str, Any]:
    """Id, email and roles; the email from the token, else (Cognito access
    tokens carry none) from Cognito's GetUser."""
    token = app.current_request.headers.get("authorization", "")
    cognito = get_cognito if get_verifier().settings.cognito else None
    return profile.describe(caller(), token, cognito)


def require_admin() -> Identity:
    identity = caller()
    if get_settings().admin_role not in identity.roles:
        raise Forbidden("this needs the admin role")
    return identity


# -- request helpers -----------------------------------------------------------
def query_params(model: type[M]) -> M:
    """The query string, validated; unknown parameters are refused."""
    try:
        return model.model_validate(dict(app.current_request.query_params or {}))
    except ValidationError as exc:
        raise from_validation_error(exc, where="parameter") from exc


def json_body(model: type[M]) -> M:
    raw = app.current_request.raw_body or b""
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise InvalidInput("the body is not valid JSON", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


# -- public routes ---------------------------------------------------------------
@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/products")
@api_errors
def list_products() -> dict[str, Any]:
    result = search_products(get_table(), query_params(SearchParams))
    return dump(ProductPage(items=result.items, next_cursor=result.next_cursor))


@app.route("/products/{product_id}")
@api_errors
def get_product(product_id: str) -> dict[str, Any]:
    return dump(catalog.get_product(get_table(), product_id))


@app.route("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return openapi.document()


# -- signed in -------------------------------------------------------------------
@app.route("/me", authorizer=jwt_auth)
@api_errors
def me() -> dict[str, Any]:
    return describe_caller()


@app.route("/orders", methods=["POST"], authorizer=jwt_auth)
@api_errors
def place_order() -> Response:
    key = orders.validate_idempotency_key(app.current_request.headers.get("idempotency-key"))
    order_in = json_body(OrderIn)
    order, replayed = orders.place_order(get_table(), caller().sub, key, order_in, email=describe_caller()["email"])
    headers = {"Location": f"/orders/{order.id}", "Idempotent-Replayed": str(replayed).lower()}
    return Response(dump(order), status_code=201, headers=headers)


@app.route("/orders", authorizer=jwt_auth)
@api_errors
def list_orders() -> dict[str, Any]:
    params = query_params(OrderListParams)
    return dump(orders.list_orders(get_table(), caller().sub, params.limit, params.cursor))


@app.route("/orders/{order_id}", authorizer=jwt_auth)
@api_errors
def get_order(order_id: str) -> dict[str, Any]:
    return dump(orders.get_order(get_table(), caller().sub, order_id))


@app.route("/orders/{order_id}/cancel", methods=["POST"], authorizer=jwt_auth)
@api_errors
def cancel_order(order_id: str) -> dict[str, Any]:
    return dump(orders.cancel_order(get_table(), caller().sub, order_id))


# -- order events (the table's stream) ----------------------------------------------
# Deployed stages set TABLE_STREAM_ARN (an output of infra/template.yaml). The
# local stack has no Lambda event sources: it reads the stream itself and
# calls this handler (scripts/stack.py), as the event source mapping would.
LOCAL_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/petstore-local/stream/local"


@app.on_dynamodb_record(stream_arn=os.environ.get("TABLE_STREAM_ARN", LOCAL_STREAM_ARN), batch_size=50)
def handle_table_stream(event: DynamoDBEvent) -> dict[str, Any]:
    report = events.handle_records(event.to_dict()["Records"], get_event_deps())
    counts = {**report.done, "retry": len(report.retry), "dead_lettered": report.dead_lettered}
    if any(counts.values()):
        app.log.info("order events: %s", counts)
    return report.lambda_response()  # Lambda retries only the records listed in it


# -- admin -----------------------------------------------------------------------
@app.route("/products", methods=["POST"], authorizer=jwt_auth)
@api_errors
def create_product() -> Response:
    require_admin()
    product = catalog.create_product(get_table(), json_body(ProductIn))
    return Response(dump(product), status_code=201, headers={"Location": f"/products/{product.id}"})


@app.route("/products/{product_id}", methods=["PUT"], authorizer=jwt_auth)
@api_errors
def update_product(product_id: str) -> dict[str, Any]:
    require_admin()
    return dump(catalog.update_product(get_table(), product_id, json_body(ProductUpdate)))


@app.route("/products/{product_id}/stock", methods=["POST"], authorizer=jwt_auth)
@api_errors
def adjust_stock(product_id: str) -> dict[str, Any]:
    require_admin()
    return dump(catalog.adjust_stock(get_table(), product_id, json_body(StockChange).change))


@app.route("/products/{product_id}", methods=["DELETE"], authorizer=jwt_auth)
@api_errors
def delete_product(product_id: str) -> Response:
    require_admin()
    catalog.delete_product(get_table(), product_id)
    return Response(body="", status_code=204)
