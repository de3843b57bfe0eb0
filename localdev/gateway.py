"""API Gateway's own responses, the same locally and deployed.

API Gateway, in front of a TOKEN authorizer:
- no Authorization header: 401, the authorizer is not even called;
- the authorizer fails with exactly "Unauthorized": 401;
- any other authorizer failure: 500;
- an explicit Deny: 403.
Its own responses carry no CORS headers unless *gateway responses* add them:
infra/gateway-responses.json defines them for DEFAULT_4XX and DEFAULT_5XX
(CORS headers and a JSON body ``{"code": ..., "message": ...}``), in the form
of API Gateway's ``x-amazon-apigateway-gateway-responses`` extension. ``make
package`` puts them in the stage's API definition (so every deployment of the
API carries them); after ``chalice deploy``, ``python -m
infra.gateway_responses --stage dev`` applies them (infra/gateway_responses.py).

Chalice's local gateway (``chalice local``, ``chalice.test.Client``) calls the
authorizer without a token and lets its exception escape (a 500, or an
exception in the test client). ``install()`` replaces its authorizer runner
with one that answers as above, with the headers and body of the same gateway
responses. The local stack and the test fixtures call it, so the same token
gets the same status and body everywhere.

``install()`` also makes ``chalice local``'s HTTP server answer like the API
Gateway endpoint in front of the functions:
- a path, or a method on a path, that the API does not define: 403
  ``MISSING_AUTHENTICATION_TOKEN`` (API Gateway's "Missing Authentication
  Token"), with the gateway responses' CORS headers;
- any method, TRACE or made up, and a malformed request: a JSON error, never
  the HTML page (501, 400) of Python's ``http.server``;
- concurrent clients: a thread per connection and a backlog of
  ``REQUEST_QUEUE_SIZE`` pending connections (Python's default is 5: the
  sixth client of a burst gets a connection reset);
- client input is bounded (``BoundedRequests``, which the SPA server shares):
  a ``Content-Length`` that is not a number of bytes is a 400, one over API
  Gateway's 10 MB a 413; a request's headers and body must arrive within
  ``REQUEST_TIMEOUT_S`` (a body shorter than its ``Content-Length`` is a 400
  then, and the connection is closed), an idle keep-alive connection is
  closed after ``IDLE_TIMEOUT_S``; an HTTP/0.9 request (no version) is a 400
  with an HTTP/1.1 status line, never an answer in HTTP/0.9; a client that
  goes away logs no traceback (``QuietClientErrors``);
- as CloudFront answers in front of it (``Compress: true`` on the /api/*
  behaviours, infra/edge.py): a JSON answer of 1,000 bytes to 10 MB is
  gzipped when the request's ``Accept-Encoding`` allows gzip, with ``Vary:
  Accept-Encoding`` (``compressible``, ``accepts_gzip``; the SPA server
  shares them); connections are kept alive (HTTP/1.1; a HEAD's answer has
  no body, so the next answer on the connection is read as one).
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler
from socketserver import BaseServer
from typing import TYPE_CHECKING, Any

from chalice import local
from chalice.app import ChaliceAuthorizer

from chalicelib.platform.config import ConfigError
from infra.gateway_responses import gateway_responses

REQUEST_QUEUE_SIZE = 128  # pending connections the local API and SPA servers accept
REQUEST_TIMEOUT_S = 5.0  # a request's headers, and its body, must arrive within this
IDLE_TIMEOUT_S = 60.0  # a keep-alive connection that sends no new request is closed after this
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit: a longer Content-Length is a 413
_CONTENT_LENGTH = re.compile(r"[0-9]{1,20}")
_HTTP_VERSION = re.compile(r"HTTP/([0-9]{1,10})\.([0-9]{1,10})")
# The methods API Gateway routes; a route defines some of them.
API_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# CloudFront's compression (``Compress: true``): objects of 1,000 to 10,000,000 bytes, of these types
# (a part of its list: those the shop serves), when the viewer accepts gzip.
COMPRESS_MIN_BYTES = 1_000
COMPRESS_MAX_BYTES = 10_000_000
COMPRESSIBLE_TYPES = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "text/plain",
        "application/javascript",
        "application/x-javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
    }
)
GZIP_LEVEL = 6  # zlib's default: cached where it matters, so a stronger level would cost little either


def compressible(content_type: str | None, size: int) -> bool:
    """Whether CloudFront would compress an answer of this type and size (for a viewer that accepts gzip)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in COMPRESSIBLE_TYPES and COMPRESS_MIN_BYTES <= size <= COMPRESS_MAX_BYTES


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether ``Accept-Encoding`` names gzip (or x-gzip) with a weight above 0.

    As CloudFront, it looks for gzip itself: ``*`` is not taken to mean gzip.
    """
    weights: dict[str, float] = {}
    for part in (accept_encoding or "").split(","):
        coding, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.lower()] = weight
    return max(weights.get("gzip", 0.0), weights.get("x-gzip", 0.0)) > 0


def gzipped(body: bytes) -> bytes:
    """``body`` gzipped, the same bytes every time (no timestamp)."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def gateway_error(status: int, response_type: str, message: str | None, context: Any) -> tuple[dict[str, str], bytes]:
    """Headers and body API Gateway sends for one of its own errors."""
    props = gateway_responses()["DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"]
    headers = {
        name.removeprefix("gatewayresponse.header."): value.strip("'")
        for name, value in props["responseParameters"].items()
    }
    body = (
        props["responseTemplates"]["application/json"]
        .replace("$context.error.responseType", response_type)
        .replace("$context.error.messageString", json.dumps(message))
    )
    headers.update({"Content-Type": "application/json", "x-amzn-RequestId": context.aws_request_id})
    return headers, body.encode()


