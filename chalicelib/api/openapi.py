"""The OpenAPI 3 document served at GET /openapi.json.

Parameter and body schemas come from chalicelib/platform/schema.py and each feature's models, so the document
cannot drift from the validation the API really applies. A test checks that
every route of the app is documented here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.accounts.me import Me
from chalicelib.api.openapi_parts import (
    PUBLIC,
    RETRY_AFTER,
    SIGNED_IN,
    SIGNED_IN_ERRORS,
    WITH_BODY,
)
from chalicelib.api.openapi_parts import body as _body
from chalicelib.api.openapi_parts import error as _error
from chalicelib.api.openapi_parts import errors as _errors
from chalicelib.api.openapi_parts import ok as _ok
from chalicelib.api.openapi_parts import query_parameters as _query_parameters
from chalicelib.api.openapi_parts import schemas as _schemas
from chalicelib.api.photo_paths import PHOTO_MODELS, photo_paths
from chalicelib.catalog.product import Product, ProductIn, ProductUpdate, StockChange
from chalicelib.orders.order import Order, OrderIn, OrderListParams, OrderPage, SavedAddress
from chalicelib.platform.schema import ErrorBody
from chalicelib.search.results import BestSellers, BestSellersParams, ProductPage, SearchParams

DESCRIPTION = """Search the catalog, manage it (admin) and buy (signed in). Money is integer cents.

Every error has one body: `{"code", "message", "field"?}`. `code` is stable and
machine-readable (lower case from the API, upper case from API Gateway itself:
UNAUTHORIZED, ACCESS_DENIED, THROTTLED, MISSING_AUTHENTICATION_TOKEN); `field`
names the parameter or body field at fault. Besides the statuses listed per
operation: a method a path does not have is a 405 with `Allow` (deployed, API
Gateway answers an unknown method or path with a 403,
MISSING_AUTHENTICATION_TOKEN); an error of ours is a 500 (internal_error),
never with a stack trace.

