"""The SPA in real headless Chromium (Debian's), against the stack as `make run` starts it."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect

from tests.support.running_shop import RunningStack
from tests.support.spa_pages import expect_results, screenshot


def test_search_filter_and_open_a_product_then_come_back(page: Page, shop: RunningStack) -> None:
    page.goto("/")
    cards = page.get_by_test_id("product-card")
    expect(cards.first).to_be_visible()
    page.wait_for_function(  # every picture on screen loads (the shop's own files, allowed by the CSP)
        "() => [...document.querySelectorAll('[data-testid=product-card] img')].slice(0, 8)"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    screenshot(page, "home")

    page.get_by_label("Search products").fill("salmon")
    expect(page).to_have_url(re.compile(r"q=salmon"))
    page.get_by_role("combobox", name="Species").select_option("cat")
    expect(page).to_have_url(re.compile(r"species=cat"))
    names = expect_results(page, shop.api, q="salmon", species="cat")  # the filtered answer, not the one before
    assert names
    expect(cards.first).to_contain_text("Cat")
    screenshot(page, "search")

    cards.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(names[0])
    expect(page).to_have_url(re.compile(r"#/product/"))
    screenshot(page, "product")

    page.go_back()
    expect(page).to_have_url(re.compile(r"species=cat"))
    expect(page.get_by_role("combobox", name="Species")).to_have_value("cat")
    expect(page.get_by_label("Search products")).to_have_value("salmon")


def test_a_shared_search_url_reloads_as_it_was(page: Page, shop: RunningStack) -> None:
    page.goto("/#/?category=toys&sort=price_asc")
    expect(page.get_by_role("combobox", name="Category")).to_have_value("toys")
    expect(page.get_by_role("combobox", name="Sort")).to_have_value("price_asc")
    assert len(expect_results(page, shop.api, category="toys", sort="price_asc")) > 1
    prices = page.get_by_test_id("product-card").locator(".price").all_text_contents()  # the answer, in place
    values = [float(p.replace("$", "").replace(",", "")) for p in prices]
    assert values == sorted(values)


def test_an_unknown_product_shows_a_message_not_a_blank_page(page: Page) -> None:
    page.goto("/#/product/no-such-thing")
    expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that product")


def test_sign_in_keeps_the_session_across_a_reload_and_sign_out_forgets_it(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_role("textbox", name="Email").fill("shopper@example.com")
    page.get_by_role("textbox", name="Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_have_text("Wrong email or password.")

    page.get_by_role("textbox", name="Password").fill("Shopper-pass-1")
    page.get_by_role("button", name="Sign in").click()
    account = page.get_by_role("navigation", name="Account")
    expect(account).to_contain_text("shopper@example.com")
    expect(page).to_have_url(re.compile(r"#/$"))
    screenshot(page, "signed-in")

    page.reload()
    expect(account).to_contain_text("shopper@example.com")
    stored = page.evaluate("() => JSON.parse(sessionStorage.getItem('petstore.session'))")
    assert stored["accessToken"].count(".") == 2
    assert page.context.cookies() == []  # tokens are never in a cookie

    account.get_by_role("button", name="Sign out").click()
    expect(account.get_by_role("link", name="Sign in")).to_be_visible()
    page.wait_for_function("() => sessionStorage.getItem('petstore.session') === null", timeout=5_000)


def test_show_more_appends_the_next_page_of_results(page: Page, shop: RunningStack) -> None:
    page.goto("/")
    first_page = expect_results(page, shop.api)
    page.get_by_role("button", name="Show more").click()
    both_pages = expect_results(page, shop.api, pages=2)  # the first 24 kept, the next 24 after them
    assert both_pages[:24] == first_page
    assert len(set(both_pages)) == 48  # nothing repeated


def test_the_skip_link_moves_to_the_content_and_keeps_the_search(page: Page) -> None:
    page.goto("/#/?q=salmon")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#/\?q=salmon$"))
    expect(page.get_by_label("Search products")).to_have_value("salmon")


def test_empty_pages_with_a_cursor_are_read_through_never_shown_as_no_results(page: Page) -> None:
    # A very selective search may spend a request's read budget without a match:
    # the API answers an empty page with a cursor. Here the first three do.
    product = {
        "id": "rare-find",
        "name": "Rare Find Heat Rock",
        "description": "Warm.",
        "species": "reptile",
        "category": "habitats",
        "brand": "Scales",
        "price_cents": 1999,
        "currency": "USD",
        "stock": 2,
    }
    asked: list[str | None] = []

    def answer(route: Any) -> None:
        cursor = parse_qs(urlparse(route.request.url).query).get("cursor", [None])[0]
        asked.append(cursor)
        reads = len(asked)
        body = (
            {"items": [], "next_cursor": f"after-{reads}"} if reads < 4 else {"items": [product], "next_cursor": None}
        )
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(re.compile(r"/products\?"), answer)
    page.goto("/#/?q=rare")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    expect(page.get_by_role("status")).not_to_contain_text("No products")
    expect(page.get_by_role("button", name="Show more")).to_be_hidden()
    assert asked == [None, "after-1", "after-2", "after-3"]


def test_a_search_still_looking_offers_more_instead_of_saying_nothing_matches(page: Page) -> None:
    asked: list[str] = []

    def answer(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"items": [], "next_cursor": "more"})
        )

    page.route(re.compile(r"/products\?"), answer)
    page.goto("/#/?q=rare")
    expect(page.get_by_role("status")).to_contain_text("Still looking")
    more = page.get_by_role("button", name="Show more")
    expect(more).to_be_visible()
    reads = len(asked)
    assert 1 < reads <= 10  # a bounded number of reads per page shown
    more.click()
    expect(page.get_by_role("status")).to_contain_text("Still looking")
    expect(more).to_be_enabled()
    assert len(asked) == 2 * reads
