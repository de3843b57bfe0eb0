"""Serverless Pet Store: the table of contents.

One blueprint per deployed function (chalicelib/api/): each has its own
Lambda, role and alarms in a packaged stage (``make package``). Registered
together here, they are the app that ``chalice local``, ``chalice deploy``
and the tests run.

Importing it changes nothing else: API Gateway's own answers (a 401 without
a token, CORS on every error) are emulated by the local tooling
(``localdev/gateway.py``), which ``make run``, ``make api`` and the test
fixtures install.
"""

from __future__ import annotations

from chalicelib.api import admin, authorizer, images, indexer, order_events, purchase, search, shop_app

app = shop_app(
    search.bp,  # GET /health, /products, /products/best-sellers, /products/{id}, /openapi.json
    purchase.bp,  # /me, /me/address, /orders... (signed in)
    admin.bp,  # POST/PUT/DELETE /products, /products/{id}/stock, /products/{id}/photos (admin role)
    authorizer.bp,  # jwt_auth: verifies the caller's JWT
    order_events.bp,  # handle_table_stream: the table's stream -> order follow-ups
    indexer.bp,  # index_table_stream: the table's stream -> the search index
    images.bp,  # process_photo_uploads: the uploads bucket's queue -> photo renditions
)
