"""The e2e tier: the shop started as a user starts it (`make run`).

Fixtures only; what they and the tests share lives in tests/support/
(running_shop.py, shop_api.py, spa_pages.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.running_shop import (
    CHROMIUM,
    DEMO_ADMIN,
    FLAGS,
    RunningStack,
    bearer_of,
    stack_environment,
    start_stack,
)
from tests.support.shop_api import ShopApi


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


# -- the catalog, set up over the API as an admin would --------------------------------
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
