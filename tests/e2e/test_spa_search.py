"""Search as a shopper types it, in real Chromium: a typo is forgiven and the
page says so, matched words are highlighted, filters show their counts, and a
product goes into the cart straight from the results."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.support.spa_pages import cart_count, unique


def test_a_mistyped_search_finds_the_product_says_how_and_adds_it_to_the_cart_from_the_results(
    page: Page, make_product: Any
) -> None:
    # GIVEN two products named with a word no other product has, one out of stock
    word = unique("wombat")
    ball = make_product(f"{word} Fetch Ball", stock=10)
    make_product(f"{word} Cosy Bed", stock=0, category="beds")
    typo = word[0] + word[2] + word[1] + word[3:]  # two neighbours swapped

    # WHEN a shopper searches with a typo
    page.goto("/")
    page.get_by_label("Search products").fill(typo + " ")

    # THEN both are found, and the page says how it understood the search
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(2)
    # each card shows the word meant in its own text (what the shopper reads, not the answer's `matches`)
    expect(cards).to_contain_text([word, word])
    expect(page.get_by_text("Showing results for")).to_contain_text(word)
    expect(page.get_by_role("link", name=f"Search exactly for {typo}")).to_be_visible()
    # the matched word is highlighted in the name, as text
    found = cards.filter(has_text="Fetch Ball")
    expect(found.get_by_role("link").locator("mark")).to_have_text(word)
    # each category says how many results it has
    category = page.get_by_role("combobox", name="Category")
    expect(category.get_by_role("option", name="Toys (1)")).to_have_count(1)
    expect(category.get_by_role("option", name="Beds (1)")).to_have_count(1)

    # WHEN the shopper adds the one in stock from the results
    expect(cards.filter(has_text="Cosy Bed").get_by_role("button", name="Out of stock")).to_be_disabled()
    found.get_by_role("button", name="Add to cart").click()

    # THEN it is in the cart
    expect(page.get_by_role("status")).to_have_text(f"Added {ball['name']} to your cart.")
    expect(cart_count(page)).to_have_accessible_name("Cart, 1 item")

    # AND searching exactly as typed finds nothing, and suggests what to change
    page.get_by_role("link", name=f"Search exactly for {typo}").click()
    expect(cards).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("No products match")
