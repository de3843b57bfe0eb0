"""The moto patches of scripts/moto_speedups.py must not change any answer.

These run against the session's moto server (never ``mock_aws``, whose exit
would reset the backends that server shares)."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from chalicelib.catalog import import_products
from chalicelib.models import ProductIn
from scripts import moto_speedups
from scripts.generate_catalog import generate
from scripts.resources import create_table


def queries(table: Any) -> list[dict[str, Any]]:
    """Queries of one partition each, paged (the orders of a user, a product and its counters)."""
    ids = sorted(item["id"] for item in table.scan(ProjectionExpression="id")["Items"])[:4]
    found = [{"KeyConditionExpression": Key("PK").eq(f"PRODUCT#{i}"), "Limit": 1} for i in ids]
    found.append({"KeyConditionExpression": Key("PK").eq(f"PRODUCT#{ids[0]}") & Key("SK").begins_with("PRO")})
    return found


def all_pages(table: Any, request: dict[str, Any]) -> list[list[dict[str, Any]]]:
    pages, start = [], None
    while True:
        response = table.query(**request, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(response["Items"])
        start = response.get("LastEvaluatedKey")
        if start is None or len(pages) > 50:
            return pages


def test_query_answers_are_identical_with_and_without_the_patch(aws: str) -> None:
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
        plain = [all_pages(table, q) for q in queries(table)]
        moto_speedups.install()
        patched = [all_pages(table, q) for q in queries(table)]
    finally:
        if installed:
            Table.query, Table.all_items = saved
            Table._partition_query_installed = True
    assert plain == patched
    assert all(pages[0] for pages in plain)


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


def test_reading_a_missing_key_leaves_the_table_as_it_was(aws: str) -> None:
    """moto's table is a defaultdict: without the patch a GetItem adds an empty partition."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    moto_speedups.install()
    create_table(boto3.client("dynamodb"), "speedups-reads")
    table = boto3.resource("dynamodb").Table("speedups-reads")
    table.put_item(Item={"PK": "P#1", "SK": "S"})
    stored = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table("speedups-reads").items

    assert "Item" not in table.get_item(Key={"PK": "P#missing", "SK": "S"})
    table.meta.client.batch_get_item(RequestItems={"speedups-reads": {"Keys": [{"PK": "P#gone", "SK": "S"}]}})
    table.meta.client.transact_get_items(
        TransactItems=[{"Get": {"TableName": "speedups-reads", "Key": {"PK": "P#no", "SK": "S"}}}]
    )

    assert [str(key.value) for key in stored] == ["P#1"]


WRITERS, ORDERS_PER_WRITER = 4, 60


def test_copies_of_the_table_are_whole_while_clients_read_and_write(aws: str) -> None:
    """Writers, readers and copies at once, with thread switches forced often (a busy machine).

    Each order writes two items in two partitions in one transaction; every
    copy must hold both or neither. Fixed work, bounded by a deadline.
    """
    moto_speedups.install()
    create_table(boto3.client("dynamodb"), "speedups-race")
    errors: list[str] = []
    copies: list[list[dict[str, Any]]] = []
    writing = threading.Event()

    def place_orders(writer: int) -> None:
        client = boto3.session.Session().client("dynamodb")
        for n in range(ORDERS_PER_WRITER):
            order = f"{writer}-{n}"
            try:
                client.get_item(TableName="speedups-race", Key={"PK": {"S": f"IDEMPOTENCY#{order}"}, "SK": {"S": "K"}})
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": "speedups-race",
                                "Item": {"PK": {"S": f"ORDER#{order}"}, "SK": {"S": "O"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": "speedups-race",
                                "Item": {"PK": {"S": f"LINE#{writer}"}, "SK": {"S": order}},
                            }
                        },
                    ]
                )
                client.query(
                    TableName="speedups-race",
                    KeyConditionExpression="PK = :pk",
                    ExpressionAttributeValues={":pk": {"S": f"LINE#{writer}"}},
                )
            except Exception as exc:  # any failure is the finding
                errors.append(f"writer {writer}: {exc!r}")

    def copy_while_writing() -> None:
        while writing.is_set():
            try:
                copies.append(moto_speedups.table_items("speedups-race", "us-east-1"))
            except Exception as exc:
                errors.append(f"copy: {exc!r}")

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads every 10 µs: interleavings a loaded machine would produce
    try:
        writing.set()
        copier = threading.Thread(target=copy_while_writing, daemon=True)
        copier.start()
        writers = [threading.Thread(target=place_orders, args=(w,), daemon=True) for w in range(WRITERS)]
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 120
        for thread in writers:
            thread.join(max(0.0, deadline - time.monotonic()))
        writing.clear()
        copier.join(max(0.0, deadline - time.monotonic()))
    finally:
        sys.setswitchinterval(switch)
    assert not any(t.is_alive() for t in [*writers, copier]), "the workload did not finish in 120 s"

    assert errors == []
    assert copies, "no copy was made while the writers ran"
    for copy in copies:
        orders = {item["PK"]["S"].removeprefix("ORDER#") for item in copy if item["PK"]["S"].startswith("ORDER#")}
        lines = {item["SK"]["S"] for item in copy if item["PK"]["S"].startswith("LINE#")}
        assert orders == lines, "a copy caught a transaction half-written"
    final = moto_speedups.table_items("speedups-race", "us-east-1")
    assert len(final) == 2 * WRITERS * ORDERS_PER_WRITER


def test_item_reads_answer_what_motos_serializer_writes(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.responses import DynamoHandler

    moto_speedups.install()
    create_table(boto3.client("dynamodb"), "speedups-json")
    table = boto3.resource("dynamodb").Table("speedups-json")
    import_products(table, [ProductIn.model_validate(p) for p in generate(30)])
    fast = DynamoHandler.serialized
    answers: list[tuple[str, Any, Any]] = []

    def both(self: Any, action_result: Any) -> Any:
        mine, motos = fast(self, action_result), fast.__wrapped_original__(self, action_result)  # type: ignore[attr-defined]
        answers.append((self._get_action(), mine, motos))
        return motos

    monkeypatch.setattr(DynamoHandler, "serialized", both)
    for request in queries(table):
        all_pages(table, request)  # Query, with pages (LastEvaluatedKey)
    client = table.meta.client
    ids = [item["id"] for item in table.scan(ProjectionExpression="id", Limit=5)["Items"]]
    client.batch_get_item(
        RequestItems={"speedups-json": {"Keys": [{"PK": f"PRODUCT#{i}", "SK": "PRODUCT"} for i in ids]}}
    )
    key = {"PK": "nothing", "SK": "here"}
    table.get_item(Key=key)
    client.scan(TableName="speedups-json", Limit=3, ReturnConsumedCapacity="TOTAL")
    client.transact_get_items(TransactItems=[{"Get": {"TableName": "speedups-json", "Key": key}}])

    assert {action for action, _, _ in answers} >= {"Query", "BatchGetItem", "GetItem", "Scan", "TransactGetItems"}
    for action, mine, motos in answers:
        assert (mine[0], json.loads(mine[2])) == (motos[0], json.loads(motos[2])), action
        assert mine[1]["Content-Type"] == motos[1]["Content-Type"]
        if json.loads(mine[2]):  # same JSON in other spacing: the fast path wrote it
            assert mine[2] != motos[2], f"{action} was not answered by the fast path"
