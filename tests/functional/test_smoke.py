"""The smoke test that ends `make deploy` (infra/smoke.py), against a real HTTP server on loopback.

The server stands in for the shop's CloudFront address: each path answers
as the test scripts it (the last answer repeats). Pauses are injected and
recorded, so no test sleeps.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra import smoke
from infra.cloudformation import StackError
from tests.support.ports import free_port

HEALTHY = (200, {"status": "ok"})
FOUND = (200, {"items": [], "next_cursor": None, "query": None, "facets": {}})
HEALTH, SEARCH = "/api/health", "/api/products?q=food&limit=1"


class ScriptedSite:
    """A loopback HTTP server answering each path with its scripted (status, body) in turn."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, Any]]] = {}
        self.asked: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.asked.append(self.path)
                answers = site.script.get(self.path) or [(404, "<Error><Code>NoSuchKey</Code></Error>")]
                status, body = answers.pop(0) if len(answers) > 1 else answers[0]
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answers(self, path: str, *answers: tuple[int, Any]) -> None:
        self.script[path] = list(answers)


@pytest.fixture()
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedSite]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy of the environment must not stand between
    scripted = ScriptedSite()
    scripted.thread.start()
    yield scripted
    scripted.server.shutdown()
    scripted.server.server_close()


def run_smoke(url: str) -> tuple[list[str], list[float]]:
    said: list[str] = []
    pauses: list[float] = []
    smoke.smoke_test(url, "petstore-dev", pauses.append, said.append)
    return said, pauses


def failed_smoke(url: str) -> tuple[str, list[str], list[float]]:
    said: list[str] = []
    pauses: list[float] = []
    with pytest.raises(StackError) as failed:
        smoke.smoke_test(url, "petstore-dev", pauses.append, said.append)
    return str(failed.value), said, pauses


def test_a_site_that_settles_after_two_503s_passes_after_two_growing_pauses(site: ScriptedSite) -> None:
    site.answers(HEALTH, (503, "<html>503 Service Unavailable</html>"), (503, "still not"), HEALTHY)
    site.answers(SEARCH, FOUND)

    said, pauses = run_smoke(site.url)

    assert pauses == [5.0, 10.0]
    assert site.asked == [HEALTH, HEALTH, HEALTH, SEARCH]
    assert said == [
        f"Smoke test through {site.url} (CloudFront):",
        "  GET /api/health: 503: <html>503 Service Unavailable</html>; again in 5 s",
        "  GET /api/health: 503: still not; again in 10 s",
        "  GET /api/health: 200 (the API's health)",
        f"  GET {SEARCH}: 200 (a search)",
    ]


def test_a_site_that_never_answers_properly_fails_after_a_bounded_number_of_tries(site: ScriptedSite) -> None:
    site.answers(HEALTH, (502, "Bad Gateway " * 40))

    message, _, pauses = failed_smoke(site.url)

    assert pauses == list(smoke.PAUSES) and sum(pauses) == 300.0  # about five minutes, then it stops
    assert site.asked == [HEALTH] * (len(smoke.PAUSES) + 1)  # the search is never asked
    assert message.startswith("petstore-dev is deployed, but the API's health does not answer")
    assert f"GET {site.url}/api/health -> 502: Bad Gateway Bad Gateway" in message
    assert "..." in message and len(message) < 800  # an excerpt of the body, not all of it
    assert f"the last of {len(smoke.PAUSES) + 1} tries" in message
    assert "make deploy SMOKE=0" in message


def test_a_failing_search_is_named_after_the_health_passed(site: ScriptedSite) -> None:
    site.answers(HEALTH, HEALTHY)
    site.answers(SEARCH, (500, {"error": "internal", "message": "An internal server error occurred."}))

    message, said, pauses = failed_smoke(site.url)

    assert "  GET /api/health: 200 (the API's health)" in said
    assert "a search does not answer through the shop's address" in message
    assert f"GET {site.url}{SEARCH} -> 500: " in message and "An internal server error occurred." in message
    assert pauses == list(smoke.PAUSES)  # the pauses are shared: the whole test stays bounded


def test_a_200_that_is_not_the_apis_answer_does_not_pass(site: ScriptedSite) -> None:
    # Before CloudFront routes /api/* to API Gateway, the bucket's origin may answer instead.
    site.answers(HEALTH, (200, "<!doctype html><title>Pet Store</title>"), HEALTHY)
    site.answers(SEARCH, FOUND)

    said, pauses = run_smoke(site.url)

    assert said[1].startswith("  GET /api/health: 200, but not the API's answer: <!doctype html>")
    assert pauses == [5.0]


def test_an_address_nobody_answers_says_there_was_no_answer() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    message, _, pauses = failed_smoke(url)

    assert "the API's health does not answer" in message
    assert "-> no answer (ConnectionError: " in message
    assert pauses == list(smoke.PAUSES)
