"""The local stack answers like API Gateway and takes a burst of clients, like the cloud."""

from __future__ import annotations

import http.client
import json
import signal
import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
import requests

from scripts.gateway import REQUEST_QUEUE_SIZE
from tests.e2e.conftest import RunningStack

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
