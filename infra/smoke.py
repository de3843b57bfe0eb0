"""The smoke test that ends `make deploy`: the shop's API answers through the shop's own address.

Two requests, as a shopper's browser makes them through CloudFront (``SiteUrl``,
which sends ``/api/*`` to API Gateway): the API's health, then one search.
A new or changed distribution takes minutes to settle (until then it may
answer 403/404 from the bucket, 502/503, or not at all), so each is asked
again, with growing pauses, for about five minutes in all. `make deploy
SMOKE=0` (``--no-smoke``) skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from infra.cloudformation import Out, StackError

# Seconds between tries, shared by both checks: 300 s in all.
PAUSES = (5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0, 45.0)
TIMEOUT = (5.0, 15.0)  # connect, read: a cold search function answers within its 10 s timeout
EXCERPT = 200

Get = Callable[..., Any]  # requests.get, or a test's


@dataclass(frozen=True)
class Check:
    what: str
    path: str
    expected: Callable[[Any], bool]  # the answer's JSON is the API's


CHECKS = (
    Check("the API's health", "/api/health", lambda body: body == {"status": "ok"}),
    # A harmless search: one product at most, any catalog (an empty one answers no items).
    Check("a search", "/api/products?q=food&limit=1", lambda body: isinstance(body.get("items"), list)),
)


@dataclass(frozen=True)
class Answer:
    ok: bool
    said: str  # "200", "503: <body excerpt>", "no answer (ConnectionError: ...)"


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT] + "..."


def ask(check: Check, url: str, get: Get) -> Answer:
    try:
        response = get(url, timeout=TIMEOUT, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        return Answer(False, f"no answer ({type(exc).__name__}: {excerpt(str(exc))})")
    if response.status_code != 200:
        return Answer(False, f"{response.status_code}: {excerpt(response.text)}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not check.expected(body):
        return Answer(False, f"200, but not the API's answer: {excerpt(response.text)}")
    return Answer(True, "200")


def until_answered(
    check: Check, url: str, get: Get, pauses: Iterator[float], pause: Callable[[float], None], out: Out
) -> tuple[Answer, int]:
    """The first good answer, or the last bad one once the pauses are spent; and how many tries it took."""
    tries = 0
    while True:
        answer, tries = ask(check, url, get), tries + 1
        wait = None if answer.ok else next(pauses, None)
        if wait is None:
            return answer, tries
        out(f"  GET {check.path}: {answer.said}; again in {wait:.0f} s")
        pause(wait)


def smoke_test(site_url: str, stack: str, pause: Callable[[float], None], out: Out, get: Get = requests.get) -> None:
    """Ask each check through the shop's address; raise a StackError naming the one that failed."""
    base = site_url.rstrip("/")
    pauses = iter(PAUSES)
    out(f"Smoke test through {base} (CloudFront):")
    for check in CHECKS:
        answer, tries = until_answered(check, base + check.path, get, pauses, pause, out)
        if not answer.ok:
            raise StackError(
                f"{stack} is deployed, but {check.what} does not answer through the shop's address: "
                f"GET {base}{check.path} -> {answer.said} (the last of {tries} tries; "
                f"{sum(PAUSES):.0f} s of pauses in all).\n"
                "CloudFront may still be settling: open that address in a few minutes. "
                "To deploy without this check: make deploy SMOKE=0 (--no-smoke)."
            )
        out(f"  GET {check.path}: {answer.said} ({check.what})")
