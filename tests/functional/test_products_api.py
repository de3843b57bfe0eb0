"""GET /products, /products/{id}, /health and /openapi.json against moto."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from chalicelib.platform.folding import fold
from chalicelib.platform.schema import DEFAULT_PAGE, MAX_PAGE
from chalicelib.search.language import stem, words
from chalicelib.search.results import SearchParams
from tests.support.api_calls import search, walk


def names(page: dict[str, Any]) -> list[str]:
    return [p["name"] for p in page["items"]]


def longest(parameter: str) -> int:
    """The longest value GET /products accepts for ``parameter`` (its model's max_length)."""
    return next(
        rule.max_length for rule in SearchParams.model_fields[parameter].metadata if hasattr(rule, "max_length")
    )


def expected_ids(products: list[dict[str, Any]], **match: Any) -> set[str]:
    return {p["id"] for p in products if all(p[k] == v for k, v in match.items())}


def test_health_says_ok(client: Client) -> None:
    assert client.http.get("/health").json_body == {"status": "ok"}


def test_a_product_is_returned_by_id(client: Client, seed_products: list[dict[str, Any]]) -> None:
    wanted = seed_products[3]
    body = client.http.get(f"/products/{wanted['id']}").json_body
    assert set(body) == {*wanted, "version", "photos"} and isinstance(body["version"], int)
    assert {k: v for k, v in body.items() if k not in ("version", "photos")} == wanted
    assert body["photos"] == []  # the functional tier seeds no photos (make run does: docs/local.md)
    assert "PK" not in body and "index_keys" not in body


def test_an_unknown_product_is_a_404_with_a_json_error(client: Client) -> None:
    response = client.http.get("/products/no-such-thing")
    assert response.status_code == 404
    assert response.json_body["code"] == "product_not_found"


def test_one_word_finds_name_description_and_brand_matches(client: Client, seed_products: list[dict[str, Any]]) -> None:
    found = {p["id"] for p in walk(client, q="salmon ", limit=MAX_PAGE)}
    truth = {p["id"] for p in seed_products if "salmon" in fold(p["name"] + " " + p["description"])}
    assert found == truth and found


def test_words_are_matched_in_the_brand(client: Client, seed_products: list[dict[str, Any]]) -> None:
    brand = seed_products[0]["brand"]
    found = {p["id"] for p in walk(client, q=brand.split()[0] + " ", limit=MAX_PAGE)}
    assert expected_ids(seed_products, brand=brand) <= found


def test_search_ignores_case_and_accents(client: Client) -> None:
    assert names(search(client, q="PUREE ")) == names(search(client, q="purée "))
    assert any("Purée" in n for n in names(search(client, q="PUREE ")))


def test_plural_and_singular_find_the_same_products(client: Client) -> None:
    plural = {p["id"] for p in walk(client, q="puppies ", limit=MAX_PAGE)}
    singular = {p["id"] for p in walk(client, q="puppy ", limit=MAX_PAGE)}
    assert plural == singular and plural


def test_the_last_word_matches_as_a_prefix_while_typing(client: Client) -> None:
    typing = {p["id"] for p in walk(client, q="aquar", limit=MAX_PAGE)}
    whole = {p["id"] for p in walk(client, q="aquarium ", limit=MAX_PAGE, exact="true")}  # without "fish tank"
    assert whole <= typing and whole


def test_several_words_must_all_match(client: Client, seed_products: list[dict[str, Any]]) -> None:
    def holds_both(product: dict[str, Any]) -> bool:
        text = " ".join([product["name"], product["description"], product["brand"], product["species"]])
        return {stem("cat"), stem("salmon")} <= {stem(word) for word in words(text)}

    # GIVEN the seeded products that hold both words (as typed or in another form)
    both = {p["id"] for p in seed_products if holds_both(p)}
    assert both, "the seed catalog has cat products with salmon"
    # WHEN both words are searched
    found = {p["id"] for p in walk(client, q="cat salmon ", limit=MAX_PAGE)}
    # THEN every one of them is found, and nothing that lacks a word
    assert both <= found
    assert sorted(found - both) == []


def test_name_matches_rank_before_description_matches(client: Client) -> None:
    items = walk(client, q="salmon ", limit=MAX_PAGE)
    in_name = ["salmon" in fold(p["name"]) for p in items]
    assert in_name == sorted(in_name, reverse=True)


def test_filters_combine_with_words(client: Client, seed_products: list[dict[str, Any]]) -> None:
    items = walk(client, q="food ", species="cat", in_stock="true", max_price=3000, limit=MAX_PAGE)
    assert items
    for p in items:
        assert p["species"] == "cat" and p["stock"] > 0 and p["price_cents"] <= 3000


@pytest.mark.parametrize(
    "params",
    [
        {"species": "reptile"},
        {"category": "toys", "species": "dog"},
        {"min_price": 1000, "max_price": 2000, "sort": "price_asc"},
        {"in_stock": "false"},
    ],
)
def test_attribute_filters_alone_return_exactly_the_matching_products(
    client: Client, seed_products: list[dict[str, Any]], params: dict[str, Any]
) -> None:
    def matches(p: dict[str, Any]) -> bool:
        return (
            all(p[k] == params[k] for k in ("species", "category") if k in params)
            and p["price_cents"] >= params.get("min_price", 0)
            and p["price_cents"] <= params.get("max_price", 10**9)
            and (params.get("in_stock") != "false" or p["stock"] == 0)
        )

    found = [p["id"] for p in walk(client, **params, limit=7)]
    assert len(found) == len(set(found)), "a page repeated an item"
    assert set(found) == {p["id"] for p in seed_products if matches(p)}


def test_a_brand_filter_is_case_insensitive(client: Client, seed_products: list[dict[str, Any]]) -> None:
    brand = seed_products[10]["brand"]
    found = {p["id"] for p in walk(client, brand=brand.upper(), limit=MAX_PAGE)}
    assert found == expected_ids(seed_products, brand=brand)


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [("price_asc", "price_cents", False), ("price_desc", "price_cents", True), ("name", "name", False)],
)
def test_sort_orders_every_page(client: Client, sort: str, key: str, reverse: bool) -> None:
    items = walk(client, species="dog", sort=sort, limit=9)
    values = [fold(p[key]) if key == "name" else p[key] for p in items]
    assert values == sorted(values, reverse=reverse)