class StageNotConfigured(local.LocalGatewayException):
    CODE = 503


class ApiGatewayAuthorizer(local.LocalGatewayAuthorizer):
    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, ChaliceAuthorizer):
            return super().authorize(raw_path, lambda_event, lambda_context)
        headers = {k.lower(): v for k, v in (lambda_event.get("headers") or {}).items()}
        if not headers.get("authorization"):
            raise local.NotAuthorizedError(*gateway_error(401, "UNAUTHORIZED", "Unauthorized", lambda_context))
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except local.ForbiddenError as exc:  # an explicit Deny
            message = "User is not authorized to access this resource"
            raise local.ForbiddenError(*gateway_error(403, "ACCESS_DENIED", message, lambda_context)) from exc
        except local.LocalGatewayException:
            raise
        except ConfigError as exc:
            # API Gateway would answer 500 (AUTHORIZER_CONFIGURATION_ERROR); locally the cause
            # is nearly always an embedded AWS that is not running, and the message says so.
            error = gateway_error(503, "AUTHORIZER_CONFIGURATION_ERROR", exc.message, lambda_context)
            raise StageNotConfigured(*error) from exc
        except Exception as exc:
            if str(exc) == "Unauthorized":
                error = gateway_error(401, "UNAUTHORIZED", "Unauthorized", lambda_context)
                raise local.NotAuthorizedError(*error) from exc
            error = gateway_error(500, "AUTHORIZER_FAILURE", None, lambda_context)
            raise local.InvalidAuthorizerError(*error) from exc


class ApiGateway(local.LocalGateway):
    """Chalice's LocalGateway, with API Gateway's answer to what the API does not define."""

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        if method != "OPTIONS" and method not in self._methods_of(path):
            raise local.ForbiddenError(*_missing_token(self._generate_lambda_context()))
        return super().handle_request(method, path, headers, body)

    def _methods_of(self, path: str) -> set[str]:
        """The methods the API defines on the route matching ``path`` (none: no route)."""
        try:
            route = self.event_converter._route_matcher.match_route(path)
        except ValueError:
            return set()
        return set(self._app_object.routes[route.route])


def _missing_token(context: Any) -> tuple[dict[str, str], bytes]:
    """API Gateway's answer to a path or method it has no integration for."""
    return gateway_error(403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", context)


class _RequestId:
    """The part of a Lambda context that ``gateway_error`` reads, for errors before any routing."""

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())


