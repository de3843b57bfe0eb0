"""Best sellers: the sales counters the order events keep, in the search index.

Orders are placed through the API and their stream records handed to the
real order events handler, which moves the counters (``PRODUCT#<id>`` /
``SALES``); the session's indexer follows the table's stream, as `make run`
does. Then GET /products/best-sellers lists the products by units sold, an
empty search opens on them, and ``sort=best_selling`` orders a search by
them (chalicelib/search/indexing.py, service.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.api.responses import BEST_SELLERS_CACHE
from chalicelib.catalog.product import Product
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.catalog.products import get_product, save_product
from chalicelib.platform import keys
from chalicelib.search.index import SCHEMA_VERSION, SearchIndex
from chalicelib.search.index_store import IndexReader, IndexStore
from chalicelib.search.indexing import Indexer
from chalicelib.search.language import name_key
from chalicelib.search.results import MAX_BEST_SELLERS, SearchParams, Sort
from chalicelib.search.service import search_products
from tests.support.api_calls import bearer, checkout, search, walk
from tests.support.stream_records import deliver, record, wire_item
from tests.support.waiting import eventually

Sell = Callable[..., str]


@pytest.fixture()
def shopper(client: Client, tokens: dict[str, Any]) -> tuple[str, str]:
    """The demo shopper's token and user id (the orders' partition)."""
    token = tokens["shopper"]["access"]
    me = client.http.get("/me", headers=bearer(token))
    assert me.status_code == 200, me.body
    return token, str(me.json_body["id"])


@pytest.fixture()
def sell(client: Client, table: Any, shopper: tuple[str, str], events_env: dict[str, str]) -> Sell:
    """Buy through POST /orders, then deliver the order's stream record to the
    order events handler, which moves the sales counters; returns the order id."""
    token, user = shopper

    def buy(product: Product, quantity: int) -> str:
        placed = checkout(client, token, [{"product_id": product.id, "quantity": quantity}])
        assert placed.status_code == 201, placed.body
        order_id = str(placed.json_body["id"])
        assert deliver(client, [record("INSERT", wire_item(table, keys.order_key(user, order_id)))]) == {
            "batchItemFailures": []
        }
        return order_id

    return buy


def unique_word() -> str:
    return "zq" + uuid.uuid4().hex[:10]


def units_sold(table: Any, product_id: str) -> int:
    item = table.get_item(Key=keys.sales_key(product_id), ConsistentRead=True).get("Item", {})
    return int(item.get("units_sold", 0))


def best_sellers(client: Client, limit: int = MAX_BEST_SELLERS) -> list[dict[str, Any]]:
    response = client.http.get(f"/products/best-sellers?limit={limit}")
    assert response.status_code == 200, response.body
    return list(response.json_body["items"])


def listed(client: Client, wanted: list[str]) -> list[str]:
    """The ids of ``wanted`` among the best sellers, in the order listed."""
    return [p["id"] for p in best_sellers(client) if p["id"] in wanted]


def best_selling_order(table: Any, items: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """What a list sorted best selling must be ordered by: units sold (most first), name, id."""
    return [(-units_sold(table, p["id"]), name_key(p["name"]), p["id"]) for p in items]


def products(make_product: Any, word: str) -> tuple[Product, Product, Product]:
    """Three products whose names sort them last by name (Zz...), by price and by name in the other order."""
    return (
        make_product(name=f"Zzb {word} Chew", price_cents=900),
        make_product(name=f"Zzc {word} Chew", price_cents=500),
        make_product(name=f"Zza {word} Chew", price_cents=700),
    )


def test_the_best_sellers_are_the_products_the_orders_sold_most_of(
    client: Client, table: Any, make_product: Any, sell: Sell
) -> None:
    # GIVEN three products: 3 of the first sold, 1 of the second, 2 of the third in two orders
    first, second, third = products(make_product, unique_word())
    sell(first, 3)
    sell(second, 1)
    sell(third, 1)
    sell(third, 1)
    assert [units_sold(table, p.id) for p in (first, second, third)] == [3, 1, 2]
    ids = [first.id, second.id, third.id]

    # THEN the best sellers list them by units sold, once the index has heard of the counters
    eventually(lambda: listed(client, ids) == [first.id, third.id, second.id])
    response = client.http.get(f"/products/best-sellers?limit={MAX_BEST_SELLERS}")
    items = response.json_body["items"]
    # every product listed has sold, and the list is by units sold (then name)
    order = best_selling_order(table, items)
    assert order == sorted(order) and all(units < 0 for units, _, _ in order)
    # the same product shape as a search's items, photos included; cached for minutes, at the edge too
    found = {p["id"]: p for p in items}[first.id]
    assert (found["name"], found["price_cents"], found["stock"]) == (first.name, first.price_cents, first.stock - 3)
    assert set(found) == set(search(client, q=first.name, exact="true")["items"][0]) - {"matches"}
    assert found["photos"] == []
    assert response.headers["Cache-Control"] == BEST_SELLERS_CACHE == "public, max-age=60, s-maxage=300"
    assert len(best_sellers(client, limit=1)) == 1


def test_a_cancelled_order_takes_its_units_back_from_the_best_sellers(
    client: Client, table: Any, make_product: Any, sell: Sell, shopper: tuple[str, str]
) -> None:
    # GIVEN two products, 2 of one sold and 3 of the other in one order
    word = unique_word()
    kept, cancelled = make_product(name=f"Zzk {word} Chew"), make_product(name=f"Zzc {word} Chew")
    sell(kept, 2)
    order_id = sell(cancelled, 3)
    eventually(lambda: listed(client, [kept.id, cancelled.id]) == [cancelled.id, kept.id])

    # WHEN the order of 3 is cancelled (and the order events hear of it)
    token, user = shopper
    before = wire_item(table, keys.order_key(user, order_id))
    assert client.http.post(f"/orders/{order_id}/cancel", headers=bearer(token)).status_code == 200
    after = wire_item(table, keys.order_key(user, order_id))
    assert deliver(client, [record("MODIFY", after, before)]) == {"batchItemFailures": []}
    assert units_sold(table, cancelled.id) == 0

    # THEN it has sold nothing: it leaves the best sellers
    eventually(lambda: listed(client, [kept.id, cancelled.id]) == [kept.id])


def test_an_empty_search_opens_on_the_best_sellers_page_after_page(
    client: Client, table: Any, make_product: Any, sell: Sell
) -> None:
    # GIVEN products whose names would list them last, sold
    first, second, third = products(make_product, unique_word())
    sell(first, 2)
    sell(third, 1)
    eventually(lambda: listed(client, [first.id, third.id]) == [first.id, third.id])

    # WHEN the shop is opened: no words, no sort
    items = walk(client, limit=31)

    # THEN the whole catalog comes by units sold, then by name: the sold ones first
    order = best_selling_order(table, items)
    assert order == sorted(order)
    ids = [p["id"] for p in items]
    assert ids.index(first.id) < ids.index(third.id) < ids.index(second.id)
    # the same as asking for it, and as relevance with no words to rank
    assert [p["id"] for p in walk(client, sort="best_selling", limit=100)] == ids
    assert [p["id"] for p in walk(client, sort="relevance", limit=100)] == ids
    # sorting by name is still there, and is another order
    by_name = [p["id"] for p in walk(client, sort="name", limit=100)]
    assert sorted(by_name) == sorted(ids) and by_name != ids


def test_a_search_sorted_best_selling_orders_what_it_finds_by_units_sold_and_its_default_stays_relevance(
    client: Client, table: Any, make_product: Any, sell: Sell
) -> None:
    # GIVEN the three products sold 1, 3 and 0 times, and a fourth, unsold, that matches the word best
    word = unique_word()
    first, second, third = products(make_product, word)
    relevant = make_product(name=f"Zzd {word} Chew", description=f"The {word} of {word} chews.")
    sell(first, 1)
    sell(second, 3)
    ids = [first.id, second.id, third.id, relevant.id]
    eventually(lambda: listed(client, ids) == [second.id, first.id])

    # WHEN a search for the word is sorted best selling THEN by units sold, then by name
    found = [p["id"] for p in walk(client, q=f"{word} ", sort="best_selling", limit=2)]
    assert found == [second.id, first.id, third.id, relevant.id]
    # AND the filters still apply
    assert [p["id"] for p in walk(client, q=f"{word} ", sort="best_selling", max_price=800)] == [second.id, third.id]
    # AND without a sort, a search with words ranks by relevance, as before
    assert search(client, q=f"{word} ")["items"][0]["id"] == relevant.id


def test_a_product_edit_keeps_its_units_sold(
    client: Client, table: Any, make_product: Any, sell: Sell, tokens: dict[str, Any]
) -> None:
    # GIVEN a product that has sold 2, above one that has sold 1
    first, second, _ = products(make_product, unique_word())
    sell(first, 2)
    sell(second, 1)
    eventually(lambda: listed(client, [first.id, second.id]) == [first.id, second.id])

    # WHEN an admin renames it (its item alone is written: the counter is another item)
    renamed = unique_word()
    admin = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    body = {**first.model_dump(mode="json", exclude={"id", "version", "photos", "stock"}), "name": f"Zzb {renamed}"}
    assert client.http.put(f"/products/{first.id}", headers=admin, body=json.dumps(body)).status_code == 200

    # THEN the index has the new name, and the product is still the better seller
    eventually(lambda: [p["id"] for p in search(client, q=f"{renamed} ", exact="true")["items"]] == [first.id])
    assert listed(client, [first.id, second.id]) == [first.id, second.id]
    assert {p["id"]: p["name"] for p in best_sellers(client)}[first.id] == f"Zzb {renamed}"


def test_bad_parameters_are_a_400_naming_the_parameter(client: Client) -> None:
    for path, field in [
        ("/products?sort=bestselling", "sort"),
        ("/products/best-sellers?limit=0", "limit"),
        (f"/products/best-sellers?limit={MAX_BEST_SELLERS + 1}", "limit"),
        ("/products/best-sellers?limit=many", "limit"),
        ("/products/best-sellers?sort=name", "sort"),
    ]:
        response = client.http.get(path)
        assert response.status_code == 400, path
        assert (response.json_body["code"], response.json_body["field"]) == ("invalid_input", field), path
        assert response.headers["Cache-Control"] == "no-store"


# -- the index: a rebuild, and a version written before it held sales ----------------------


@pytest.fixture()
def store(aws: str, tmp_path: Path) -> IndexStore:
    """An index store on a bucket of its own: the session's index is not touched."""
    name = f"best-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return IndexStore(boto3.client("s3"), name, tmp_path / "writer")


