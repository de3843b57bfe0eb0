"""The local stack serves as CloudFront does in front of the site and the API:
HTTP/1.1 connections kept alive, and text of 1,000 bytes to 10 MB gzipped for
a client that accepts gzip (``Vary: Accept-Encoding``), photos never; so that
a measurement of the local shop (`make bench-spa`) compares with the deployed one.

Answers are read with http.client, which (unlike requests) does not
decompress them: what is checked is the bytes on the wire."""

from __future__ import annotations

import functools
import gzip
import http.client
import json
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from infra.publish_spa import site_index
from infra.template import ROOT
from localdev import gateway
from localdev.local_stack import FRONTEND, FrontendHandler, FrontendServer, GzipCache, site_headers
from localdev.resources import local_stage_environment
from tests.functional.test_spa_server import SITE_CONFIG
from tests.support.ports import free_port

HOST = "127.0.0.1"
GZIP = {"Accept-Encoding": "gzip, deflate, br"}  # what Chrome sends over plain http
JPEG_ETAG = '"jpeg-1"'


class Photos:
    """A renditions bucket with two renditions of text-like (so very compressible) bytes."""

    BODY = b"\xff\xd8\xff\xe0" + b"the same bytes again " * 400

    def read(self, key: str) -> tuple[bytes, dict[str, str]] | None:
        types = {"img/p1/photo-640.jpg": ("image/jpeg", JPEG_ETAG), "img/p1/photo-640.webp": ("image/webp", '"w"')}
        if key not in types:
            return None
        content_type, etag = types[key]
        return self.BODY, {"Content-Type": content_type, "ETag": etag, "Cache-Control": "public, max-age=31536000"}