Catalog reads (`GET /products`, `GET /products/{product_id}`) may be kept by
shared caches for a minute (`Cache-Control: public, max-age=0, s-maxage=60`);
the best sellers (`GET /products/best-sellers`) by any cache for five minutes
(`public, max-age=300`); every other answer is `no-store`."""


@cache
def document(server_url: str | None = None) -> dict[str, Any]:
    product_id = {"name": "product_id", "in": "path", "required": True, "schema": {"type": "string"}}
    order_id = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Serverless Pet Store API", "version": "1.0.0", "description": DESCRIPTION},
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
                        },
                        **_errors("429"),
                    },
                }
            },
            "/products": {
                "get": {
                    "summary": "Search and browse products",
                    "description": (
                        "Words are matched in name, brand, category, species and description, case- and "
                        "accent-insensitive, plural or singular; the last word is matched as a prefix while it is "
                        "typed, that is unless the query ends with a space. Every word must match. Search forgives, "
                        "and `query` says how: a word the catalog does not know is corrected from the catalog's own "
                        "words (1 typo from 5 letters, 2 from 9), split or joined as the catalog writes it, or "
                        "ignored; filler words are ignored; synonyms are searched too, ranked below the words as "
                        "typed; and if the words find nothing together, the least informative are left out until the "
                        "rest find something. `exact=true` turns corrections, compounds, filler words, synonyms and "
                        "leaving words out off. The whole result is ranked by relevance (BM25; a word counts most in "
                        "the name and as typed) or sorted; without words to rank (no `q`) `relevance` is best "
                        "selling, the most units sold first, then by name. `facets` are exact counts over the whole "
                        "result, each attribute counted with every filter but its own, with fixed price bands and "
                        "`counted`, the size of the result. Each item's `matches` gives the offsets of the matched "
                        "words in its name and description. Prices and stock are read from the catalog as they are "
                        "now; which products match comes from the search index, which follows the catalog within "
                        "seconds, not in the same transaction. A page before the last holds fewer than `limit` "
                        "products only when one of them left the filters (or the catalog) since the index last saw "
                        "it; follow `next_cursor` until it is null. While the stage has no search index yet, the "
                        "answer is a 503 with code index_not_ready and `Retry-After`."
                    ),
                    "operationId": "searchProducts",
                    "parameters": _query_parameters(SearchParams),
                    "responses": {
                        "200": _ok("A page of products", "ProductPage"),
                        **_errors("400", *PUBLIC),
                        "503": _error(
                            "The database is busy or unreachable (code service_unavailable), or the stage has no "
                            "search index yet (code index_not_ready); retry after `Retry-After`",
                            RETRY_AFTER,
                        ),
                    },
                },
                "post": {
                    "summary": "Create a product (admin)",
                    "operationId": "createProduct",
                    "security": SIGNED_IN,
                    "requestBody": _body("ProductIn"),
                    "responses": {
                        "201": _ok("The product as saved", "Product"),
                        "409": _error("A product with this id exists"),
                        **_errors(*WITH_BODY, *SIGNED_IN_ERRORS),
                    },
                },
            },
            "/products/best-sellers": {
                "get": {
                    "summary": "The best sellers, for the front page",
                    "description": (
                        "The products with the most units sold (the sales counters the order events keep: "
                        "an order counts once the stream has carried it, a cancellation takes it back), then "
                        "by name; only products that have sold. Same product shape as a search's items, "
                        "photos included; prices and stock as the catalog has them now. Cached for five "
                        "minutes at the shop's CloudFront, one in a browser "
                        "(`Cache-Control: public, max-age=60, s-maxage=300`)."
                    ),
                    "operationId": "listBestSellers",
                    "parameters": _query_parameters(BestSellersParams),
                    "responses": {
                        "200": _ok("The best sellers, the most units first", "BestSellers"),
                        **_errors("400", *PUBLIC),
                        "503": _error(
                            "The database is busy or unreachable (code service_unavailable), or the stage has no "
                            "search index yet (code index_not_ready); retry after `Retry-After`",
                            RETRY_AFTER,
                        ),
                    },
                }
            },
            "/products/{product_id}": {
                "parameters": [product_id],
                "get": {
                    "summary": "One product",
                    "operationId": "getProduct",
                    "responses": {
                        "200": _ok("The product", "Product"),
                        "404": _error("No such product"),
                        **_errors(*PUBLIC),
                    },
                },
                "put": {
                    "summary": "Replace a product's fields (admin); without `stock` the stock is kept",
                    "operationId": "updateProduct",
                    "security": SIGNED_IN,
                    "parameters": [
                        {
                            "name": "If-Match",
                            "in": "header",
                            "required": False,
                            "description": 'The product\'s `version` as read, in quotes ("3"): the edit is refused '
                            "with a 409 if another edit came first (purchases do not count). Without it the last "
                            "edit wins.",
                            "schema": {"type": "string", "maxLength": 20},
                        }
                    ],
                    "requestBody": _body("ProductUpdate"),
                    "responses": {
                        "200": _ok("The product as saved", "Product"),
                        "404": _error("No such product"),
                        "409": _error("With If-Match: the product was edited since that version (field If-Match)"),
                        **_errors(*WITH_BODY, *SIGNED_IN_ERRORS),
                    },
                },
                "delete": {
                    "summary": "Delete a product (admin)",
                    "operationId": "deleteProduct",
                    "security": SIGNED_IN,
                    "responses": {
                        "204": {"description": "Deleted"},
                        "404": _error("No such product"),
                        **_errors(*SIGNED_IN_ERRORS),
                    },
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
                        "404": _error("No such product"),
                        "409": _error("The stock would fall below 0 or rise above the maximum"),
                        **_errors(*WITH_BODY, *SIGNED_IN_ERRORS),
                    },
                },
            },
            **photo_paths(product_id),
            "/orders": {
                "get": {
                    "summary": "The caller's orders, newest first",
                    "operationId": "listOrders",
                    "security": SIGNED_IN,
                    "parameters": _query_parameters(OrderListParams),
                    "responses": {
                        "200": _ok("A page of orders", "OrderPage"),
                        **_errors("400", *SIGNED_IN_ERRORS),
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
                        "409": _error(
                            "out_of_stock (`lines`: product_id, requested, available) or idempotency_key_reused"
                        ),
                        **_errors(*WITH_BODY, *SIGNED_IN_ERRORS),
                    },
                },
            },
            "/orders/{order_id}": {
                "parameters": [order_id],
                "get": {
                    "summary": "One of the caller's orders",
                    "operationId": "getOrder",
                    "security": SIGNED_IN,
                    "responses": {
                        "200": _ok("The order", "Order"),
                        "404": _error("No such order of yours"),
                        **_errors(*SIGNED_IN_ERRORS),
                    },
                },
            },
            "/orders/{order_id}/cancel": {
                "parameters": [order_id],
                "post": {
                    "summary": "Cancel a placed order; its stock is put back",
                    "operationId": "cancelOrder",
                    "security": SIGNED_IN,
                    "responses": {
                        "200": _ok("The cancelled order", "Order"),
                        "404": _error("No such order of yours"),
                        "409": _error("The order is not placed any more"),
                        **_errors(*SIGNED_IN_ERRORS),
                    },
                },
            },
            "/me": {
                "get": {
                    "summary": "The caller's id, email and roles",
                    "operationId": "me",
                    "security": SIGNED_IN,
                    "responses": {"200": _ok("The caller", "Me"), **_errors(*SIGNED_IN_ERRORS)},
                }
            },
            "/me/address": {
                "get": {
                    "summary": "The shipping address of the caller's last order, to offer at checkout",
                    "description": "Kept with the account, server-side: each order placed replaces it, in the "
                    "same transaction as the order. null before the first order.",
                    "operationId": "myAddress",
                    "security": SIGNED_IN,
                    "responses": {"200": _ok("The last address used", "SavedAddress"), **_errors(*SIGNED_IN_ERRORS)},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {
                        "200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}},
                        **_errors("429"),
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(
                BestSellers,
                ErrorBody,
                Me,
                Order,
                OrderIn,
                OrderPage,
                Product,
                ProductIn,
                ProductPage,
                ProductUpdate,
                SavedAddress,
                SearchParams,
                StockChange,
                *PHOTO_MODELS,
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
