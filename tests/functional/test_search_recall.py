"""What a shopper types finds what it should, over the seed catalog in moto,
and paging never shows an empty page while results follow."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.catalog import Table
from chalicelib.models import SearchParams
from chalicelib.search import SearchResult, search_products
from chalicelib.text import stem, words
from tests.functional.test_products_api import search, walk

# Each example runs two searches against moto: a few dozen keep the tier fast.
bounded = settings(max_examples=15, deadline=None, derandomize=True, database=None)


def product_words(product: dict[str, Any]) -> list[str]:
    fields = [product["name"], product["brand"], product["category"], product["species"].replace("_", " ")]
    return sorted(set(words(" ".join([*fields, product["description"]]))))


def found_by(table: Table, q: str, product_id: str) -> bool:
    """Follow the pages of a search until ``product_id`` shows up (or the results end)."""
    cursor = None
    for _ in range(50):
        result = search_products(table, SearchParams(q=q, limit=100, cursor=cursor))
        if any(p.id == product_id for p in result.items):
            return True
        cursor = result.next_cursor
        if cursor is None:
            return False
    raise AssertionError("the cursor never ended")


@bounded
@given(st.data())
def test_every_word_of_a_product_typed_whole_or_in_part_finds_it(
    table: Table, seed_products: list[dict[str, Any]], data: st.DataObject
) -> None:
    product = data.draw(st.sampled_from(seed_products), label="product")
    word = data.draw(st.sampled_from(product_words(product)), label="word")
    typed = word[: data.draw(st.integers(1, len(word)), label="letters typed")]
    assert found_by(table, word + " ", product["id"]), f"{word!r} typed whole"
    assert found_by(table, typed, product["id"]), f"{typed!r} being typed"


@pytest.mark.parametrize("word", ["dry", "any", "aging", "fly", "flying", "shy", "ups"])
def test_a_whole_word_whose_stem_starts_differently_finds_every_product_with_it(
    client: Client, seed_products: list[dict[str, Any]], word: str
) -> None:
    found = {p["id"] for p in walk(client, q=word + " ", limit=100)}
    truth = {p["id"] for p in seed_products if any(stem(w) == stem(word) for w in product_words(p))}
    assert found == truth and found


def test_dry_food_finds_dry_food(client: Client) -> None:
    for q in ("dry food", "dry food "):
        names = [p["name"] for p in walk(client, q=q, limit=100)]
        assert any("Dry Dog Food" in n for n in names), q


@pytest.mark.parametrize("typed", ["for", "the", "you", "are", "z", "q"])
def test_a_stop_word_or_letter_being_typed_finds_the_words_it_starts(
    client: Client, seed_products: list[dict[str, Any]], typed: str
) -> None:
    found = {p["id"] for p in walk(client, q=typed, limit=100)}
    truth = {p["id"] for p in seed_products if any(w.startswith(typed) for w in product_words(p))}
    assert found == truth and 0 < len(found) < len(seed_products)


@pytest.mark.parametrize(
    "params",
    [
        {"species": "reptile"},
        {"q": "toy", "species": "cat"},
        {"q": "salmon ", "species": "cat", "sort": "name"},
        {"q": "bed ", "sort": "price_desc"},
    ],
)
def test_a_full_last_page_carries_no_cursor(client: Client, params: dict[str, Any]) -> None:
    total = len(walk(client, **params, limit=100))
    assert total > 1
    page = search(client, **params, limit=total)
    assert len(page["items"]) == total and page["next_cursor"] is None
    halves = search(client, **params, limit=total - 1)
    assert halves["next_cursor"] is not None
    rest = search(client, **params, limit=total - 1, cursor=halves["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def budget_pages(table: Table, params: dict[str, Any], budget: int) -> list[SearchResult]:
    pages: list[SearchResult] = []
    cursor = None
    for _ in range(200):
        pages.append(search_products(table, SearchParams(**params, cursor=cursor), read_budget=budget))
        cursor = pages[-1].next_cursor
        if cursor is None:
            return pages
    raise AssertionError("the cursor never ended")


@pytest.mark.parametrize("sort", ["name", "relevance", "price_asc"])
def test_a_search_cut_short_by_the_read_budget_answers_a_page_with_a_cursor_only_when_its_budget_held_no_match(
    table: Table, sort: str
) -> None:
    params = {"q": "reptile heat", "sort": sort, "limit": 2}
    budget = 12
    pages = budget_pages(table, params, budget)
    found = [p.id for page in pages for p in page.items]
    unbounded = [p.id for page in budget_pages(table, params, 10_000) for p in page.items]
    assert found == unbounded and len(found) > 2  # same items, same order, none repeated or skipped
    assert len(found) == len(set(found))
    assert any(page.next_cursor and page.items_read >= budget for page in pages), "the budget never cut a page short"
    for page in pages:
        assert page.requests <= 6, "a page took too many reads"
        if page.next_cursor is not None and len(page.items) < params["limit"]:
            assert page.items_read >= budget, "a short page came back before its budget was spent"
    for before, after in pairwise(pages):
        if len(before.items) == params["limit"]:
            assert after.items, "a full page's cursor led to an empty page"