def test_paging_the_whole_catalog_never_repeats_or_skips(client: Client, seed_products: list[dict[str, Any]]) -> None:
    found = [p["id"] for p in walk(client, limit=13)]
    assert sorted(found) == sorted(p["id"] for p in seed_products)


def test_the_default_page_size_is_used_without_limit(client: Client) -> None:
    page = search(client)
    assert len(page["items"]) == DEFAULT_PAGE and page["next_cursor"]


def test_no_request_scans_the_table(client: Client, dynamo_calls: Any) -> None:
    walk(client, q="dog bed", limit=5)
    walk(client, category="health", in_stock="true", limit=50)
    client.http.get("/products/whatever")
    assert dynamo_calls.operations and "Scan" not in dynamo_calls.operations


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("species=dragon", "species"),
        ("category=furniture", "category"),
        ("min_price=abc", "min_price"),
        ("max_price=-1", "max_price"),
        ("limit=0", "limit"),
        (f"limit={MAX_PAGE + 1}", "limit"),
        ("sort=random", "sort"),
        ("in_stock=maybe", "in_stock"),
        ("cursor=garbled", "cursor"),
        ("min_price=500&max_price=100", "max_price"),
        ("colour=red", "colour"),
        ("q=" + "x" * (longest("q") + 1), "q"),
        ("brand=" + "x" * (longest("brand") + 1), "brand"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(client: Client, query: str, field: str) -> None:
    response = client.http.get("/products?" + query)
    assert response.status_code == 400
    assert response.json_body["field"] == field
    assert response.json_body["code"] == "invalid_input"
    assert "Traceback" not in response.body.decode()


def test_a_cursor_cannot_be_reused_for_another_query(client: Client) -> None:
    cursor = search(client, species="dog", limit=2)["next_cursor"]
    response = client.http.get(f"/products?species=cat&limit=2&cursor={cursor}")
    assert response.status_code == 400 and response.json_body["field"] == "cursor"


def test_the_openapi_document_covers_every_route_and_parameter(client: Client) -> None:
    from app import app

    doc = client.http.get("/openapi.json").json_body
    assert doc["openapi"].startswith("3.")
    for path, entry in app.routes.items():
        for method in entry:
            assert method.lower() in doc["paths"][path], f"{method} {path} is not documented"
    documented = {p["name"] for p in doc["paths"]["/products"]["get"]["parameters"]}
    assert documented == {
        "q",
        "species",
        "category",
        "brand",
        "min_price",
        "max_price",
        "in_stock",
        "sort",
        "exact",
        "limit",
        "cursor",
    }
    assert "Product" in doc["components"]["schemas"]


def test_responses_allow_the_spa_origin(client: Client) -> None:
    response = client.http.get("/products?limit=1")
    assert response.headers.get("Access-Control-Allow-Origin") == "*"


@pytest.mark.parametrize("sort", ["relevance", "price_asc", "name"])
def test_a_prefix_matching_several_words_of_a_product_returns_it_once(
    client: Client, seed_products: list[dict[str, Any]], sort: str
) -> None:
    found = [p["id"] for p in walk(client, q="toy", sort=sort, limit=3)]
    assert len(found) == len(set(found)), "a product came back twice"
    truth = {
        p["id"]
        for p in seed_products
        if any(
            w.startswith("toy")
            for w in fold(" ".join([p["name"], p["description"], p["brand"], p["category"], p["species"]])).split()
        )
    }
    assert set(found) == truth and len(truth) > 3


def test_the_spa_offers_exactly_the_species_and_categories_the_api_accepts() -> None:
    import re

    from chalicelib.catalog.product import Category, Species
    from infra.template import ROOT

    source = (ROOT / "frontend" / "js" / "catalog.js").read_text()
    for name, enum in (("species", Species), ("category", Category)):
        listed = re.search(rf"{name}: \[(.*?)\]", source)
        assert listed is not None, f"no {name} list in catalog.js"
        assert re.findall(r'"(\w+)"', listed.group(1)) == [member.value for member in enum]
