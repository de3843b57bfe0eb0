"""Search forgives as shoppers type, against moto: typos are corrected,
filler and words that empty a search are dropped, synonyms help, and the
answer says how it understood the query, where each product matched and how
many products of each kind it found. All without Scan, at a bounded cost."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib.catalog import Table, index_entries
from chalicelib.models import SearchParams
from chalicelib.search import search_products
from chalicelib.text import fold, index_text
from tests.functional.test_products_api import search, walk


def test_a_mistyped_word_is_corrected_and_the_answer_says_so(client: Client) -> None:
    page = search(client, q="salmn treats ")
    assert page["query"]["corrected"] == {"salmn": "salmon"}
    assert page["query"]["text"] == "salmon treats"
    assert "Salmon Skin Rolls, 250 g" in [p["name"] for p in page["items"]]


@pytest.mark.parametrize(("typed", "meant"), [("orthopedik memory", "orthopedic"), ("memroy", "memory")])
def test_typos_are_forgiven_in_whole_words_and_in_the_word_being_typed(client: Client, typed: str, meant: str) -> None:
    page = search(client, q=typed)
    assert page["items"] and all(meant in fold(p["name"] + " " + p["description"]) for p in page["items"])


def test_a_correct_query_is_searched_as_typed_and_reads_no_vocabulary(client: Client, dynamo_calls: Any) -> None:
    page = search(client, q="salmon treats ")
    assert page["query"] == {"text": "salmon treats", "corrected": {}, "ignored": [], "synonyms": False}
    assert Counter(dynamo_calls.operations) == {"Query": 1, "BatchGetItem": 1}


def test_a_corrected_query_costs_a_few_calls_and_never_scans(client: Client, dynamo_calls: Any) -> None:
    walk(client, q="salmn treats ", limit=3)
    calls = Counter(dynamo_calls.operations)
    assert "Scan" not in calls
    pages = calls["BatchGetItem"] - calls["BatchGetItem"] // 2  # products of each page, vocabulary of the first
    assert calls["Query"] <= 3 * pages + 2


def test_the_read_cost_of_a_corrected_query_does_not_grow_with_the_catalog(table: Table, make_product: Any) -> None:
    before = search_products(table, SearchParams(q="salmn treats ", limit=5))
    for n in range(30):
        make_product(name=f"Ocean Treats {n}", description="Crunchy treats with tuna.", species="cat")
    after = search_products(table, SearchParams(q="salmn treats ", limit=5))
    assert [p.id for p in after.items] == [p.id for p in before.items]
    assert after.requests == before.requests and after.items_read <= before.items_read + 2


def test_filler_words_never_empty_a_search(client: Client) -> None:
    page = search(client, q="best salmon treats for my dog ")
    assert set(page["query"]["ignored"]) >= {"best", "my"}
    assert "Salmon Skin Rolls, 250 g" in [p["name"] for p in page["items"]]


def test_words_that_find_nothing_together_are_dropped_from_the_last_and_the_answer_says_which(client: Client) -> None:
    page = search(client, q="reptile salmon ")
    assert page["query"]["ignored"] == ["salmon"]
    assert page["items"] and all(
        "reptile" in fold(p["species"] + " " + p["description"] + " " + p["name"]) for p in page["items"]
    )


@pytest.mark.parametrize("q", ["cat cat", "salmon salmon"])
def test_relaxing_never_drops_every_word(client: Client, q: str) -> None:
    page = search(client, q=q, species="fish", category="toys")  # no fish toy has these words
    assert page["items"] == [] and page["next_cursor"] is None
    assert page["query"]["text"]  # a word is still searched for


def test_a_synonym_finds_what_the_catalog_calls_otherwise(client: Client) -> None:
    page = search(client, q="vivarium ")  # read through the synonym's list: nothing to correct
    assert page["query"]["synonyms"] and page["query"]["corrected"] == {}
    assert page["items"] and all("terrarium" in fold(p["name"] + " " + p["description"]) for p in page["items"])


def test_a_word_as_near_to_two_words_is_decided_by_the_other_words(client: Client) -> None:
    page = search(client, q="gwass hay ")  # glass or grass: only grass goes with hay
    assert page["query"]["corrected"] == {"gwass": "grass"} and page["query"]["ignored"] == []
    names = [p["name"] for p in page["items"]]
    assert "Orchard Grass Hay, 1 kg" in names and all("Grass" in n for n in names)


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("kitten tree ", "Multi-Level Cat Tree with Condo, 150 cm"),  # a known word's synonym
        ("fish tank water conditioner ", "Aquarium Water Conditioner, 500 ml"),  # a phrase's synonym
    ],
)
def test_a_synonym_of_a_word_the_catalog_knows_widens_it(client: Client, typed: str, wanted: str) -> None:
    page = search(client, q=typed)
    assert page["query"]["synonyms"] and page["query"]["corrected"] == {}
    assert wanted in [p["name"] for p in page["items"]]


def test_a_word_alone_pages_through_its_own_list_then_its_synonyms_each_product_once(
    client: Client, seed_products: list[dict[str, Any]]
) -> None:
    def has(product: dict[str, Any], stem_: str) -> bool:
        indexed = index_text([(product[f], 1) for f in ("name", "brand", "category", "species", "description")])
        return f" {stem_} " in indexed.text

    first = search(client, q="puppy ", limit=5)
    assert first["query"]["synonyms"] and all(has(p, "puppi") for p in first["items"])  # as typed first
    items = walk(client, q="puppy ", limit=5)
    ids = [p["id"] for p in items]
    assert len(ids) == len(set(ids))
    assert set(ids) == {p["id"] for p in seed_products if has(p, "puppi") or has(p, "dog")}


def test_a_cursor_edited_to_another_list_of_the_word_is_refused(client: Client) -> None:
    page = search(client, q="puppy ", limit=5)
    position = json.loads(base64.urlsafe_b64decode(page["next_cursor"] + "=="))
    for branch in (position["k"]["b"] + 1, 4, 7, -1):
        position["k"]["b"] = branch
        edited = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
        response = client.http.get("/products?" + urlencode({"q": "puppy ", "limit": 5, "cursor": edited}))
        assert response.status_code == 400 and response.json_body["field"] == "cursor", branch


def test_corrections_of_one_stem_read_its_list_once(table: Table) -> None:
    meant = search_products(table, SearchParams(q="treat ", limit=100))
    typo = search_products(table, SearchParams(q="treatz ", limit=100))  # "treat" or "treats": one stem
    assert {p.id for p in typo.items} == {p.id for p in meant.items} and meant.items
    # The as-typed probe (one DynamoDB page) and the vocabulary item more, not the list twice.
    assert typo.items_read <= meant.items_read + 25


def test_a_product_with_too_many_words_matches_only_the_words_it_is_indexed_by(
    client: Client, make_product: Any
) -> None:
    filler = " ".join(f"a{chr(97 + i // 26)}{chr(97 + i % 26)}word" for i in range(40))  # sort before "sturdi"
    product = make_product(name="Zest Harness", description=f"A sturdy harness. {filler}")
    assert "sturdi" not in {e.get("term") for e in index_entries(product)}  # capped out of the index
    # Whichever word drives, the answer agrees: "sturdy" is not one of its words.
    for q in ("sturdy ", "sturdy zest ", "zest sturdy harness "):
        assert product.id not in {p["id"] for p in walk(client, q=q, limit=100, exact="true")}, q
    assert product.id in {p["id"] for p in walk(client, q="zest harness ", limit=100, exact="true")}


@pytest.mark.parametrize("q", ["salmon ", "cat toy ", "puppy food ", "salmn ", "dog"])
@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("price_asc", lambda p: p["price_cents"]),
        ("price_desc", lambda p: -p["price_cents"]),
        ("name", lambda p: fold(p["name"])),
    ],
)
def test_a_sorted_search_keeps_its_order_on_every_page(client: Client, q: str, sort: str, key: Any) -> None:
    items = walk(client, q=q, sort=sort, limit=4)  # relevance ranking never reorders a sorted page
    assert len(items) > 4 and [key(p) for p in items] == sorted(key(p) for p in items)


def test_exact_searches_a_known_word_without_its_synonyms(client: Client) -> None:
    widened = search(client, q="kitten tree ")
    exact = search(client, q="kitten tree ", exact="true")
    assert widened["items"] and widened["query"]["synonyms"]
    assert not exact["query"]["synonyms"]
    assert all("kitten" in fold(p["name"] + " " + p["description"]) for p in exact["items"])


def test_every_page_of_a_corrected_search_keeps_its_interpretation(client: Client) -> None:
    items = walk(client, q="fitler ", limit=3)
    assert len(items) > 3 and len({p["id"] for p in items}) == len(items)
    assert all("filter" in fold(p["name"] + " " + p["description"]) for p in items)


def test_a_cursor_of_a_corrected_search_is_refused_with_other_words(client: Client) -> None:
    first = search(client, q="fitler ", limit=2)
    response = client.http.get(f"/products?q=filter+&limit=2&cursor={first['next_cursor']}")
    assert response.status_code == 400 and response.json_body["field"] == "cursor"


def test_matches_give_offsets_of_the_matched_words_in_name_and_description(client: Client) -> None:
    for product in search(client, q="salmn treats ")["items"]:
        spans = product["matches"]["name"] + product["matches"]["description"]
        assert spans
        for span in product["matches"]["name"]:
            assert fold(product["name"][span["start"] : span["end"]]) in {"salmon", "treats", "treat"}


def test_facets_of_a_whole_result_count_its_products_per_species_category_and_brand(client: Client) -> None:
    page = search(client, q="aquarium ", limit=100)
    assert page["next_cursor"] is None and not page["facets"]["approximate"]
    for name in ("species", "category"):
        assert {f["value"]: f["count"] for f in page["facets"][name]} == Counter(p[name] for p in page["items"])
    assert page["facets"]["counted"] == len(page["items"])


def test_facets_of_a_page_followed_by_more_are_marked_approximate(client: Client) -> None:
    page = search(client, q="dog ", limit=5)
    assert page["next_cursor"] and page["facets"]["approximate"]
    assert page["facets"]["counted"] > len(page["items"])  # the page and what it read beyond


def test_a_search_the_budget_cuts_short_is_relaxed_only_once_it_has_ended_empty(table: Table) -> None:
    params = {"q": "reptile salmon ", "limit": 50}
    unbounded = search_products(table, SearchParams(**params))
    assert unbounded.understanding.ignored == ("salmon",) and unbounded.items
    pages, cursor = [], None
    for _ in range(100):
        pages.append(search_products(table, SearchParams(**params, cursor=cursor), read_budget=8))
        cursor = pages[-1].next_cursor
        if cursor is None:
            break
    assert not pages[0].items and pages[0].understanding.ignored == ()  # cut short: not relaxed yet
    found = [p.id for page in pages for p in page.items]
    assert set(found) == {p.id for p in unbounded.items} and len(found) == len(set(found))
    assert all(page.understanding.ignored == ("salmon",) for page in pages if page.items)


def test_exact_searches_the_words_as_typed(client: Client) -> None:
    page = search(client, q="salmn treats ", exact="true")
    assert page["items"] == [] and page["next_cursor"] is None
    assert page["query"]["corrected"] == {} and page["query"]["ignored"] == []


def test_the_openapi_document_describes_the_explained_answer(client: Client) -> None:
    schemas = client.http.get("/openapi.json").json_body["components"]["schemas"]
    assert {"query", "facets"} <= set(schemas["ProductPage"]["properties"])
    assert "matches" in schemas["ProductHit"]["properties"]
    assert {"Facets", "FacetCount", "Highlight", "Matches", "QueryUnderstood"} <= set(schemas)
