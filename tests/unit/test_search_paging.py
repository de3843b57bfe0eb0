"""Paging against DynamoDB's documented behaviour, which moto does not copy:
a Query that stops at its Limit returns a LastEvaluatedKey even when nothing
follows, so only a look-ahead tells a full last page from a page with more."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from chalicelib import keys
from chalicelib.catalog import index_entries, product_item
from chalicelib.models import Product, SearchParams
from chalicelib.search import search_products


class LimitBoundTable:
    """One index list, read in key order, paged as DynamoDB pages it."""

    name = "petstore-test"

    def __init__(self, products: list[Product], pk: str) -> None:
        self.entries = sorted((e for p in products for e in index_entries(p) if e["PK"] == pk), key=lambda e: e["SK"])
        self.items = {p.id: product_item(p, index_entries(p)) for p in products}
        self.meta = SimpleNamespace(client=self)

    def query(self, *, Limit: int, ExclusiveStartKey: dict[str, str] | None = None, **_: Any) -> dict[str, Any]:
        after = ExclusiveStartKey["SK"] if ExclusiveStartKey else ""
        items = [e for e in self.entries if e["SK"] > after][:Limit]
        response: dict[str, Any] = {"Items": items, "ScannedCount": len(items)}
        if len(items) == Limit:  # stopped at the limit: DynamoDB does not look further
            response["LastEvaluatedKey"] = {"PK": items[-1]["PK"], "SK": items[-1]["SK"]}
        return response

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        wanted = [k["PK"].removeprefix("PRODUCT#") for k in RequestItems[self.name]["Keys"]]
        return {"Responses": {self.name: [self.items[i] for i in wanted]}}


def reptiles(count: int) -> list[Product]:
    return [
        Product.model_validate(
            {
                "id": f"reptile-lamp-{n}",
                "name": f"Basking Lamp {n}",
                "description": "A lamp.",
                "species": "reptile",
                "category": "habitats",
                "brand": "Scales",
                "price_cents": 1000 + n,
                "stock": 3,
            }
        )
        for n in range(count)
    ]


def test_a_full_last_page_carries_no_cursor_even_when_dynamodb_stops_at_the_limit() -> None:
    table = LimitBoundTable(reptiles(5), keys.attribute_pk("species", "reptile"))
    page = search_products(table, SearchParams(species="reptile", limit=5))
    assert len(page.items) == 5 and page.next_cursor is None


def test_every_page_but_the_last_carries_a_cursor_to_the_next_item() -> None:
    table = LimitBoundTable(reptiles(6), keys.attribute_pk("species", "reptile"))
    first = search_products(table, SearchParams(species="reptile", limit=3))
    assert len(first.items) == 3 and first.next_cursor is not None
    second = search_products(table, SearchParams(species="reptile", limit=3, cursor=first.next_cursor))
    assert len(second.items) == 3 and second.next_cursor is None
    assert {p.id for p in first.items + second.items} == {p.id for p in reptiles(6)}
