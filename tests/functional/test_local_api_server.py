"""The local API server (`chalice local` as `make run` serves it, localdev/gateway.py)
bounds what a client sends: a bad Content-Length, a body that never arrives and
an HTTP/0.9 request get a JSON 400 (or a closed connection), never a held
connection, an answer in HTTP/0.9 or a traceback in the log.

The server runs in this process, so what it writes to stderr and to the
logging module is captured; each case reads its connection to the end (the
server closes it only after it has logged whatever it logs)."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from infra.template import ROOT
from localdev import gateway
from tests.support.ports import free_port

HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[str, int]]:
    from chalice.cli import create_local_server
    from chalice.cli.factory import CLIFactory

    gateway.install()
    factory = CLIFactory(project_dir=str(ROOT), environ=dict(os.environ))  # a copy: the stage's variables stay in it
    server = create_local_server(factory, HOST, free_port(), "local")
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield HOST, server.port
    server.shutdown()
    server.server.server_close()
    thread.join()


def exchange(address: tuple[str, int], raw: bytes, timeout_s: float = 30) -> bytes:
    """Send ``raw`` and read until the server closes the connection."""
    with socket.create_connection(address, timeout=timeout_s) as client:
        client.sendall(raw)
        return read_to_end(client)


def read_to_end(client: socket.socket) -> bytes:
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


def status_and_json(reply: bytes) -> tuple[str, dict[str, object]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert headers["Content-Type"] == "application/json" and headers["X-Content-Type-Options"] == "nosniff"
    return status_line, json.loads(body)


@pytest.fixture()
def no_tracebacks(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, err
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("length", ["abc", "-1", "+5", "1_0", "0x10", "5, 6", "99999999999999999999999"])
def test_a_content_length_that_is_not_a_number_of_bytes_is_a_json_400(
    api: tuple[str, int], length: str, no_tracebacks: None
) -> None:
    raw = f"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Length: {length}\r\n\r\n{{}}".encode()
    status, body = status_and_json(exchange(api, raw))
    assert status == "HTTP/1.1 400 Bad Request"
    assert body["code"] == "BAD_REQUEST_BODY" and "Content-Length" in str(body["message"])


def test_two_different_content_lengths_are_a_400(api: tuple[str, int], no_tracebacks: None) -> None:
    raw = b"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
    status, _ = status_and_json(exchange(api, raw))
    assert status == "HTTP/1.1 400 Bad Request"


def test_a_body_over_api_gateways_limit_is_a_413_without_reading_it(api: tuple[str, int], no_tracebacks: None) -> None:
    raw = f"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Length: {gateway.MAX_BODY_BYTES + 1}\r\n\r\n".encode()
    status, body = status_and_json(exchange(api, raw))
    assert status == "HTTP/1.1 413 Request Entity Too Large" and body["code"] == "REQUEST_TOO_LARGE"


def test_twenty_bodies_shorter_than_their_content_length_are_all_released_in_time(
    api: tuple[str, int], no_tracebacks: None
) -> None:
    bound_s = gateway.REQUEST_TIMEOUT_S + 5
    started = time.monotonic()
    clients = []
    for _ in range(20):
        client = socket.create_connection(api, timeout=bound_s)
        client.sendall(b'POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Length: 100\r\n\r\n{"items": [')
        clients.append(client)
    replies = []
    for client in clients:
        with client:
            client.settimeout(max(0.1, bound_s - (time.monotonic() - started)))
            replies.append(read_to_end(client))  # a socket.timeout here: a connection still held
    assert time.monotonic() - started < bound_s
    for reply in replies:
        status, body = status_and_json(reply)
        assert status == "HTTP/1.1 400 Bad Request" and "shorter than its Content-Length" in str(body["message"])


@pytest.mark.parametrize(
    "request_line", [b"GET /products\r\n", b"GET /products\r\n\r\n", b"POST /orders\r\n\r\n", b"GET / HTTP/0.9\r\n\r\n"]
)
def test_an_http_0_9_request_gets_an_http_1_1_400_not_an_answer(
    api: tuple[str, int], request_line: bytes, no_tracebacks: None
) -> None:
    reply = exchange(api, request_line)
    status, body = status_and_json(reply)
    assert status == "HTTP/1.1 400 Bad Request" and "HTTP/0.9 is not supported" in str(body["message"])
    assert b'"items"' not in reply


def test_an_http_2_request_line_is_a_400_not_a_5xx(api: tuple[str, int], no_tracebacks: None) -> None:
    status, _ = status_and_json(exchange(api, b"GET /products HTTP/2.0\r\n\r\n"))
    assert status == "HTTP/1.1 400 Bad Request"


def test_a_well_formed_request_after_all_that_is_still_answered(api: tuple[str, int]) -> None:
    raw = b"OPTIONS /products HTTP/1.1\r\nHost: shop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    reply = exchange(api, raw)
    assert reply.startswith(b"HTTP/1.1 200 ")
