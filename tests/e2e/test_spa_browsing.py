"""Browsing as a shopper does, in real Chromium: the front page, a kept place
(Back and reloads restore the results and the scroll), honest filters (counts,
chips, a hint that names what emptied the result), screens that never show the
last page's news or results, and only the scripts a page needs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.running_shop import DEMO_ADMIN
from tests.support.spa_pages import cart_count, screenshot, sign_in, spa_page_size, unique


def results(page: Page) -> Any:
    return page.get_by_role("list", name="Products", exact=True).get_by_test_id("product-card")


def test_the_front_page_offers_pets_categories_a_count_and_a_footer_and_loads_only_what_browsing_needs(
    page: Page,
) -> None:
    # GIVEN the requests the page makes
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    # WHEN a shopper opens the shop
    page.goto("/")

    # THEN it offers each pet and each category, says how many products there are, and has a footer
    expect(results(page).first).to_be_visible()
    pets = page.get_by_role("navigation", name="Shop by species")
    expect(pets.get_by_role("link")).to_have_count(6)
    expect(page.get_by_role("navigation", name="Shop by category").get_by_role("link")).to_have_count(8)
    expect(page.get_by_text(re.compile(r"^\d+ products$"))).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_contain_text("Serverless Pet Store")
    # AND its config came with the page, and the checkout, orders and admin scripts were not loaded
    assert not [url for url in asked if url.endswith("/config.json")]
    assert not [url for url in asked if re.search(r"/js/(checkout|orders|admin|admin-photos)\.js$", url)]
    # AND the first results were asked once: the early request (js/first-search.js) is the one the page used
    assert len([url for url in asked if re.search(r"/products\?", url)]) == 1

    # WHEN the shopper picks a pet
    pets.get_by_role("link", name="Cat").click()

    # THEN the results are that pet's, shown as a filter in use
    expect(page.get_by_role("button", name="Remove filter Species: Cat")).to_be_visible()
    expect(page.get_by_role("navigation", name="Shop by species")).to_be_hidden()
    expect(results(page).first).to_contain_text("Cat")

    # AND the cart page loads its script when it is opened
    cart_count(page).click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    assert [url for url in asked if url.endswith("/js/checkout.js")]


def test_back_after_show_more_restores_every_result_and_the_place_on_the_page(page: Page, make_product: Any) -> None:
    # GIVEN more products with one word than a page shows
    word = unique("quokka")
    size = spa_page_size()
    for n in range(size + 4):
        make_product(f"{word} Chew {n:02d}")
    page.goto(f"/#/?q={word}")
    expect(results(page)).to_have_count(size)

    # WHEN the shopper shows more
    page.get_by_role("button", name="Show more").click()

    # THEN every result is shown, the URL says how many, and the focus is on the first new card
    expect(results(page)).to_have_count(size + 4)
    expect(page).to_have_url(re.compile(rf"n={size + 4}"))
    expect(results(page).nth(size).get_by_role("link")).to_be_focused()

    # WHEN the shopper opens one near the end, then goes back
    last = results(page).nth(size + 2)
    name = last.get_by_role("link").inner_text()
    last.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    # (the header's search box is emptied on the product's page; the way back keeps the search)
    expect(page.get_by_label("Search products")).to_have_value("")
    expect(page.get_by_role("link", name="← Back to the shop")).to_have_attribute("href", re.compile(rf"q={word}"))
    page.go_back()

    # THEN all the results are back, and the one opened is in sight
    expect(results(page)).to_have_count(size + 4)
    expect(results(page).filter(has_text=name)).to_be_in_viewport()

    # AND "Back to the shop" from a product leads to the same search
    results(page).filter(has_text=name).get_by_role("link").click()
    page.get_by_role("link", name="← Back to the shop").click()
    expect(results(page)).to_have_count(size + 4)
    expect(page.get_by_label("Search products")).to_have_value(word)


def test_brand_is_chosen_from_the_results_brands_with_counts_and_filters_show_as_removable_chips(
    page: Page, make_product: Any
) -> None:
    # GIVEN three products with one word: two of one brand, one of another
    word = unique("numbat")
    brand = unique("Whiskerco")
    make_product(f"{word} Feather Wand", brand=brand, species="cat")
    make_product(f"{word} Laser Dot", brand=brand, species="cat")
    make_product(f"{word} Rope Tug", brand="Othermake")

    # WHEN the shopper searches the word
    page.goto(f"/#/?q={word}")
    expect(results(page)).to_have_count(3)

    # THEN the brand list holds the results' brands with exact counts, and a species with none cannot be chosen
    brands = page.get_by_role("combobox", name="Brand")
    expect(brands.get_by_role("option", name=f"{brand} (2)")).to_have_count(1)
    expect(brands.get_by_role("option", name="Othermake (1)")).to_have_count(1)
    expect(page.get_by_role("combobox", name="Species").locator("option[value=fish]")).to_be_disabled()

    # WHEN the shopper picks the brand, then in stock only
    brands.select_option(label=f"{brand} (2)")
    expect(results(page)).to_have_count(2)
    page.get_by_label("In stock").check()

    # THEN each filter in use is a chip, and removing one leaves the other
    expect(page.get_by_role("button", name=f"Remove filter Brand: {brand}")).to_be_visible()
    page.get_by_role("button", name="Remove filter In stock only").click()
    expect(page.get_by_role("button", name="Remove filter In stock only")).to_be_hidden()
    expect(results(page)).to_have_count(2)

    # AND "Clear all" removes them all but keeps the words
    page.get_by_label("In stock").check()
    page.get_by_role("button", name="Clear all").click()
    expect(results(page)).to_have_count(3)
    expect(page.get_by_role("group", name="Filters in use")).to_be_hidden()
    expect(page.get_by_label("Search products")).to_have_value(word)


def test_an_empty_result_names_the_filter_that_emptied_it(page: Page, make_product: Any) -> None:
    # GIVEN two dog products with one word
    word = unique("dunnart")
    make_product(f"{word} Squeaky Bone", species="dog")
    make_product(f"{word} Tennis Ball", species="dog")

    # WHEN the shopper searches it among cat products
    page.goto(f"/#/?q={word}&species=cat")

    # THEN nothing is found, and the hint names the species filter and what removing it finds
    expect(page.get_by_role("status")).to_have_text("No products match. Without the species filter, 2 products match.")
    expect(results(page)).to_have_count(0)
    # (one filter in use: its chip alone, no "Clear all")
    expect(page.get_by_role("group", name="Filters in use")).to_have_text("Species: Cat ×")

    # AND words the shop does not know at all are not shown as "Showing results for"
    page.goto("/#/?q=qqqqzzzzxx")
    expect(page.get_by_role("status")).to_contain_text("No products match")
    expect(page.get_by_text("Showing results for")).to_be_hidden()


def test_a_failed_search_shows_no_results_of_the_search_before(page: Page, make_product: Any) -> None:
    # GIVEN results on the page
    word = unique("potoroo")
    make_product(f"{word} Water Bowl")
    page.goto(f"/#/?q={word}")
    expect(results(page)).to_have_count(1)

    # WHEN a search the shop refuses is opened (a price range upside down, from a link)
    page.goto(f"/#/?q={word}&min_price=50&max_price=10")

    # THEN the error is shown alone, in plain words, on its field
    expect(page.get_by_role("status")).to_have_class(re.compile("alert"))
    expect(page.get_by_role("status")).to_have_text("Enter a maximum price that is not below the minimum.")
    expect(page.get_by_label("Max $")).to_have_attribute("aria-invalid", "true")
    expect(results(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Show more")).to_be_hidden()


def test_price_bounds_are_checked_in_the_page_beside_their_field(page: Page, make_product: Any) -> None:
    # GIVEN a search with results
    word = unique("bettong")
    make_product(f"{word} Hay Rack", price_cents=2000)
    page.goto(f"/#/?q={word}")
    expect(results(page)).to_have_count(1)
    url = page.url

    # WHEN the shopper sets a max price below the min price
    page.get_by_label("Min $").fill("10")
    page.get_by_label("Min $").press("Tab")
    expect(page).to_have_url(re.compile("min_price=10"))
    expect(results(page)).to_have_count(1)
    page.get_by_label("Max $").fill("5")
    page.get_by_label("Max $").press("Tab")

    # THEN the max price is marked, explained and focused, and nothing was searched
    maximum = page.get_by_label("Max $")
    expect(maximum).to_have_attribute("aria-invalid", "true")
    expect(maximum).to_have_accessible_description("Max price must be at least the min price ($10).")
    expect(maximum).to_be_focused()
    assert "max_price" not in page.url and "min_price=10" in page.url
    assert url != page.url

    # WHEN the bound is mended
    maximum.fill("40")
    maximum.press("Tab")

    # THEN the search runs and the mark is gone
    expect(page).to_have_url(re.compile("max_price=40"))
    expect(maximum).not_to_have_attribute("aria-invalid", "true")
    expect(results(page)).to_have_count(1)


def test_news_of_one_page_is_not_shown_on_the_next_and_is_seen_while_scrolled(page: Page, make_product: Any) -> None:
    # GIVEN more products with one word than fit a screen
    word = unique("bilby")
    for n in range(12):
        make_product(f"{word} Treat Pouch {n:02d}")
    page.goto(f"/#/?q={word}")
    expect(results(page)).to_have_count(12)

    # WHEN the shopper adds the last one, scrolled down to it
    last = results(page).nth(11)
    last.scroll_into_view_if_needed()
    last.get_by_role("button", name="Add to cart").click()

    # THEN the news is shown in sight
    status = page.get_by_role("status")
    expect(status).to_contain_text("to your cart.")
    expect(status).to_be_in_viewport()

    # AND on the next page it is gone
    cart_count(page).click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(status).not_to_contain_text("Added")


def test_an_unknown_product_has_a_heading_and_a_way_back_to_the_search(page: Page) -> None:
    # GIVEN a search the shopper came from
    page.goto("/#/?q=salmon")
    expect(results(page).first).to_be_visible()

    # WHEN a product the shop does not have is opened
    page.goto("/#/product/no-such-product")

    # THEN the page says so in its heading (once: not again on the status line), and leads back to the search
    expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that product")
    expect(page.get_by_role("status")).to_have_text("")
    page.get_by_role("link", name="Search the shop").click()
    expect(page.get_by_label("Search products")).to_have_value("salmon")
    expect(results(page).first).to_be_visible()


@pytest.mark.parametrize("viewport", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_every_browsing_state_passes_axe_and_a_signed_in_admins_bar_keeps_to_two_rows_on_a_phone(
    page: Page, make_product: Any, viewport: tuple[int, int]
) -> None:
    from axe_playwright_python import sync_playwright as axe  # in the dev lock

    found: dict[str, list[Any]] = {}

    def check(state: str) -> None:
        violations = axe.Axe().run(page).response["violations"]
        found[state] = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in violations]
        screenshot(page, f"browse-{state}-{'phone' if viewport[0] < 600 else 'desktop'}")

    # GIVEN the size, and a product of its own
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    word = unique("wombat")
    product = make_product(f"{word} Rope Toy", brand="Ropeworks")

    # WHEN each state of browsing is shown
    page.goto("/")
    expect(results(page).first).to_be_visible()
    check("front")
    page.goto(f"/#/?q={word}&brand=ropeworks&in_stock=true")
    expect(page.get_by_role("button", name="Clear all")).to_be_visible()
    expect(results(page)).to_have_count(1)
    check("filtered")
    page.goto("/#/?q=qqqqzzzzxx")
    expect(page.get_by_role("status")).to_contain_text("No products match")
    check("empty")
    page.goto(f"/#/product/{product['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(product["name"])
    check("product")
    page.goto("/#/product/no-such-product")
    expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that product")
    check("unknown")
    page.goto("/#/cart")
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    check("cart")
    sign_in(page, *DEMO_ADMIN)
    page.goto("/#/admin")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_role("search", name="Catalog")).to_be_visible()
    check("admin")
    page.goto(f"/#/admin/product/{product['id']}")
    expect(page.get_by_role("heading", name="Photos")).to_be_visible()
    check("admin-edit")
    page.goto("/#/orders")
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    expect(page.get_by_role("status")).not_to_have_text("Loading…")
    check("orders")

    # THEN axe finds nothing, of any impact, in any of them
    assert len(found) == 9
    assert {state: v for state, v in found.items() if v} == {}
    # AND on a phone the bar holds the brand and links on one row and the search on a second
    if viewport[0] < 600:
        assert page.locator(".bar").bounding_box()["height"] < 110
