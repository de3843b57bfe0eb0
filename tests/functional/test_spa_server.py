"""The local SPA server (`make run`'s static server) answers as the deployed
site does: CloudFront's managed security headers on every answer, the page's
Content-Security-Policy as a header with frame-ancestors, no directory lists."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import requests

from scripts.stack import FRONTEND, FrontendHandler, FrontendServer, site_headers
from tests.conftest import free_port

# CloudFront's Managed-SecurityHeadersPolicy, but Strict-Transport-Security (plain http on loopback).
MANAGED_POLICY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-XSS-Protection": "1; mode=block",
}
PATHS = ["/", "/index.html", "/js/app.js", "/styles.css", "/config.json", "/js/", "/no-such-file.js"]


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


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    headers = site_headers((FRONTEND / "index.html").read_text())
    handler = functools.partial(FrontendHandler, site_config={"stage": "test"}, headers=headers)
    server = FrontendServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_deployed_sites_security_headers(site: str, path: str) -> None:
    response = requests.get(site + path, timeout=10, allow_redirects=False)
    assert {name: response.headers.get(name) for name in MANAGED_POLICY} == MANAGED_POLICY
    assert "Strict-Transport-Security" not in response.headers


def test_the_pages_csp_is_sent_as_a_header_with_frame_ancestors(site: str) -> None:
    page = MetaCsp()
    page.feed((FRONTEND / "index.html").read_text())
    assert "script-src 'self'" in directives(page.policy)

    sent = requests.get(site + "/", timeout=10).headers["Content-Security-Policy"]

    assert directives(sent) == directives(page.policy) | {"frame-ancestors 'none'"}


@pytest.mark.parametrize("path", ["/js/", "/img/", "/vendor/"])
def test_a_directory_without_an_index_is_a_404_not_a_list(site: str, path: str) -> None:
    response = requests.get(site + path, timeout=10, allow_redirects=False)
    assert response.status_code == 404
    assert "app.js" not in response.text and ".svg" not in response.text and "Directory listing" not in response.text


def test_the_site_and_its_files_are_still_served(site: str) -> None:
    assert requests.get(site + "/", timeout=10).content == (FRONTEND / "index.html").read_bytes()
    assert requests.get(site + "/js/app.js", timeout=10).status_code == 200
    assert requests.get(site + "/config.json", timeout=10).json() == {"stage": "test"}
