"""What the browser tests do on the SPA's pages (Playwright): sign in, wait for the
result cards, find the cart's count, keep a screenshot; and words no seeded product has."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import requests
from playwright.sync_api import Page, expect

from infra.template import ROOT
from tests.support.running_shop import ARTIFACTS


def spa_page_size() -> int:
    """How many results the SPA asks for a page: ``PAGE`` in frontend/js/first-search.js."""
    source = (ROOT / "frontend" / "js" / "first-search.js").read_text()
    found = re.search(r"^export const PAGE = (\d+);", source, re.MULTILINE)
    assert found, "no `export const PAGE = <n>;` in frontend/js/first-search.js"
    return int(found.group(1))


def unique(word: str) -> str:
    """A made-up word no seeded product contains, so a search finds only the test's products."""
    return f"{word}{uuid.uuid4().hex[:6]}"


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the SPA's form, from wherever the page is."""
    if "#/signin" not in page.url:
        page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign in").click()
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text(email)


def cart_count(page: Page) -> Any:
    """The cart's link in the account navigation, whose accessible name says how many items it holds."""
    return page.get_by_role("navigation", name="Account").get_by_role("link", name=re.compile("^Cart"))


def expect_results(page: Page, api: str, pages: int = 1, **params: Any) -> list[str]:
    """Wait until the result cards are those the API answers to ``params`` (as the SPA asks,
    ``PAGE`` a page), in its order, and return their names: never a list that a newer answer
    has yet to replace."""
    names: list[str] = []
    cursor = None
    size = spa_page_size()
    for _ in range(pages):
        query = {**params, "limit": size, **({"cursor": cursor} if cursor else {})}
        found = requests.get(f"{api}/products", params=query, timeout=30).json()
        names += [product["name"] for product in found["items"]]
        cursor = found["next_cursor"]
    expect(page.get_by_test_id("product-card").get_by_role("link")).to_have_text(names)
    return names


def with_site_config(page: Page, site: dict[str, Any]) -> None:
    """The page as served with another config: inlined in index.html (infra/publish_spa.py), or /config.json.

    The inlined block is rewritten as the page is parsed, before its modules
    run (an init script watching for it), rather than by serving another
    document: Chromium treats a document Playwright fulfils as from outside
    the loopback address space, and then refuses its requests to the local API.
    """
    page.add_init_script(
        "new MutationObserver((_, watch) => {"
        " const block = document.getElementById('shop-config');"
        f" if (block) {{ block.textContent = {json.dumps(json.dumps(site))}; watch.disconnect(); }}"
        "}).observe(document, { childList: true, subtree: true });"
    )
    page.route("**/config.json", lambda route: route.fulfill(json=site))
