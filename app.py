"""Serverless Pet Store: the table of contents.

One blueprint per deployed function (chalicelib/api/): each has its own
Lambda, role and alarms in a packaged stage (``make package``). Registered
together here, they are the app that ``chalice local``, ``chalice deploy``
and the tests run.
"""

from __future__ import annotations

import os

from chalicelib.api import admin, authorizer, indexer, order_events, purchase, search, shop_app

if "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:  # `chalice local` on a developer's machine
    from scripts import gateway

    gateway.install()  # answer as API Gateway does: its 401s and 403s with CORS, a backlog of 128

app = shop_app(
    search.bp,  # GET /health, /products, /products/{id}, /openapi.json
    purchase.bp,  # /me, /orders... (signed in)
    admin.bp,  # POST/PUT/DELETE /products, /products/{id}/stock (admin role)
    authorizer.bp,  # jwt_auth: verifies the caller's JWT
    order_events.bp,  # handle_table_stream: the table's stream -> order follow-ups
    indexer.bp,  # index_table_stream: the table's stream -> the search index
)
