"""The local stack answers like API Gateway, takes a burst of clients, like the cloud,
and bounds what a client sends (a bad Content-Length, a body that never comes, HTTP/0.9)."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
import requests

from localdev.gateway import REQUEST_QUEUE_SIZE, REQUEST_TIMEOUT_S
from tests.support.running_shop import RunningStack

CORS = "Access-Control-Allow-Origin"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no-such-route"),
        ("POST", "/products/a/b/c"),
        ("TRACE", "/products"),
        ("PATCH", "/products"),
        ("BREW", "/health"),
        ("DELETE", "/health"),
    ],
)
def test_what_the_api_does_not_define_is_api_gateways_403_with_cors(shop: RunningStack, method: str, path: str) -> None:
    answer = requests.request(method, f"{shop.api}{path}", timeout=30)
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/json" and answer.headers[CORS] == "*"
    assert answer.json() == {"code": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"}


def test_a_malformed_request_gets_a_json_error_not_an_html_page(shop: RunningStack) -> None:
    api = urlparse(shop.api)
    connection = http.client.HTTPConnection(api.hostname, api.port, timeout=30)
    connection.putrequest("GET", "/" + "a" * 70_000)  # longer than a request line may be
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 414 and answer.getheader(CORS) == "*"
    assert json.loads(answer.read())["code"] == "DEFAULT_4XX"
    connection.close()


def test_a_burst_of_connections_waits_in_the_queue_and_is_served(shop: RunningStack) -> None:
    """While the shop is frozen (SIGSTOP), only the kernel accepts connections, into
    each server's queue; once it runs again, every queued client gets its answer."""
    targets = [(urlparse(shop.api), "/health"), (urlparse(shop.web), "/config.json")]
    queued: list[tuple[socket.socket, str, str]] = []
    shop.process.send_signal(signal.SIGSTOP)
    try:
        for url, path in targets:
            for _ in range(REQUEST_QUEUE_SIZE):
                # With Python's default backlog (5) these connects time out: nobody accepts.
                client = socket.create_connection((url.hostname, url.port), timeout=2)
                client.sendall(f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode())
                queued.append((client, url.netloc, path))
    finally:
        shop.process.send_signal(signal.SIGCONT)

    def answer(connection: tuple[socket.socket, str, str]) -> str:
        client, _, _ = connection
        client.settimeout(60)
        with client, client.makefile("rb") as reply:
            return reply.readline().decode().strip()

    with ThreadPoolExecutor(max_workers=32) as pool:
        status_lines = list(pool.map(answer, queued))
    assert len(status_lines) == 2 * REQUEST_QUEUE_SIZE
    assert all(line.endswith(" 200 OK") for line in status_lines), Counter(status_lines)


def test_the_gateways_own_401_and_403_carry_nosniff_and_no_store(shop: RunningStack) -> None:
    for path, status in (("/me", 401), ("/no-such-route", 403)):
        answer = requests.get(f"{shop.api}{path}", timeout=30)
        assert answer.status_code == status and answer.headers[CORS] == "*"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-store"


def raw_exchange(url: str, request: bytes, timeout_s: float = 30) -> bytes:
    """Send ``request`` as it is and read until the server closes the connection."""
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port), timeout=timeout_s) as client:
        client.sendall(request)
        return read_to_end(client)


def read_to_end(client: socket.socket) -> bytes:
    reply = b""
    while chunk := client.recv(65536):
        reply += chunk
    return reply


@pytest.mark.parametrize("length", ["abc", "-1", "1e3"])
def test_a_content_length_that_is_not_a_number_is_a_json_400(shop: RunningStack, length: str) -> None:
    reply = raw_exchange(shop.api, f"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}".encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"Content-Type: application/json" in head
    assert json.loads(body)["code"] == "BAD_REQUEST_BODY"


@pytest.mark.parametrize("server", ["api", "web"])
def test_an_http_0_9_request_is_a_400_never_an_answer(shop: RunningStack, server: str) -> None:
    reply = raw_exchange(getattr(shop, server), b"GET /products\r\n")
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line in {b"HTTP/1.1 400 Bad Request", b"HTTP/1.0 400 Bad Request"}, reply[:200]


def test_bodies_shorter_than_their_content_length_hold_no_connection(shop: RunningStack) -> None:
    """20 clients that promise 100 bytes and send 11 are all answered, or let go, within the bound."""
    api = urlparse(shop.api)
    bound_s = REQUEST_TIMEOUT_S + 10
    started = time.monotonic()
    clients = []
    for _ in range(20):
        client = socket.create_connection((api.hostname, api.port), timeout=bound_s)
        client.sendall(b'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"items": [')
        clients.append(client)
    replies = []
    for client in clients:
        with client:
            client.settimeout(max(0.1, bound_s - (time.monotonic() - started)))
            replies.append(read_to_end(client))  # socket.timeout: a connection still held
    assert time.monotonic() - started < bound_s
    assert all(reply == b"" or reply.startswith(b"HTTP/1.1 400 ") for reply in replies), replies


def test_the_shops_page_may_connect_only_to_its_api_and_the_embedded_aws(shop: RunningStack) -> None:
    page = requests.get(f"{shop.web}/", timeout=30)
    policy = {name: values for name, *values in (d.split() for d in page.headers["Content-Security-Policy"].split(";"))}
    aws = f"http://127.0.0.1:{shop.env['AWS_PORT']}"  # it answers the SPA's Cognito calls locally
    assert policy["connect-src"] == ["'self'", shop.api, aws]
    assert policy["frame-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert f"connect-src 'self' {shop.api} {aws}; frame-src 'none';" in page.text  # the meta tag says the same
    assert page.headers["X-Frame-Options"] == "DENY" and "X-XSS-Protection" not in page.headers
