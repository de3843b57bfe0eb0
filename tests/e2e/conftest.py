"""The e2e tier: the shop started as a user starts it (`make run`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.running_shop import (
    ARTIFACTS,
    CHROMIUM,
    DEMO_ADMIN,
    FLAGS,
    RunningStack,
    bearer_of,
    stack_environment,
    start_stack,
)


@pytest.fixture()
def stack_env(tmp_path: Path) -> dict[str, str]:
    return stack_environment(tmp_path / "local-data")


@pytest.fixture()
def stack(stack_env: dict[str, str]) -> Iterator[RunningStack]:
    running = start_stack(stack_env)
    yield running
    if running.process.poll() is None:
        running.stop()


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack shared by the browser tests (each test makes its own products)."""
    running = start_stack(stack_environment(tmp_path_factory.mktemp("shop") / "local-data"))
    yield running
    if running.process.poll() is None:
        running.stop()


# -- the browser (Debian's chromium, driven by Playwright) ---------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Any, shop: RunningStack) -> Iterator[Page]:
    context = browser.new_context(base_url=shop.web, viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console",
        lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield opened
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


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


def expect_results(page: Page, api: str, pages: int = 1, **params: Any) -> list[str]:
    """Wait until the result cards are those the API answers to ``params`` (as the SPA asks,
    24 a page), in its order, and return their names: never a list that a newer answer
    has yet to replace."""
    names: list[str] = []
    cursor = None
    for _ in range(pages):
        query = {**params, "limit": 24, **({"cursor": cursor} if cursor else {})}
        found = requests.get(f"{api}/products", params=query, timeout=30).json()
        names += [product["name"] for product in found["items"]]
        cursor = found["next_cursor"]
    expect(page.get_by_test_id("product-card").get_by_role("link")).to_have_text(names)
    return names


# -- the catalog, set up over the API as an admin would --------------------------------


@dataclass
class ShopApi:
    """The shop's REST API, as the demo admin, to set up and check what the browser did."""

    url: str
    admin: dict[str, str]

    def product(self, product_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/products/{product_id}", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def create(self, **fields: Any) -> dict[str, Any]:
        """A new product, once search finds it (the index follows the table by seconds)."""
        response = requests.post(f"{self.url}/products", json=fields, headers=self.admin, timeout=10)
        assert response.status_code == 201, response.text
        product = dict(response.json())
        searched(self.url, {"q": product["name"] + " "}, lambda ids: product["id"] in ids)
        return product

    def delete(self, product_id: str) -> None:
        requests.delete(f"{self.url}/products/{product_id}", headers=self.admin, timeout=10)

    def orders_of(self, headers: dict[str, str]) -> list[dict[str, Any]]:
        """Every order of the caller, all pages."""
        orders: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            page = requests.get(f"{self.url}/orders", params=params, headers=headers, timeout=10).json()
            orders += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return orders


def searched(api: str, params: dict[str, Any], check: Callable[[list[str]], bool], timeout_s: float = 20) -> list[str]:
    """The ids GET /products answers to ``params``, once ``check`` holds of them:
    the search index follows the table by seconds, so tests wait for it."""
    deadline = time.monotonic() + timeout_s
    while True:
        ids = [p["id"] for p in requests.get(f"{api}/products", params=params, timeout=30).json()["items"]]
        if check(ids) or time.monotonic() > deadline:
            assert check(ids), f"after {timeout_s} s, {params} still finds {ids}"
            return ids
        time.sleep(0.1)


@pytest.fixture(scope="session")
def shop_api(shop: RunningStack) -> ShopApi:
    return ShopApi(shop.api, bearer_of(shop, *DEMO_ADMIN))


@pytest.fixture()
def make_product(shop_api: ShopApi) -> Iterator[Any]:
    """Products made for one test (unique words in the name), deleted after it."""
    made: list[str] = []

    def make(name: str, stock: int = 10, price_cents: int = 1500, **fields: Any) -> dict[str, Any]:
        body = {
            "name": name,
            "description": "Made for a browser test.",
            "species": "dog",
            "category": "toys",
            "brand": "Testbrand",
            "price_cents": price_cents,
            "stock": stock,
            **fields,
        }
        product = shop_api.create(**body)
        made.append(product["id"])
        return product

    yield make
    for product_id in made:
        shop_api.delete(product_id)
