"""The local SPA server (`make run`'s static server) answers as the deployed
site does: the security headers of its CloudFront response headers policy on
every answer, the page's Content-Security-Policy (naming the stage's API and
identity provider only) as a header with frame-ancestors, no directory lists;
a bad path is a plain 400 and an unknown one a plain 404, never Python's HTML
error page or a traceback."""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import requests

from infra.publish_spa import site_index
from localdev.local_stack import FRONTEND, FrontendHandler, FrontendServer, site_headers
from tests.support.ports import free_port

# The site's CloudFront response headers policy (infra/package.py), but
# Strict-Transport-Security (plain http on loopback).
SITE_POLICY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # as frame-ancestors 'none' says
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
DEPRECATED = ("X-XSS-Protection",)
PATHS = ["/", "/index.html", "/js/app.js", "/styles.css", "/config.json", "/js/", "/no-such-file.js", "/%00"]
API, EMBEDDED_AWS = "http://127.0.0.1:8000", "http://127.0.0.1:5100"
# What `make run` gives the SPA (localdev/local_stack.py, LocalStack._start_web).
SITE_CONFIG = {
    "api_url": API,
    "stage": "test",
    "admin_role": "admin",
    "auth": {
        "provider": "cognito",
        "region": "us-east-1",
        "user_pool_id": "us-east-1_test",
        "client_id": "client",
        "endpoint": EMBEDDED_AWS,
    },
}


class MetaCsp(HTMLParser):
    """The content of index.html's Content-Security-Policy meta tag."""

    def __init__(self) -> None:
        super().__init__()
        self.policy = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (found.get("http-equiv") or "").lower() == "content-security-policy":
            self.policy = found.get("content") or ""


def directives(policy: str) -> set[str]:
    return {" ".join(part.split()) for part in policy.split(";") if part.strip()}


def sources(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in directives(policy))}


def meta_csp(page: str) -> str:
    found = MetaCsp()
    found.feed(page)
    return found.policy


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    headers = site_headers((FRONTEND / "index.html").read_text())
    handler = functools.partial(FrontendHandler, site_config=SITE_CONFIG, headers=headers)
    server = FrontendServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def raw_get(site: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send ``request`` as it is, bytes a client library would refuse included."""
    host, port = site.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as client:
        client.sendall(request)
        reply = b""
        while chunk := client.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status, *lines = head.decode("iso-8859-1").split("\r\n")
    return status, dict(line.split(": ", 1) for line in lines), body


@pytest.fixture()
def no_tracebacks(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    yield
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, err


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_deployed_sites_security_headers(site: str, path: str) -> None:
    response = requests.get(site + path, timeout=10, allow_redirects=False)
    assert {name: response.headers.get(name) for name in SITE_POLICY} == SITE_POLICY
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("path", PATHS)
def test_no_answer_carries_a_deprecated_header(site: str, path: str) -> None:
    response = requests.get(site + path, timeout=10, allow_redirects=False)
    assert not [name for name in DEPRECATED if name in response.headers]


def test_the_pages_csp_is_sent_as_a_header_with_frame_ancestors(site: str) -> None:
    page = requests.get(site + "/", timeout=10)
    policy = meta_csp(page.text)
    assert "script-src 'self'" in directives(policy)

    sent = page.headers["Content-Security-Policy"]

    assert directives(sent) == directives(policy) | {"frame-ancestors 'none'"}


def test_the_page_may_connect_only_to_itself_the_api_and_the_identity_provider(site: str) -> None:
    page = requests.get(site + "/", timeout=10)
    for policy in (page.headers["Content-Security-Policy"], meta_csp(page.text)):
        allowed = sources(policy)
        assert allowed["connect-src"] == ["'self'", API, EMBEDDED_AWS]  # the embedded AWS stands in for Cognito
        assert allowed["frame-src"] == ["'none'"]
        assert not [s for values in allowed.values() for s in values if s in {"https:", "http:", "*"} or "*" in s]


def test_the_page_is_the_file_with_the_stages_origins_in_its_csp(site: str) -> None:
    file = (FRONTEND / "index.html").read_text()
    assert sources(meta_csp(file))["connect-src"] == ["'self'"]  # unfilled, the page talks to nobody else

    served = requests.get(site + "/index.html", timeout=10)

    assert served.text == site_index(file, SITE_CONFIG)
    assert served.headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    "target",
    [
        b"/%00",
        b"/\x00",
        b"/js/%00app.js",
        b"/%ff",
        b"/\xff",
        b"/%c0%af",
        b"/%ed%a0%80",
        b"/%0d%0aSet-Cookie:x",
        b"/%7f",
    ],
)
def test_a_bad_byte_in_the_path_is_a_plain_400(site: str, target: bytes, no_tracebacks: None) -> None:
    status, headers, body = raw_get(site, b"GET " + target + b" HTTP/1.0\r\n\r\n")
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["Content-Type"] == "text/plain; charset=utf-8" and body == b"400 Bad Request\n"
    assert headers["X-Content-Type-Options"] == "nosniff" and "Set-Cookie" not in headers


@pytest.mark.parametrize("path", ["/no-such-file.js", "/js/", "/img/nothing.png", "/js/../../README.md"])
def test_an_unknown_path_is_a_plain_404_not_pythons_page(site: str, path: str, no_tracebacks: None) -> None:
    response = requests.get(site + path, timeout=10, allow_redirects=False)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text == "404 Not Found\n"
    assert requests.head(site + path, timeout=10).content == b""


def test_a_method_the_site_does_not_serve_is_a_plain_405(site: str, no_tracebacks: None) -> None:
    response = requests.post(site + "/", data=b"x", timeout=10)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8" and "<" not in response.text


def test_an_http_0_9_request_gets_a_status_line_not_the_page(site: str, no_tracebacks: None) -> None:
    status, headers, body = raw_get(site, b"GET /\r\n")
    assert status == "HTTP/1.1 400 Bad Request" and headers["Content-Type"].startswith("text/plain")
    assert b"<html" not in body


@pytest.mark.parametrize("path", ["/js/", "/img/", "/vendor/"])
def test_a_directory_without_an_index_is_a_404_not_a_list(site: str, path: str) -> None:
    response = requests.get(site + path, timeout=10, allow_redirects=False)
    assert response.status_code == 404
    assert "app.js" not in response.text and ".svg" not in response.text and "Directory listing" not in response.text


def test_the_site_and_its_files_are_still_served(site: str) -> None:
    assert requests.get(site + "/js/app.js", timeout=10).content == (FRONTEND / "js" / "app.js").read_bytes()
    assert requests.get(site + "/styles.css", timeout=10).status_code == 200
    assert requests.get(site + "/config.json", timeout=10).json() == SITE_CONFIG
