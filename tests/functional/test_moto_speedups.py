"""The moto patches of scripts/moto_speedups.py must not change any answer.

These run against the session's moto server (never ``mock_aws``, whose exit
would reset the backends that server shares)."""

from __future__ import annotations

from typing import Any

import boto3

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


def test_search_answers_are_identical_with_and_without_the_patch(aws: str) -> None:
    from moto.dynamodb.models.table import Table

    create_table(boto3.client("dynamodb"), "speedups")
    table = boto3.resource("dynamodb").Table("speedups")
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


def test_a_failed_transaction_still_leaves_nothing_behind(aws: str) -> None:
    from botocore.exceptions import ClientError

    moto_speedups.install()
    create_table(boto3.client("dynamodb"), "speedups-tx")
    table = boto3.resource("dynamodb").Table("speedups-tx")
    table.put_item(Item={"PK": "STOCK#a", "SK": "S", "stock": 1})
    table.put_item(Item={"PK": "OTHER", "SK": "S", "kept": True})
    client = table.meta.client
    actions = [
        {"Put": {"TableName": "speedups-tx", "Item": {"PK": "ORDER#1", "SK": "O"}}},
        {
            "Update": {
                "TableName": "speedups-tx",
                "Key": {"PK": "STOCK#a", "SK": "S"},
                "UpdateExpression": "SET stock = stock - :n",
                "ConditionExpression": "stock >= :n",
                "ExpressionAttributeValues": {":n": 2},
            }
        },
    ]
    try:
        client.transact_write_items(TransactItems=actions)
        raise AssertionError("the transaction should have been cancelled")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in table.get_item(Key={"PK": "ORDER#1", "SK": "O"})
    assert table.get_item(Key={"PK": "STOCK#a", "SK": "S"})["Item"]["stock"] == 1
    assert table.get_item(Key={"PK": "OTHER", "SK": "S"})["Item"]["kept"] is True

    actions[1]["Update"]["ExpressionAttributeValues"] = {":n": 1}
    client.transact_write_items(TransactItems=actions)
    assert table.get_item(Key={"PK": "STOCK#a", "SK": "S"})["Item"]["stock"] == 0
    assert "Item" in table.get_item(Key={"PK": "ORDER#1", "SK": "O"})
