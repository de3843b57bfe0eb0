"""Search forgives as shoppers type, through the API against moto and the
index the stream keeps: typos are corrected from the index's own words,
filler and words that empty a search are left out, compounds and synonyms
help, and the answer says how it understood the query, where each product
matched and how many products of each kind it found."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib.catalog.products import Table
from chalicelib.platform.folding import fold
from chalicelib.platform.schema import MAX_PAGE
from chalicelib.search.language import stem, words
from tests.support.api_calls import search, walk
from tests.support.index_settling import settled
from tests.support.waiting import eventually


@pytest.fixture(autouse=True)
def _index_follows_the_table(client: Client, table: Table) -> None:
    """Each test starts with an index holding the table's products exactly
    (an earlier test's deletions may still be on the stream)."""
    settled(table)


def text_of(product: dict[str, Any]) -> str:
    fields = ("name", "brand", "category", "species", "description")
    return fold(" ".join(product[name] for name in fields))


def stems_of(product: dict[str, Any]) -> set[str]:
    return {stem(w) for w in words(text_of(product))}


def ids(page: dict[str, Any]) -> list[str]:
    return [p["id"] for p in page["items"]]


# -- typos ---------------------------------------------------------------------------------


def test_a_mistyped_word_is_corrected_and_the_answer_says_so(client: Client) -> None:
    page = search(client, q="salmn treats ")
    assert page["query"] == {
        "text": "salmon treats",
        "corrected": {"salmn": "salmon"},
        "ignored": [],
        "synonyms": False,
    }
    assert "Salmon Skin Rolls, 250 g" in [p["name"] for p in page["items"]]
    assert all({"salmon", "treat"} <= stems_of(p) for p in page["items"])


@pytest.mark.parametrize(("typed", "meant"), [("orthopedik memory", "orthopedic"), ("memroy", "memory")])
def test_typos_are_forgiven_in_whole_words_and_in_the_word_being_typed(client: Client, typed: str, meant: str) -> None:
    page = search(client, q=typed)
    assert page["items"] and all(meant in text_of(p) for p in page["items"])


def test_a_word_as_near_to_two_words_is_decided_by_the_other_words(client: Client) -> None:
    page = search(client, q="gwass hay ")  # glass or grass: only grass goes with hay
    assert page["query"]["corrected"] == {"gwass": "grass"} and page["query"]["ignored"] == []
    names = [p["name"] for p in page["items"]]
    assert "Orchard Grass Hay, 1 kg" in names and all("Grass" in n for n in names)


def test_a_typo_near_two_forms_of_one_word_finds_what_the_word_finds(client: Client) -> None:
    meant = {p["id"] for p in walk(client, q="treat ", limit=MAX_PAGE)}
    typo = {p["id"] for p in walk(client, q="treatz ", limit=MAX_PAGE)}  # "treat" or "treats": one stem
    assert typo == meant and meant


def test_a_correct_query_is_searched_as_typed_and_reads_only_its_page_from_the_table(
    client: Client, dynamo_calls: Any
) -> None:
    dynamo_calls.clear()
    page = search(client, q="salmon treats ")
    assert page["query"] == {"text": "salmon treats", "corrected": {}, "ignored": [], "synonyms": False}
    assert Counter(dynamo_calls.operations) == {"BatchGetItem": 1}  # no Query, no Scan


def test_every_page_of_a_corrected_search_keeps_its_interpretation(client: Client) -> None:
    items = walk(client, q="fitler ", limit=3)
    assert len(items) > 3 and len({p["id"] for p in items}) == len(items)
    assert all("filter" in text_of(p) for p in items)


def test_a_word_new_to_the_catalog_is_corrected_to_once_the_index_has_it(client: Client, make_product: Any) -> None:
    # GIVEN a word no product had until now
    product = make_product(name="Quillwort Pond Plant", species="fish", category="habitats")
    # WHEN the index has it THEN it is searched as typed, and a typo of it is corrected to it
    eventually(lambda: ids(search(client, q="quillwort ")) == [product.id])
    page = search(client, q="quilwort ")
    assert page["query"]["corrected"] == {"quilwort": "quillwort"}
    assert ids(page) == [product.id]


# -- filler, relaxation ------------------------------------------------------------------------


def test_filler_words_never_empty_a_search(client: Client) -> None:
    page = search(client, q="best salmon treats for my dog ")
    assert set(page["query"]["ignored"]) >= {"best", "my"}
    assert "Salmon Skin Rolls, 250 g" in [p["name"] for p in page["items"]]


@pytest.mark.parametrize(
    ("q", "kept", "left_out"),
    [
        ("food for my old dog", {"food", "dog"}, {"old"}),
        ("stop my cat getting hairballs", {"cat", "hairballs"}, {"stop"}),
        ("small cat bowl", {"cat", "bowl"}, {"small"}),
    ],
)
def test_words_that_find_nothing_together_are_left_out_least_telling_first_and_the_answer_says_which(
    client: Client, q: str, kept: set[str], left_out: set[str]
) -> None:
    page = search(client, q=q, limit=MAX_PAGE)
    searched = set(page["query"]["text"].split())
    assert kept <= searched and not searched & left_out
    assert left_out <= set(page["query"]["ignored"])
    assert page["items"]
    for product in page["items"]:
        found = set(words(text_of(product)))
        assert all(any(w == k or stem(w) == stem(k) or w.startswith(k) for w in found) for k in kept), product["name"]


def test_a_word_that_finds_nothing_with_the_animal_named_is_left_out_not_the_animal(client: Client) -> None:
    page = search(client, q="reptile salmon ")
    assert page["query"]["ignored"] == ["salmon"]
    assert page["items"] and all("reptile" in text_of(p) for p in page["items"])


@pytest.mark.parametrize("q", ["cat cat", "salmon salmon"])
def test_relaxing_never_drops_every_word(client: Client, q: str) -> None:
    page = search(client, q=q, species="fish", category="toys")  # no fish toy has these words
    assert page["items"] == [] and page["next_cursor"] is None
    assert page["query"]["text"]  # a word is still searched for


def test_a_query_of_words_the_catalog_does_not_know_finds_nothing(client: Client) -> None:
    page = search(client, q="qwxzzy vbnmkj ")
    assert page["items"] == [] and page["next_cursor"] is None and page["facets"]["counted"] == 0


# -- compounds, synonyms -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "meant", "first"),
    [("catfood ", "cat food", "Cat Food"), ("scratchingpost ", "scratching post", "Sisal Scratching Post, 80 cm")],
)
def test_a_word_the_catalog_writes_as_two_finds_them(client: Client, q: str, meant: str, first: str) -> None:
    page = search(client, q=q, limit=MAX_PAGE)
    assert page["query"]["corrected"] == {q.strip(): meant}
    assert page["items"] and first in page["items"][0]["name"]
    assert all({stem(w) for w in meant.split()} <= stems_of(p) for p in page["items"])


