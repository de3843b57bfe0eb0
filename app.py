"""Serverless Pet Store: the table of contents.

One blueprint per deployed function (chalicelib/api/): each has its own
Lambda, role and alarms in a packaged stage (``make package``). Registered
together here, they are the app that ``chalice local``, ``chalice deploy``
and the tests run.
"""

from __future__ import annotations

from chalicelib.api import admin, authorizer, order_events, purchase, search, shop_app

app = shop_app(
    search.bp,  # GET /health, /products, /products/{id}, /openapi.json
    purchase.bp,  # /me, /orders... (signed in)
    admin.bp,  # POST/PUT/DELETE /products, /products/{id}/stock (admin role)
    authorizer.bp,  # jwt_auth: verifies the caller's JWT
    order_events.bp,  # handle_table_stream: the table's stream
)