@pytest.fixture(scope="module")
def site() -> Iterator[int]:
    headers = site_headers((FRONTEND / "index.html").read_text())
    handler = functools.partial(FrontendHandler, site_config=SITE_CONFIG, headers=headers, renditions=Photos())
    server = FrontendServer((HOST, free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def api() -> Iterator[int]:
    from chalice.cli import create_local_server
    from chalice.cli.factory import CLIFactory

    gateway.install()
    saved = dict(os.environ)
    os.environ.update(local_stage_environment())  # the app reads its stage from the process's environment
    try:
        factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)  # adds the stage's variables to it
        server = create_local_server(factory, HOST, free_port(), "local")
        thread = threading.Thread(target=server.server.serve_forever, daemon=True)
        thread.start()
        yield server.port
        server.shutdown()
        server.server.server_close()
        thread.join()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.reset()  # the app's objects were built for this environment


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()  # as sent: http.client does not decompress

    @property
    def encoding(self) -> str | None:
        return self.headers.get("Content-Encoding")

    @property
    def varies_by_encoding(self) -> bool:
        return "accept-encoding" in {v.strip().lower() for v in (self.headers.get("Vary") or "").split(",")}

    def decoded(self) -> bytes:
        return gzip.decompress(self.body) if self.encoding == "gzip" else self.body


def fetch(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Answer:
    """One request on a connection of its own; no Accept-Encoding unless ``headers`` has one."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        return ask(connection, path, headers, method)
    finally:
        connection.close()


def ask(
    connection: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> Answer:
    connection.putrequest(method, path, skip_accept_encoding=True)  # http.client would send "identity"
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.endheaders()
    answer = Answer(connection.getresponse())
    if answer.status == 304:  # no body, whatever the headers say (the 200's length may be given)
        assert answer.body == b""
    elif method != "HEAD":
        assert answer.headers["Content-Length"] == str(len(answer.body))  # not chunked, not read to the close
    return answer


# -- the site ----------------------------------------------------------------------
def served_page() -> bytes:
    return site_index((FRONTEND / "index.html").read_text(), SITE_CONFIG).encode()


@pytest.mark.parametrize(
    ("path", "expected", "content_type"),
    [
        ("/js/app.js", lambda: (FRONTEND / "js" / "app.js").read_bytes(), "text/javascript"),
        ("/js/catalog.js", lambda: (FRONTEND / "js" / "catalog.js").read_bytes(), "text/javascript"),
        ("/styles.css", lambda: (FRONTEND / "styles.css").read_bytes(), "text/css"),
        ("/", served_page, "text/html; charset=utf-8"),
        ("/index.html", served_page, "text/html; charset=utf-8"),
    ],
)
def test_scripts_styles_and_the_page_come_gzipped_with_vary(
    site: int, path: str, expected: Any, content_type: str
) -> None:
    answer = fetch(site, path, GZIP)

    assert answer.status == 200 and answer.headers["Content-Type"] == content_type
    assert answer.encoding == "gzip" and answer.varies_by_encoding
    assert answer.decoded() == expected()
    assert len(answer.body) < len(expected())  # the length checked in ask() is the gzipped body's


def test_a_head_says_what_the_get_would_send(site: int) -> None:
    get, head = fetch(site, "/js/app.js", GZIP), fetch(site, "/js/app.js", GZIP, method="HEAD")
    assert head.body == b"" and head.encoding == get.encoding == "gzip"
    assert head.headers["Content-Length"] == get.headers["Content-Length"] == str(len(get.body))


@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0", "br", "deflate"])
def test_a_client_that_does_not_accept_gzip_gets_the_file_as_it_is(site: int, accept: str | None) -> None:
    answer = fetch(site, "/js/app.js", {"Accept-Encoding": accept} if accept else None)
    assert answer.encoding is None and answer.body == (FRONTEND / "js" / "app.js").read_bytes()
    assert answer.varies_by_encoding  # a cache must not give this answer to a client that accepts gzip


@pytest.mark.parametrize("accept", ["gzip", "GZIP", "deflate, gzip;q=0.5", "x-gzip"])
def test_any_accept_encoding_that_allows_gzip_gets_it(site: int, accept: str) -> None:
    assert fetch(site, "/styles.css", {"Accept-Encoding": accept}).encoding == "gzip"


def test_answers_under_1000_bytes_are_not_compressed(site: int) -> None:
    icon = min((FRONTEND / "icons").glob("*.svg"), key=lambda p: p.stat().st_size)
    assert icon.stat().st_size < gateway.COMPRESS_MIN_BYTES  # an image/svg+xml file CloudFront leaves as it is
    for path, expected in [
        (f"/icons/{icon.name}", icon.read_bytes()),
        ("/config.json", json.dumps(SITE_CONFIG).encode()),
        ("/no-such-file.js", b"404 Not Found\n"),
    ]:
        answer = fetch(site, path, GZIP)
        assert (answer.encoding, answer.body) == (None, expected), path
        assert not answer.varies_by_encoding, path


@pytest.mark.parametrize("path", ["/img/p1/photo-640.jpg", "/img/p1/photo-640.webp"])
def test_a_photo_rendition_is_never_compressed(site: int, path: str) -> None:
    answer = fetch(site, path, GZIP)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("image/")
    assert answer.encoding is None and answer.body == Photos.BODY and not answer.varies_by_encoding


def test_one_connection_carries_many_answers(site: int) -> None:
    """Keep-alive: every answer (a 304, a 404 and a HEAD's included) ends where its length says."""
    connection = http.client.HTTPConnection(HOST, site, timeout=30)
    try:
        first = ask(connection, "/js/app.js", GZIP)
        socket_used = connection.sock
        assert socket_used is not None  # http.client drops a socket the server said it closes
        answers = [
            first,
            ask(connection, "/js/app.js", GZIP, method="HEAD"),
            ask(connection, "/no-such-file.js", GZIP),
            ask(connection, "/styles.css", {**GZIP, "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
            ask(connection, "/img/p1/photo-640.jpg", {"If-None-Match": JPEG_ETAG}),
            ask(connection, "/img/p1/photo-640.jpg", GZIP),
            ask(connection, "/config.json", GZIP),
            ask(connection, "/", GZIP),
        ]
        assert connection.sock is socket_used
    finally:
        connection.close()
    assert [a.status for a in answers] == [200, 200, 404, 304, 304, 200, 200, 200]
    assert answers[-1].decoded() == served_page()
    assert all(a.headers.get("Connection") != "close" for a in answers)


def test_an_http_1_0_client_asking_for_keep_alive_is_told_so(site: int) -> None:
    request = b"GET /js/app.js HTTP/1.0\r\nConnection: keep-alive\r\nAccept-Encoding: gzip\r\n\r\n"
    with socket.create_connection((HOST, site), timeout=30) as client:
        replies = []
        for _ in range(2):
            client.sendall(request)
            reader = client.makefile("rb")
            response = http.client.HTTPResponse(client)
            response.fp = reader  # read this answer only, by its Content-Length
            response.begin()
            replies.append((response.status, response.getheader("Connection"), gzip.decompress(response.read())))
    file = (FRONTEND / "js" / "app.js").read_bytes()
    assert replies == [(200, "keep-alive", file)] * 2


def test_a_request_with_a_body_closes_its_connection(site: int) -> None:
    """The site reads no body: what follows one on the connection is not a request."""
    smuggled = b"GET /styles.css HTTP/1.1\r\nHost: x\r\n\r\n"  # a whole request, as the body
    request = b"GET /config.json HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(smuggled), smuggled)
    with socket.create_connection((HOST, site), timeout=10) as client:
        client.sendall(request)
        reply = b""
        while chunk := client.recv(65536):  # a kept connection would hold this until the idle timeout
            reply += chunk
    assert reply.count(b"HTTP/1.1 ") == 1 and reply.startswith(b"HTTP/1.1 200 ")


def test_the_gzipped_bytes_are_kept_while_the_file_is_unchanged() -> None:
    cache, reads = GzipCache(), []

    def read() -> bytes:
        reads.append(1)
        return b"body " * 500

    first = cache.get("/a.js", (1, 2500), read)
    assert cache.get("/a.js", (1, 2500), read) is first and len(reads) == 1
    assert gzip.decompress(cache.get("/a.js", (2, 2500), read)) == b"body " * 500 and len(reads) == 2


@pytest.mark.parametrize(
    ("content_type", "size", "expected"),
    [
        ("text/javascript", 999, False),
        ("text/javascript", 1000, True),
        ("application/json", 10_000_000, True),
        ("application/json", 10_000_001, False),
        ("text/html; charset=utf-8", 5000, True),
        ("image/svg+xml", 5000, True),
        ("image/jpeg", 5000, False),
        ("image/webp", 5000, False),
        (None, 5000, False),
    ],
)
def test_what_cloudfront_compresses(content_type: str | None, size: int, expected: bool) -> None:
    assert gateway.compressible(content_type, size) is expected


# -- the API -------------------------------------------------------------------------
def test_a_json_answer_of_1000_bytes_or_more_is_gzipped_when_asked(api: int) -> None:
    plain, zipped = fetch(api, "/openapi.json"), fetch(api, "/openapi.json", GZIP)
    assert len(plain.body) >= gateway.COMPRESS_MIN_BYTES and plain.encoding is None and plain.varies_by_encoding

    assert zipped.status == 200 and zipped.encoding == "gzip" and zipped.varies_by_encoding
    assert zipped.headers["Content-Type"] == "application/json"
    assert json.loads(gzip.decompress(zipped.body)) == json.loads(plain.body)
    assert len(zipped.body) < len(plain.body)
    unchanged = {"Content-Encoding", "Content-Length", "Date", "x-amzn-RequestId"}
    headers = {name: value for name, value in plain.headers.items() if name not in unchanged}
    assert {name: zipped.headers.get(name) for name in headers} == headers  # CORS, caching, nosniff: the same


@pytest.mark.parametrize(
    ("path", "status"),
    [("/health", 200), ("/no-such-route", 403)],  # the app's answer, and API Gateway's own (with CORS)
)
def test_a_small_json_answer_is_not_compressed(api: int, path: str, status: int) -> None:
    answer = fetch(api, path, GZIP)
    assert answer.status == status and len(answer.body) < gateway.COMPRESS_MIN_BYTES
    assert answer.encoding is None and not answer.varies_by_encoding
    assert json.loads(answer.body)


def test_the_api_keeps_a_connection_across_answers_a_head_included(api: int) -> None:
    connection = http.client.HTTPConnection(HOST, api, timeout=30)
    try:
        first = ask(connection, "/openapi.json", GZIP)
        socket_used = connection.sock
        head = ask(connection, "/health", GZIP, method="HEAD")  # no HEAD route: a 403, and no body after it
        last = ask(connection, "/health", GZIP)
        assert socket_used is not None and connection.sock is socket_used
    finally:
        connection.close()
    assert (first.status, first.encoding) == (200, "gzip")
    assert head.status == 403 and head.body == b""
    assert (last.status, json.loads(last.body)) == (200, {"status": "ok"})