def test_two_words_the_catalog_writes_as_one_find_it(client: Client, make_product: Any) -> None:
    cuttlebone = make_product(name="Cuttlebone for Budgies", species="bird", category="health")
    page = eventually(lambda: (found := search(client, q="cuttle bone ")) and cuttlebone.id in ids(found) and found)
    assert page["query"]["ignored"] == [] and page["query"]["text"] == "cuttlebone"
    assert all("cuttlebone" in text_of(p) for p in page["items"])


def test_a_synonym_finds_what_the_catalog_calls_otherwise(client: Client) -> None:
    page = search(client, q="vivarium ")  # no product says vivarium
    assert page["query"]["synonyms"] and page["query"]["ignored"] == []
    assert page["items"] and all("terrarium" in text_of(p) for p in page["items"])


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


def test_a_word_finds_its_own_products_first_then_its_synonyms_each_product_once(
    client: Client, seed_products: list[dict[str, Any]]
) -> None:
    items = walk(client, q="puppy ", limit=5)
    found = [p["id"] for p in items]
    assert len(found) == len(set(found))
    assert set(found) == {p["id"] for p in seed_products if stems_of(p) & {"puppi", "dog"}}
    own = ["puppi" in stems_of(p) for p in items]
    assert any(own) and own == sorted(own, reverse=True)  # every puppy product before the other dog ones


# -- exact ---------------------------------------------------------------------------------------


def test_exact_searches_the_words_as_typed(client: Client) -> None:
    page = search(client, q="salmn treats ", exact="true")
    assert page["items"] == [] and page["next_cursor"] is None
    assert page["query"]["corrected"] == {} and page["query"]["ignored"] == []


def test_exact_never_relaxes_a_query_with_a_word_the_catalog_does_not_know(client: Client) -> None:
    assert search(client, q="salmon zzyzx ")["items"]
    page = search(client, q="salmon zzyzx ", exact="true")
    assert page["items"] == [] and page["facets"]["counted"] == 0
    assert page["query"]["ignored"] == [] and page["query"]["text"] == "salmon zzyzx"


def test_exact_searches_a_known_word_without_its_synonyms(client: Client) -> None:
    widened = search(client, q="kitten tree ")
    exact = search(client, q="kitten tree ", exact="true")
    assert widened["items"] and widened["query"]["synonyms"]
    assert not exact["query"]["synonyms"]
    assert all("kitten" in text_of(p) for p in exact["items"])


# -- order, paging, cursors --------------------------------------------------------------------


