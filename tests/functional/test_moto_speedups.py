"""The moto patches of localdev/moto_speedups.py must not change any answer.

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

from chalicelib.catalog.product import ProductIn
from chalicelib.catalog.products import import_products
from localdev import moto_speedups
from localdev.generate_catalog import generate
from localdev.resources import create_table


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


# -- the table's stream tells only what was written ----------------------------------
def stream_reader(table_name: str) -> tuple[Any, str]:
    """The embedded DynamoDB Streams client and an iterator at the stream's end."""
    streams = boto3.client("dynamodbstreams")
    arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")
    return streams, str(iterator["ShardIterator"])


def read_stream(streams: Any, iterator: str) -> tuple[list[tuple[str, str]], str]:
    """(event name, partition key) of each new record, and the next iterator."""
    page = streams.get_records(ShardIterator=iterator)
    found = [(r["eventName"], r["dynamodb"]["Keys"]["PK"]["S"]) for r in page["Records"]]
    return found, str(page["NextShardIterator"])


def test_a_cancelled_transaction_adds_no_record_to_the_tables_stream(aws: str) -> None:
    from botocore.exceptions import ClientError

    moto_speedups.install()
    create_table(boto3.client("dynamodb"), "speedups-stream")
    table = boto3.resource("dynamodb").Table("speedups-stream")
    table.put_item(Item={"PK": "STOCK#a", "SK": "S", "stock": 1})
    streams, iterator = stream_reader("speedups-stream")

    def buy(quantity: int) -> None:
        table.meta.client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "speedups-stream", "Item": {"PK": "ORDER#1", "SK": "O"}}},
                {
                    "Update": {
                        "TableName": "speedups-stream",
                        "Key": {"PK": "STOCK#a", "SK": "S"},
                        "UpdateExpression": "SET stock = stock - :n",
                        "ConditionExpression": "stock >= :n",
                        "ExpressionAttributeValues": {":n": quantity},
                    }
                },
                {"Put": {"TableName": "speedups-stream", "Item": {"PK": "IDEMPOTENCY#1", "SK": "K"}}},
            ]
        )

    # WHEN a transaction is cancelled (a condition failed after a Put was applied)
    with pytest.raises(ClientError) as refused:
        buy(2)
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"

    # THEN its reader finds nothing on the stream
    records, iterator = read_stream(streams, iterator)
    assert records == []
    # AND the same reader sees the next transaction, whole and once
    buy(1)
    records, iterator = read_stream(streams, iterator)
    assert records == [("INSERT", "ORDER#1"), ("MODIFY", "STOCK#a"), ("INSERT", "IDEMPOTENCY#1")]
    assert read_stream(streams, iterator)[0] == []


def test_an_update_that_creates_an_item_adds_one_insert_record_with_the_whole_item(aws: str) -> None:
    """moto writes the new item's key first, then updates it: two INSERTs, the first with a bare key."""
    moto_speedups.install()
    create_table(boto3.client("dynamodb"), "speedups-counters")
    client = boto3.client("dynamodb")
    streams, iterator = stream_reader("speedups-counters")
    counter = {
        "TableName": "speedups-counters",
        "Key": {"PK": {"S": "SALES#a"}, "SK": {"S": "SALES"}},
        "UpdateExpression": "ADD units_sold :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }

    client.transact_write_items(TransactItems=[{"Update": counter}])
    client.update_item(**{**counter, "Key": {"PK": {"S": "SALES#b"}, "SK": {"S": "SALES"}}})

    page = streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["eventName"], r["dynamodb"]["NewImage"]["units_sold"]) for r in page] == [
        ("INSERT", {"N": "1"}),
        ("INSERT", {"N": "1"}),
    ]


def test_the_changes_taken_from_the_stream_make_the_table_after_every_kind_of_write(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the local stack saves every second, without walking the table under its lock."""
    from botocore.exceptions import ClientError
    from moto.dynamodb.models.dynamo_type import Item

    moto_speedups.install()
    create_table(boto3.client("dynamodb"), "speedups-copy")
    table = boto3.resource("dynamodb").Table("speedups-copy")
    table.put_item(Item={"PK": "P#kept", "SK": "S", "n": 1})
    table.put_item(Item={"PK": "P#gone", "SK": "S"})
    before = moto_speedups.table_items("speedups-copy", "us-east-1")
    changes = moto_speedups.TableChanges("speedups-copy", "us-east-1")
    client = table.meta.client

    table.put_item(Item={"PK": "P#new", "SK": "S", "tags": {"a", "b"}, "doc": {"x": [1, {"y": "z"}]}})
    table.update_item(
        Key={"PK": "P#kept", "SK": "S"}, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": 2}
    )
    table.update_item(
        Key={"PK": "C#made", "SK": "S"}, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": 1}
    )
    table.delete_item(Key={"PK": "P#gone", "SK": "S"})
    with table.batch_writer() as batch:
        for n in range(30):
            batch.put_item(Item={"PK": f"B#{n}", "SK": "S"})
        batch.delete_item(Key={"PK": "B#0", "SK": "S"})
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "speedups-copy", "Item": {"PK": "T#1", "SK": "S"}}},
            {"Delete": {"TableName": "speedups-copy", "Key": {"PK": "B#1", "SK": "S"}}},
        ]
    )
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "speedups-copy", "Item": {"PK": "T#2", "SK": "S"}}},
                {"Delete": {"TableName": "speedups-copy", "Key": {"PK": "B#2", "SK": "S"}}},
                {
                    "ConditionCheck": {
                        "TableName": "speedups-copy",
                        "Key": {"PK": "T#1", "SK": "S"},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    with pytest.raises(ClientError):
        table.put_item(Item={"PK": "P#kept", "SK": "S"}, ConditionExpression="attribute_not_exists(PK)")

    converted: list[Any] = []
    to_json = Item.to_json
    monkeypatch.setattr(Item, "to_json", lambda self, *a, **k: converted.append(self) or to_json(self, *a, **k))
    taken = changes.take()
    monkeypatch.undo()

    def keyed(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {item["PK"]["S"]: item for item in items}

    after = moto_speedups.apply_changes(before, json.loads(json.dumps(taken)), changes.key_names)  # as journaled
    assert keyed(after) == keyed(moto_speedups.table_items("speedups-copy", "us-east-1"))
    assert converted == [], "taking the changes walked the table"
    assert changes.take() == []


def test_the_patches_refuse_a_moto_they_were_not_written_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    moto_speedups.check_moto_version()  # the installed one
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "5.3.0" if name == "moto" else "0")
    with pytest.raises(RuntimeError, match=r"moto 5\.3\.0 is installed"):
        moto_speedups.install()