def current(store: IndexStore, tmp_path: Path) -> SearchIndex:
    return IndexReader(IndexStore(store.s3, store.bucket, tmp_path / f"reader-{uuid.uuid4().hex[:6]}")).get()


def sorted_best_selling(table: Any, index: SearchIndex, q: str) -> list[str]:
    return search_products(table, index, SearchParams(q=q, sort=Sort.best_selling, exact=True, limit=10)).order


def test_a_rebuild_from_the_table_holds_the_units_sold(
    client: Client, table: Any, make_product: Any, sell: Sell, store: IndexStore, tmp_path: Path
) -> None:
    # GIVEN products sold 1, 2 and 0 times (by name: the third, the first, the second)
    word = unique_word()
    first, second, third = products(make_product, word)
    sell(first, 1)
    sell(second, 2)

    # WHEN an index is rebuilt from the table (one Scan of products and counters)
    report = Indexer(store, table).rebuild()
    assert report.rebuilt and store.pointer().schema == SCHEMA_VERSION  # type: ignore[union-attr]

    # THEN it orders them by units sold as the stream-fed index does
    assert sorted_best_selling(table, current(store, tmp_path), f"{word} ") == [second.id, first.id, third.id]


def test_a_version_written_before_the_index_held_sales_is_rebuilt_not_updated(
    client: Client, table: Any, make_product: Any, store: IndexStore, tmp_path: Path
) -> None:
    # GIVEN a current version whose pointer names no schema (as versions published before it did)
    word = unique_word()
    product = make_product(name=f"Zzs {word} Chew")
    indexer = Indexer(store, table)
    indexer.rebuild()
    folder = store.download(store.pointer())  # type: ignore[arg-type]
    older = store.publish(folder, store.pointer(), {"rebuilt": True})
    assert older.schema == 1
    # AND a search on it sorts best selling by name instead (it has no units to sort by)
    old_index = current(store, tmp_path)
    assert not old_index.knows_sales
    assert sorted_best_selling(table, old_index, f"{word} ") == [product.id]

    # WHEN a batch arrives (the product renamed)
    key = keys.product_key(product.id)
    before = wire_item(table, key)
    stored = get_product(DynamoProductStore(table), product.id)
    renamed = stored.model_copy(update={"name": f"Zzs {word} Renamed"})
    save_product(DynamoProductStore(table), renamed, create=False, keep_stock=True)
    report = Indexer(store, table).apply([record("MODIFY", wire_item(table, key), before)])

    # THEN the index is rebuilt whole with the schema of now, the change included
    assert report.rebuilt and report.version == older.version + 1
    assert store.pointer().schema == SCHEMA_VERSION  # type: ignore[union-attr]
    index = current(store, tmp_path)
    assert index.knows_sales
    hits = search_products(table, index, SearchParams(q="renamed ", exact=True, limit=100)).order
    assert product.id in hits


def test_the_best_sellers_route_is_documented_with_its_limit(client: Client) -> None:
    doc = client.http.get("/openapi.json").json_body
    operation = doc["paths"]["/products/best-sellers"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["limit"]
    assert operation["parameters"][0]["schema"]["maximum"] == MAX_BEST_SELLERS
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BestSellers"
    }
    sorts = doc["components"]["schemas"]["Sort"]["enum"]
    assert "best_selling" in sorts and "relevance" in sorts
