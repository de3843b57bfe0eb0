"""One log line per API request: the HTTP middleware every ``shop_app`` registers.

The line's fields and how they are written are ``Telemetry``'s
(chalicelib/platform/observability.py); here is only what a Chalice request
tells of itself: its route, the blueprint serving it and its outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib.platform.observability import Telemetry


def outcome_of(status: int, body: Any) -> str:
    """The error body's ``code`` (Chalice's own errors say ``Code``), else ``ok``."""
    if isinstance(body, dict):
        code = body.get("code") or body.get("Code")
        if code:
            return str(code)
    return "ok" if status < 400 else f"http_{status}"


def blueprint_of(app: Chalice, request: Request) -> str:
    """The blueprint serving the route: chalicelib.api.<name>."""
    entry = app.routes.get(request.path, {}).get(request.method)
    module = getattr(getattr(entry, "view_function", None), "__module__", "") or ""
    return module.rsplit(".", 1)[-1] or app.app_name


def request_logger(
    app: Chalice, telemetry: Callable[[], Telemetry]
) -> Callable[[Request, Callable[[Request], Response]], Response]:
    """The HTTP middleware of ``shop_app``: one line per request."""

    def log_request(request: Request, get_response: Callable[[Request], Response]) -> Response:
        context = request.context or {}
        sub = (context.get("authorizer") or {}).get("sub")
        current_telemetry = telemetry()
        with current_telemetry.invocation(
            "request",
            function=blueprint_of(app, request),
            request_id=getattr(request.lambda_context, "aws_request_id", None),
            api_request_id=context.get("requestId"),
            route=f"{request.method} {request.path}",
            caller=current_telemetry.caller_of(sub) if sub else None,
        ) as current:
            response = get_response(request)
            current.facts.update(status=response.status_code, outcome=outcome_of(response.status_code, response.body))
            if response.status_code >= 500:
                current.level = logging.ERROR
        return response

    return log_request