@pytest.mark.parametrize("q", ["salmon ", "cat toy ", "puppy food ", "salmn ", "dog"])
@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("price_asc", lambda p: p["price_cents"]),
        ("price_desc", lambda p: -p["price_cents"]),
        ("name", lambda p: fold(p["name"])),
    ],
)
def test_a_sorted_search_orders_the_whole_result_page_after_page(client: Client, q: str, sort: str, key: Any) -> None:
    items = walk(client, q=q, sort=sort, limit=4)
    whole = walk(client, q=q, sort=sort, limit=MAX_PAGE)
    assert len(items) > 4 and [p["id"] for p in items] == [p["id"] for p in whole]  # none repeated or missing
    assert [key(p) for p in items] == sorted(key(p) for p in items)


@pytest.mark.parametrize("q", ["dog bed ", "heat lamp ", "guinea pig "])
def test_page_one_of_a_search_by_relevance_holds_the_best_of_the_whole_result(client: Client, q: str) -> None:
    whole = ids(search(client, q=q, limit=MAX_PAGE))
    assert ids(search(client, q=q, limit=3)) == whole[:3]
    assert [p["id"] for p in walk(client, q=q, limit=3)] == whole


@pytest.mark.parametrize(
    "other",
    [{"q": "filter "}, {"q": "fitler ", "sort": "name"}, {"q": "fitler ", "exact": "true"}, {"q": "fitler"}],
)
def test_a_cursor_of_a_search_is_refused_for_another(client: Client, other: dict[str, Any]) -> None:
    first = search(client, q="fitler ", limit=2)
    response = client.http.get("/products?" + urlencode({"limit": 2, **other, "cursor": first["next_cursor"]}))
    assert response.status_code == 400 and response.json_body["field"] == "cursor"


@pytest.mark.parametrize("offset", [-1, 0, 10**9, "2", 2.5])
def test_a_cursor_edited_to_a_position_no_page_has_is_refused(client: Client, offset: Any) -> None:
    cursor = search(client, q="dog ", limit=2)["next_cursor"]
    position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    position["k"]["o"] = offset
    edited = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
    response = client.http.get("/products?" + urlencode({"q": "dog ", "limit": 2, "cursor": edited}))
    assert response.status_code == 400 and response.json_body["field"] == "cursor", offset


# -- the answer explains itself ------------------------------------------------------------------


def test_matches_give_offsets_of_the_matched_words_in_name_and_description(client: Client) -> None:
    items = search(client, q="salmn treats ")["items"]
    assert items
    for product in items:
        spans = product["matches"]["name"] + product["matches"]["description"]
        assert spans
        for span in product["matches"]["name"]:
            assert fold(product["name"][span["start"] : span["end"]]) in {"salmon", "treats", "treat"}
        for span in product["matches"]["description"]:
            assert stem(fold(product["description"][span["start"] : span["end"]])) in {"salmon", "treat"}


@pytest.mark.parametrize(
    "params",
    [
        {"q": "aquarium "},
        {"q": "dog ", "limit": 5},
        {"q": "toy ", "species": "cat"},
        {"category": "beds", "max_price": 4999},
    ],
)
def test_facets_count_every_product_of_the_whole_result(client: Client, params: dict[str, Any]) -> None:
    page = search(client, **params)
    every = walk(client, **{**params, "limit": MAX_PAGE})
    assert page["facets"]["counted"] == len(every)
    chosen = {name: params[name] for name in ("species", "category") if name in params}
    for name in ("species", "category"):
        if name not in chosen:
            assert {f["value"]: f["count"] for f in page["facets"][name]} == Counter(p[name] for p in every)
    for name, value in chosen.items():  # counted with every filter but its own
        counts = {f["value"]: f["count"] for f in page["facets"][name]}
        assert counts[value] == len(every) and len(counts) > 1
        for other, count in counts.items():
            assert len(walk(client, **{**params, name: other, "limit": MAX_PAGE})) == count, other


def test_the_openapi_document_describes_the_explained_answer(client: Client) -> None:
    schemas = client.http.get("/openapi.json").json_body["components"]["schemas"]
    assert {"query", "facets"} <= set(schemas["ProductPage"]["properties"])
    assert "matches" in schemas["ProductHit"]["properties"]
    assert {"Facets", "FacetCount", "PriceBand", "Highlight", "Matches", "QueryUnderstood"} <= set(schemas)
    assert set(schemas["Facets"]["properties"]) == {"species", "category", "brand", "price", "counted"}


def test_the_openapi_document_says_search_follows_the_catalog_by_seconds_and_may_not_be_ready(client: Client) -> None:
    operation = client.http.get("/openapi.json").json_body["paths"]["/products"]["get"]
    assert "second" in operation["description"]
    assert "index_not_ready" in operation["responses"]["503"]["description"]