class ClientError(Exception):
    """A request the server refuses before any part of it reaches the app."""

    def __init__(self, status: int, response_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.response_type, self.message = status, response_type, message


if TYPE_CHECKING:  # for the checker, each mixin's base is what it is mixed into; at run time, none
    _Handler = BaseHTTPRequestHandler
    _Server = BaseServer
else:
    _Handler = _Server = object


class BoundedRequests(_Handler):
    """For ``http.server`` handlers: every read from a client has a bound, HTTP/0.9 is refused.

    Python's handler waits forever for a request line, headers or a body that
    never come, and answers ``GET /path`` (no version) in HTTP/0.9, a bare body.
    Here an idle connection is closed after ``IDLE_TIMEOUT_S``, quietly; once a
    request line has come, its headers (and the body, ``read_body``) must
    arrive within ``REQUEST_TIMEOUT_S``; a request without a version (or of
    a version other than 1.x) is a 400 with a status line. Errors go through
    the handler's own ``send_error``.
    """

    raw_requestline: bytes  # http.server's handle_one_request sets it (typeshed does not declare it)
    timeout = IDLE_TIMEOUT_S  # StreamRequestHandler sets it on the socket
    # Python's default, HTTP/0.9, answers a malformed request line without a status line.
    default_request_version = "HTTP/1.0"
    _idle = True

    def handle_one_request(self) -> None:
        self._idle = True  # until a request line comes
        self.connection.settimeout(IDLE_TIMEOUT_S)
        super().handle_one_request()

    def parse_request(self) -> bool:
        self._idle = False
        self.connection.settimeout(REQUEST_TIMEOUT_S)
        self.command, self.requestline = "", str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        # "GET /path" is HTTP/0.9, which has no status line, headers or errors; and only
        # HTTP/1.x is spoken here (Python answers HTTP/2 with a 505: client input, so a 400).
        version = _HTTP_VERSION.fullmatch(words[2]) if len(words) == 3 else None
        if len(words) == 2 or (version and int(version[1]) != 1):
            self.request_version = self.default_request_version
            self.close_connection = True
            self.send_error(400, f"{'HTTP/0.9' if len(words) == 2 else words[2]} is not supported: use HTTP/1.1")
            return False
        if not super().parse_request():
            return False
        if "Transfer-Encoding" in self.headers:  # a body not read here: what follows it is no request
            self.close_connection = True
        return True

    def end_headers(self) -> None:
        # An HTTP/1.0 client that asked to keep the connection is told it is kept (or it reads to the end).
        if self.request_version == "HTTP/1.0" and not self.close_connection:
            self.send_header("Connection", "keep-alive")
        super().end_headers()

    def read_body(self, length: int) -> bytes:
        """``length`` bytes of body, all within ``REQUEST_TIMEOUT_S``, or a ``ClientError``."""
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        chunks: list[bytes] = []
        remaining = length
        try:
            while remaining:
                left_s = deadline - time.monotonic()
                if left_s <= 0:
                    raise TimeoutError
                self.connection.settimeout(left_s)
                chunk = self.rfile.read1(min(remaining, 65536))
                if not chunk:  # the client closed its side
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
        except TimeoutError:
            pass
        if remaining:
            self.connection.settimeout(REQUEST_TIMEOUT_S)  # for the answer: none of the deadline may be left
            message = f"the body is shorter than its Content-Length ({length} bytes in {REQUEST_TIMEOUT_S:g} s)"
            raise ClientError(400, "BAD_REQUEST_BODY", message)
        return b"".join(chunks)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        if not self._idle:  # an idle keep-alive connection closed is nothing to report
            super().log_error(format, *args)


def content_length(headers: Any) -> int:
    """The request's body length: a ``ClientError`` unless it is one number of bytes, at most 10 MB."""
    values = {value.strip() for value in headers.get_all("Content-Length") or []}
    if not values:
        return 0
    if len(values) > 1 or not _CONTENT_LENGTH.fullmatch(next(iter(values))):
        raise ClientError(400, "BAD_REQUEST_BODY", "Content-Length must be one whole number of bytes")
    length = int(values.pop())
    if length > MAX_BODY_BYTES:
        raise ClientError(413, "REQUEST_TOO_LARGE", f"HTTP content length exceeded {MAX_BODY_BYTES} bytes")
    return length


class QuietClientErrors(_Server):
    """For ``socketserver`` servers: a client that goes away mid-request (a reset, a
    broken pipe, a timeout) is not a server error and prints no traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ApiRequestHandler(BoundedRequests, local.ChaliceRequestHandler):
    """Every method reaches the gateway, http.server's own errors are JSON with CORS,
    and client input is bounded (``BoundedRequests``)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # TRACE, CONNECT, anything: API Gateway answers them all
            return self._generic_handle
        raise AttributeError(name)

    def _generic_handle(self) -> None:
        if self.command not in API_METHODS:
            self.close_connection = True  # its body, if any, is not read
            self._send_error_response(local.ForbiddenError(*_missing_token(_RequestId())))
            return
        try:
            super()._generic_handle()  # reads the body first (_parse_payload): no answer is started
        except ClientError as refused:
            self.send_error(refused.status, refused.message, response_type=refused.response_type)

    # Chalice binds these to its own _generic_handle.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle  # noqa: N815

    def _parse_payload(self) -> tuple[dict[str, str], bytes | None]:
        length = content_length(self.headers)
        return dict(self.headers), self.read_body(length) if length else None

    def _send_http_response_with_body(self, code: int, headers: Any, body: str | bytes) -> None:
        """Chalice's answer with a body, gzipped as CloudFront gzips it; a HEAD's answer sends no body."""
        if not isinstance(body, bytes):
            body = body.encode("utf-8")
        headers = dict(headers)
        content_type = headers.pop("Content-Type", "application/json")  # Chalice's default
        if compressible(content_type, len(body)) and not _header(headers, "Content-Encoding"):
            _add_vary(headers, "Accept-Encoding")
            request = getattr(self, "headers", None)  # none yet for a malformed request line
            if request is not None and accepts_gzip(request.get("Accept-Encoding")):
                body = gzipped(body)
                headers["Content-Encoding"] = "gzip"
                etag = _header(headers, "ETag")
                if isinstance(etag, str) and not etag.startswith("W/"):  # as CloudFront: no longer byte-equal
                    headers[_name(headers, "ETag")] = f"W/{etag}"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", content_type)
        self._send_headers(headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(
        self,
        code: int,
        message: str | None = None,
        explain: str | None = None,
        response_type: str | None = None,
    ) -> None:
        reason = message or self.responses.get(code, ("Bad request",))[0]
        response_type = response_type or ("DEFAULT_4XX" if code < 500 else "DEFAULT_5XX")
        headers, body = gateway_error(code, response_type, reason, _RequestId())
        self.close_connection = True
        self._send_http_response(code, headers, body)


def _name(headers: dict[str, Any], name: str) -> str:
    """The key under which ``headers`` holds ``name`` (any case), or ``name``."""
    return next((key for key in headers if key.lower() == name.lower()), name)


def _header(headers: dict[str, Any], name: str) -> Any:
    return headers.get(_name(headers, name))


def _add_vary(headers: dict[str, Any], name: str) -> None:
    key = _name(headers, "Vary")
    found = headers.get(key) or []
    values = [found] if isinstance(found, str) else list(found)
    if name.lower() not in {v.strip().lower() for value in values for v in value.split(",")}:
        headers[key] = ", ".join([*values, name])


class ApiServer(QuietClientErrors, local.ThreadedHTTPServer):
    """``chalice local``'s threaded server, with room for a burst of clients."""

    request_queue_size = REQUEST_QUEUE_SIZE


def create_api_server(app_obj: Any, config: Any, host: str, port: int) -> local.LocalDevServer:
    return local.LocalDevServer(app_obj, config, host, port, handler_cls=ApiRequestHandler, server_cls=ApiServer)


# What the classes above build on: chalice.local's LocalGateway and its
# private helpers (_route_for_event, _generic_handle, the route matcher, the
# request handler's _generic_handle), which change between minor versions.
CHALICE_SERIES = "1.34."


def check_chalice_version(version: str | None = None) -> None:
    """Refuse a Chalice these patches were not written for, saying what to do."""
    import chalice

    found = version or chalice.__version__
    if not found.startswith(CHALICE_SERIES):
        raise RuntimeError(
            f"localdev/gateway.py emulates API Gateway on Chalice {CHALICE_SERIES}x internals, "
            f"but Chalice {found} is installed: run `make test` or `make run` to install the locked "
            "versions (requirements-dev.txt), or check the patches against the new version and update CHALICE_SERIES"
        )


def install() -> None:
    """Answer as API Gateway does in every LocalGateway, test client and `chalice local` server created from now on.

    ``chalice.test`` binds ``LocalGateway`` when it is imported, so its name
    is replaced there too: a test module that imported ``chalice.test``
    first gets the same gateway as everyone else.
    """
    check_chalice_version()
    import chalice.test

    # Replacing chalice's classes is the point; setattr says so (mypy refuses an assignment to a class).
    setattr(local, "LocalGatewayAuthorizer", ApiGatewayAuthorizer)  # noqa: B010
    setattr(local, "LocalGateway", ApiGateway)  # noqa: B010
    local.create_local_server = create_api_server
    setattr(chalice.test, "LocalGateway", ApiGateway)  # noqa: B010
