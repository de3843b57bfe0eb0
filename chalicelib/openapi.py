"""The OpenAPI 3 document served at GET /openapi.json.

Parameter and body schemas come from chalicelib/models.py, so the document
cannot drift from the validation the API really applies. A test checks that
every route of the app is documented here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from .models import (
    ErrorBody,
    Me,
    Order,
    OrderIn,
    OrderPage,
    Product,
    ProductIn,
    ProductPage,
    ProductUpdate,
    SearchParams,
    StockChange,
)

REF = "#/components/schemas/"


def _schemas(*models: type[BaseModel]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF + "{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF + "ErrorBody"}}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF + schema}}}}


def _query_parameters() -> list[dict[str, Any]]:
    schema = SearchParams.model_json_schema(ref_template=REF + "{model}")
    params = []
    for name, prop in schema["properties"].items():
        description = prop.pop("description", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": REF + schema}}}}


SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}]
AUTH_ERRORS = {
    "401": _error("No valid token (API Gateway's answer: code UNAUTHORIZED)"),
}
ADMIN_ERRORS = {**AUTH_ERRORS, "403": _error("The caller is not in the admin role")}


@cache
def document(server_url: str | None = None) -> dict[str, Any]:
    product_id = {"name": "product_id", "in": "path", "required": True, "schema": {"type": "string"}}
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "Serverless Pet Store API",
            "version": "1.0.0",
            "description": "Search the catalog, manage it (admin) and buy (signed in). Money is integer cents.",
        },
        "paths": {
            "/health": {
                "get": {
                    "summary": "Liveness check",
                    "operationId": "health",
                    "responses": {
                        "200": {
                            "description": "The API is up",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "properties": {"status": {"type": "string"}}}
                                }
                            },
                        }
                    },
                }
            },
            "/products": {
                "get": {
                    "summary": "Search and browse products",
                    "description": (
                        "Words are matched in name, brand, category, species and description, case- and "
                        "accent-insensitive, plural or singular; the last word is matched as a prefix unless "
                        "the query ends with a space. Several words must all match. When they find nothing, "
                        "the query is understood more loosely, and `query` says how: a word the catalog does "
                        "not know is corrected (1 typo from 5 letters, 2 from 9) or ignored, filler words "
                        "are ignored, synonyms are searched for, and then the last words are dropped until "
                        "something is found. Every page of a search keeps the first page's understanding. "
                        "Each item's `matches` gives the offsets of the matched words in its name and "
                        "description; `facets` counts the matching products read, per species, category "
                        "and brand. Pages may be shorter than `limit` when filters are very selective; "
                        "follow `next_cursor` until it is null."
                    ),
                    "operationId": "searchProducts",
                    "parameters": _query_parameters(),
                    "responses": {
                        "200": _ok("A page of products", "ProductPage"),
                        "400": _error("A parameter is invalid; `field` names it"),
                    },
                },
                "post": {
                    "summary": "Create a product (admin)",
                    "operationId": "createProduct",
                    "security": SIGNED_IN,
                    "requestBody": _body("ProductIn"),
                    "responses": {
                        "201": _ok("The product as saved", "Product"),
                        "400": _error("A field is invalid; `field` names it"),
                        "409": _error("A product with this id exists"),
                        **ADMIN_ERRORS,
                    },
                },
            },
            "/products/{product_id}": {
                "parameters": [product_id],
                "get": {
                    "summary": "One product",
                    "operationId": "getProduct",
                    "responses": {"200": _ok("The product", "Product"), "404": _error("No such product")},
                },
                "put": {
                    "summary": "Replace a product's fields (admin); without `stock` the stock is kept",
                    "operationId": "updateProduct",
                    "security": SIGNED_IN,
                    "requestBody": _body("ProductUpdate"),
                    "responses": {
                        "200": _ok("The product as saved", "Product"),
                        "400": _error("A field is invalid; `field` names it"),
                        "404": _error("No such product"),
                        "409": _error("The product (or, with `stock` left out, its stock) changed meanwhile; retry"),
                        **ADMIN_ERRORS,
                    },
                },
                "delete": {
                    "summary": "Delete a product (admin)",
                    "operationId": "deleteProduct",
                    "security": SIGNED_IN,
                    "responses": {"204": {"description": "Deleted"}, "404": _error("No such product"), **ADMIN_ERRORS},
                },
            },
            "/products/{product_id}/stock": {
                "parameters": [product_id],
                "post": {
                    "summary": "Add to or take from the stock as it is now, atomically (admin)",
                    "operationId": "adjustStock",
                    "security": SIGNED_IN,
                    "requestBody": _body("StockChange"),
                    "responses": {
                        "200": _ok("The product with its new stock", "Product"),
                        "400": _error("`change` is missing, 0 or out of range"),
                        "404": _error("No such product"),
                        "409": _error("The stock would fall below 0 or rise above the maximum"),
                        **ADMIN_ERRORS,
                    },
                },
            },
            "/orders": {
                "get": {
                    "summary": "The caller's orders, newest first",
                    "operationId": "listOrders",
                    "security": SIGNED_IN,
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": _ok("A page of orders", "OrderPage"),
                        "400": _error("Bad parameter"),
                        **AUTH_ERRORS,
                    },
                },
                "post": {
                    "summary": "Buy: the server prices the cart and takes the stock, atomically",
                    "operationId": "placeOrder",
                    "security": SIGNED_IN,
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": True,
                            "description": "One new key per checkout attempt; a retry with the same key and body "
                            "returns the same order (header Idempotent-Replayed: true).",
                            "schema": {"type": "string", "maxLength": 100, "pattern": "^[A-Za-z0-9_-]+$"},
                        }
                    ],
                    "requestBody": _body("OrderIn"),
                    "responses": {
                        "201": _ok("The order (also for a replay of the same key and body)", "Order"),
                        "400": _error("Bad cart, unknown product, missing Idempotency-Key; `field` names it"),
                        "409": _error(
                            "out_of_stock (`lines`: product_id, requested, available) or idempotency_key_reused"
                        ),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/orders/{order_id}": {
                "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "get": {
                    "summary": "One of the caller's orders",
                    "operationId": "getOrder",
                    "security": SIGNED_IN,
                    "responses": {
                        "200": _ok("The order", "Order"),
                        "404": _error("No such order of yours"),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/orders/{order_id}/cancel": {
                "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "post": {
                    "summary": "Cancel a placed order; its stock is put back",
                    "operationId": "cancelOrder",
                    "security": SIGNED_IN,
                    "responses": {
                        "200": _ok("The cancelled order", "Order"),
                        "404": _error("No such order of yours"),
                        "409": _error("The order is not placed any more"),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/me": {
                "get": {
                    "summary": "The caller's id, email and roles",
                    "operationId": "me",
                    "security": SIGNED_IN,
                    "responses": {"200": _ok("The caller", "Me"), **AUTH_ERRORS},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {"200": {"description": "OpenAPI 3 document"}},
                }
            },
        },
        "components": {
            "schemas": _schemas(
                ErrorBody, Me, Order, OrderIn, OrderPage, Product, ProductIn, ProductPage, ProductUpdate, StockChange
            ),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from the stage's identity provider (Cognito or Auth0).",
                }
            },
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
