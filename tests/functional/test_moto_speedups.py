"""The moto patch of scripts/moto_speedups.py must not change any answer."""

from __future__ import annotations

from typing import Any

import boto3
from moto import mock_aws

from chalicelib.catalog import import_products
from chalicelib.models import ProductIn, SearchParams
from chalicelib.search import search_products
from scripts import moto_speedups
from scripts.generate_catalog import generate
from scripts.resources import create_table

QUERIES: list[dict[str, Any]] = [
    {"q": "salmon "},
    {"q": "org", "limit": 5},
    {"sort": "price_asc", "min_price": 1000, "max_price": 9000, "limit": 7},
    {"q": "dog", "sort": "name", "limit": 4},
    {"category": "toys", "sort": "price_desc", "in_stock": True, "limit": 6},
]


def all_pages(table: Any, params: dict[str, Any]) -> list[tuple[list[str], int]]:
    pages, cursor = [], None
    while True:
        result = search_products(table, SearchParams.model_validate({**params, "cursor": cursor}))
        pages.append(([p.id for p in result.items], result.items_read))
        cursor = result.next_cursor
        if cursor is None or len(pages) > 50:
            return pages


def test_search_answers_are_identical_with_and_without_the_patch() -> None:
    from moto.dynamodb.models.table import Table

    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), "speedups")
        table = boto3.resource("dynamodb", region_name="us-east-1").Table("speedups")
        import_products(table, [ProductIn.model_validate(p) for p in generate(150)])
        installed = getattr(Table, "_partition_query_installed", False)
        saved = (Table.query, Table.all_items)
        if installed:  # compare against moto's own implementation
            Table.query = Table.query.__wrapped_original__  # type: ignore[attr-defined]
            Table.all_items = Table.all_items.__wrapped_original__  # type: ignore[attr-defined]
            Table._partition_query_installed = False
        try:
            plain = [all_pages(table, q) for q in QUERIES]
            moto_speedups.install()
            patched = [all_pages(table, q) for q in QUERIES]
        finally:
            if installed:
                Table.query, Table.all_items = saved
                Table._partition_query_installed = True
    assert plain == patched
    assert all(pages[0][0] for pages in plain)
