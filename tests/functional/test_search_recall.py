"""What a shopper types finds what it should, over the seed catalog through
the index the stream keeps, and paging ends exactly where the results do."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import bootstrap
from chalicelib.catalog.products import Table
from chalicelib.platform.schema import MAX_PAGE
from chalicelib.search.language import stem, words
from chalicelib.search.results import SearchParams
from chalicelib.search.service import search_products
from tests.support.api_calls import search, walk
from tests.support.index_settling import settled

# Each example runs a few searches: a few dozen keep the tier fast.
bounded = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def _index_follows_the_table(client: Client, table: Table) -> None:
    """Each test starts with an index holding the table's products exactly."""
    settled(table)


def product_words(product: dict[str, Any]) -> list[str]:
    fields = [product["name"], product["brand"], product["category"], product["species"].replace("_", " ")]
    return sorted(set(words(" ".join([*fields, product["description"]]))))


def found_by(table: Table, q: str, product_id: str) -> bool:
    """Whether the search finds ``product_id``, on any of its pages."""
    index = bootstrap.get_search_index()
    cursor = None
    for _ in range(50):
        result = search_products(table, index, SearchParams(q=q, limit=MAX_PAGE, cursor=cursor))
        if product_id in result.order:
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
    found = {p["id"] for p in walk(client, q=word + " ", limit=MAX_PAGE)}
    truth = {p["id"] for p in seed_products if any(stem(w) == stem(word) for w in product_words(p))}
    assert found == truth and found


def test_dry_food_finds_dry_food(client: Client) -> None:
    for q in ("dry food", "dry food "):
        names = [p["name"] for p in walk(client, q=q, limit=MAX_PAGE)]
        assert any("Dry Dog Food" in n for n in names), q


@pytest.mark.parametrize("typed", ["for", "the", "you", "are", "z", "q", "pupp", "aqua"])
def test_a_stop_word_or_letter_being_typed_finds_the_words_it_starts(
    client: Client, seed_products: list[dict[str, Any]], typed: str
) -> None:
    found = {p["id"] for p in walk(client, q=typed, limit=MAX_PAGE)}
    truth = {p["id"] for p in seed_products if any(w.startswith(typed) for w in product_words(p))}
    assert found == truth and 0 < len(found) < len(seed_products)


def test_a_stop_word_typed_last_does_not_narrow_the_words_before_it(client: Client) -> None:
    typing = walk(client, q="dog for", limit=MAX_PAGE)
    finished = walk(client, q="dog ", limit=MAX_PAGE)
    assert {p["id"] for p in typing} == {p["id"] for p in finished}
    assert any(any(w.startswith("for") for w in product_words(p)) for p in typing)  # "formula" is among them


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
    total = len(walk(client, **params, limit=MAX_PAGE))
    assert total > 1
    page = search(client, **params, limit=total)
    assert len(page["items"]) == total and page["next_cursor"] is None
    assert page["facets"]["counted"] == total
    halves = search(client, **params, limit=total - 1)
    assert halves["next_cursor"] is not None
    rest = search(client, **params, limit=total - 1, cursor=halves["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize("sort", ["relevance", "price_asc", "name"])
def test_a_selective_search_answers_full_pages_until_the_last(client: Client, sort: str) -> None:
    # The old engine could answer short or empty pages while results followed; this one does not.
    pages = []
    cursor = None
    for _ in range(50):
        page = search(client, q="reptile heat", sort=sort, limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(pages) > 1
    assert all(len(p["items"]) == 2 for p in pages[:-1]) and pages[-1]["items"]
