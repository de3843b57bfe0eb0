"""The shop's entry points: one Chalice blueprint per deployed function.

| blueprint | function | routes or events |
|---|---|---|
| ``search`` | search | GET /health, /products, /products/{id}, /openapi.json |
| ``purchase`` | purchase | /me, /me/address, /orders, /orders/{id}, POST /orders/{id}/cancel |
| ``admin`` | catalog admin | POST/PUT/DELETE /products, POST /products/{id}/stock, /products/{id}/photos |
| ``authorizer`` | authorizer | the JWT authorizer of the signed-in routes |
| ``order_events`` | order events | the table's stream |
| ``indexer`` | indexer | the table's stream (and ``{"rebuild": true}``) |
| ``images`` | image | the uploads bucket's queue: photo renditions |

``app.py`` registers them all: that is the app ``chalice local``, ``chalice
deploy`` and the tests run. In a packaged stage (``make package``) each API
function runs an app of its own blueprint only (chalicelib/lambdas/), so it
imports only what its routes use; the authorizer and the stream handler are
already separate Lambdas with their blueprint module as handler.
"""

from __future__ import annotations

import os

from chalice import Blueprint, Chalice, CORSConfig

from chalicelib.api.request_log import request_logger
from chalicelib.api.responses import finish_response
from chalicelib.bootstrap import get_telemetry

APP_NAME = "petstore"


_registered: set[Blueprint] = set()


def shop_app(*blueprints: Blueprint) -> Chalice:
    """A Chalice app serving ``blueprints``, with the shop's CORS settings,
    error body and headers (chalicelib/api/responses.py)."""
    app = Chalice(app_name=APP_NAME)
    app.register_middleware(finish_response, "http")
    # CORS_ALLOW_ORIGIN is the stage's (.chalice/config.json): "*" for the
    # local and dev stages, whose API a SPA on a laptop may call (bearer
    # tokens, not cookies, carry the session); unset or "", no other origin
    # at all, as a deployed shop calls its API on its own origin.
    origin = os.environ.get("CORS_ALLOW_ORIGIN", "")
    if origin:
        app.api.cors = CORSConfig(
            allow_origin=origin,
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
            max_age=600,
        )
    for blueprint in blueprints:
        # Chalice's registration consumes the blueprint's route options, so a
        # second app in the same process would silently get them wrong.
        if blueprint in _registered:
            raise RuntimeError(f"blueprint {blueprint._import_name} already serves an app in this process")
        _registered.add(blueprint)
        app.register_blueprint(blueprint)
    app.register_middleware(request_logger(app, get_telemetry), "http")  # one log line per request
    return app
