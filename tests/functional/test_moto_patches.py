"""The patches of moto's DynamoDB (localdev/moto_patches.py): what clients see, with them and without.

localdev/moto_speed.py's change what a call costs, never its answer: the
first test makes the same calls with every patch and without any, and
compares. localdev/moto_fixes.py's change what moto tells where it differs
from DynamoDB (concurrency, the stream): a test each, below.

These run against the session's moto server (never ``mock_aws``, whose exit
would reset the backends that server shares)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from localdev import moto_patches
from localdev.embedded_table import TableChanges, apply_changes, table_items
from localdev.generate_catalog import generate
from localdev.resources import create_table


def queries(table: Any) -> list[dict[str, Any]]:
    """Queries of one partition each, paged (the orders of a user, a product and its counters)."""
    ids = sorted(item["id"] for item in table.scan(ProjectionExpression="id")["Items"] if "id" in item)[:4]
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


def put_catalog(table: Any, count: int) -> None:
    """``count`` synthetic products, one item each as the catalog stores them (no clock: the same at every run)."""
    with table.batch_writer() as batch:
        for product in generate(count):
            batch.put_item(Item={"PK": f"PRODUCT#{product['id']}", "SK": "PRODUCT", **product})


def what_clients_see(table_name: str) -> dict[str, Any]:
    """Every kind of call the shop makes to its table, and what its client gets back (the table's name left out)."""
    from botocore.exceptions import ClientError

    create_table(boto3.client("dynamodb"), table_name)
    table = boto3.resource("dynamodb").Table(table_name)
    client = table.meta.client  # plain Python values in, and out
    put_catalog(table, 120)
    with table.batch_writer() as batch:
        for n in range(7):  # a partition of several items, with a key of the by_price LSI
            batch.put_item(Item={"PK": "USER#1", "SK": f"ORDER#{n}", "price": (n * 3) % 5})
        batch.put_item(Item={"PK": "STOCK#a", "SK": "S", "stock": 1})
    seen: dict[str, Any] = {}

    def answer(call: Callable[..., Any], **request: Any) -> Any:
        try:
            response = call(**request)
        except ClientError as refused:
            response = refused.response
        return {name: value for name, value in response.items() if name != "ResponseMetadata"}

    seen["queries"] = [all_pages(table, request) for request in queries(table)]
    seen["orders"] = all_pages(table, {"KeyConditionExpression": Key("PK").eq("USER#1"), "Limit": 3})
    seen["orders newest first"] = all_pages(
        table, {"KeyConditionExpression": Key("PK").eq("USER#1") & Key("SK").gt("ORDER#2"), "ScanIndexForward": False}
    )
    seen["orders by price"] = all_pages(
        table, {"IndexName": "by_price", "KeyConditionExpression": Key("PK").eq("USER#1"), "Limit": 2}
    )
    seen["no such partition"] = all_pages(table, {"KeyConditionExpression": Key("PK").eq("USER#none")})
    found, missing = {"PK": "USER#1", "SK": "ORDER#3"}, {"PK": "USER#none", "SK": "ORDER#1"}
    seen["get"] = [answer(table.get_item, Key=key) for key in (found, missing)]
    seen["batch get"] = answer(client.batch_get_item, RequestItems={table_name: {"Keys": [found, missing]}})
    seen["transact get"] = answer(
        client.transact_get_items,
        TransactItems=[{"Get": {"TableName": table_name, "Key": k}} for k in (found, missing)],
    )
    seen["scan"] = [answer(client.scan, TableName=table_name, Limit=50, ReturnConsumedCapacity="TOTAL")]

    def buy(quantity: int, **options: Any) -> Any:
        update = {
            "TableName": table_name,
            "Key": {"PK": "STOCK#a", "SK": "S"},
            "UpdateExpression": "SET stock = stock - :n",
            "ConditionExpression": "stock >= :n",
            "ExpressionAttributeValues": {":n": quantity},
            **options,
        }
        order = {"Put": {"TableName": table_name, "Item": {"PK": "ORDER#1", "SK": "O", "quantity": quantity}}}
        return answer(client.transact_write_items, TransactItems=[order, {"Update": update}])

    seen["refused purchase"] = buy(2, ReturnValuesOnConditionCheckFailure="ALL_OLD")
    seen["purchase"] = buy(1)
    seen["one item twice"] = answer(
        client.transact_write_items,
        TransactItems=[{"Put": {"TableName": table_name, "Item": {"PK": "T", "SK": "1"}}}] * 2,
    )
    seen["counter made"] = answer(
        table.update_item,
        Key={"PK": "SALES#a", "SK": "SALES"},
        UpdateExpression="ADD units_sold :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="ALL_NEW",
    )
    seen["put refused"] = answer(table.put_item, Item=found, ConditionExpression="attribute_not_exists(PK)")
    seen["deleted"] = answer(table.delete_item, Key=found, ReturnValues="ALL_OLD")
    seen["table"] = sorted(
        (item for page in all_scan_pages(table) for item in page), key=lambda item: (item["PK"], item["SK"])
    )
    return json.loads(json.dumps(seen, default=str).replace(table_name, "<table>"))


def all_scan_pages(table: Any) -> list[list[dict[str, Any]]]:
    pages, start = [], None
    while True:
        response = table.scan(Limit=40, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(response["Items"])
        start = response.get("LastEvaluatedKey")
        if start is None:
            return pages


def test_clients_see_the_same_answers_with_every_patch_and_without_any(aws: str) -> None:
    """The stream is left out: moto_fixes changes it on purpose (the tests of the stream, below)."""
    moto_patches.install()
    with moto_patches.uninstalled():
        plain = what_clients_see("patches-none")
    patched = what_clients_see("patches-all")

    assert patched == plain
    assert plain["refused purchase"]["Error"]["Code"] == "TransactionCanceledException"
    assert plain["one item twice"]["Error"]["Code"] == "ValidationException"
    assert all(pages[0] for pages in plain["queries"]) and len(plain["orders"]) > 1
    assert len(plain["table"]) == 120 + 7 + 1 + 2 - 1  # catalog, orders, stock; the order and counter made; one deleted


def test_uninstalling_puts_back_every_attribute_the_patches_replaced(aws: str) -> None:
    moto_patches.install()
    replaced = [(owner, name) for patch in moto_patches.PATCHES for owner, name, _ in patch()]
    assert len(set(replaced)) == 11  # some attributes are wrapped by two patches (the writes)

    def patched(owner: type, name: str) -> bool:
        return name in owner.__dict__ and owner.__dict__[name].__module__.startswith("localdev.")

    with moto_patches.uninstalled():
        assert [(o.__name__, n) for o, n in replaced if patched(o, n)] == []
    assert all(patched(owner, name) for owner, name in replaced)


def test_a_failed_transaction_still_leaves_nothing_behind(aws: str) -> None:
    from botocore.exceptions import ClientError

    moto_patches.install()
    create_table(boto3.client("dynamodb"), "patches-tx")
    table = boto3.resource("dynamodb").Table("patches-tx")
    table.put_item(Item={"PK": "STOCK#a", "SK": "S", "stock": 1})
    table.put_item(Item={"PK": "OTHER", "SK": "S", "kept": True})
    client = table.meta.client
    actions = [
        {"Put": {"TableName": "patches-tx", "Item": {"PK": "ORDER#1", "SK": "O"}}},
        {
            "Update": {
                "TableName": "patches-tx",
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

    moto_patches.install()
    create_table(boto3.client("dynamodb"), "patches-reads")
    table = boto3.resource("dynamodb").Table("patches-reads")
    table.put_item(Item={"PK": "P#1", "SK": "S"})
    stored = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table("patches-reads").items

    assert "Item" not in table.get_item(Key={"PK": "P#missing", "SK": "S"})
    table.meta.client.batch_get_item(RequestItems={"patches-reads": {"Keys": [{"PK": "P#gone", "SK": "S"}]}})
    table.meta.client.transact_get_items(
        TransactItems=[{"Get": {"TableName": "patches-reads", "Key": {"PK": "P#no", "SK": "S"}}}]
    )

    assert [str(key.value) for key in stored] == ["P#1"]


WRITERS, ORDERS_PER_WRITER = 4, 60


def test_copies_of_the_table_are_whole_while_clients_read_and_write(aws: str) -> None:
    """Writers, readers and copies at once, with thread switches forced often (a busy machine).

    Each order writes two items in two partitions in one transaction; every
    copy must hold both or neither. Fixed work, bounded by a deadline.
    """
    moto_patches.install()
    create_table(boto3.client("dynamodb"), "patches-race")
    errors: list[str] = []
    copies: list[list[dict[str, Any]]] = []
    writing = threading.Event()

    def place_orders(writer: int) -> None:
        client = boto3.session.Session().client("dynamodb")
        for n in range(ORDERS_PER_WRITER):
            order = f"{writer}-{n}"
            try:
                client.get_item(TableName="patches-race", Key={"PK": {"S": f"IDEMPOTENCY#{order}"}, "SK": {"S": "K"}})
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": "patches-race",
                                "Item": {"PK": {"S": f"ORDER#{order}"}, "SK": {"S": "O"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": "patches-race",
                                "Item": {"PK": {"S": f"LINE#{writer}"}, "SK": {"S": order}},
                            }
                        },
                    ]
                )
                client.query(
                    TableName="patches-race",
                    KeyConditionExpression="PK = :pk",
                    ExpressionAttributeValues={":pk": {"S": f"LINE#{writer}"}},
                )
            except Exception as exc:  # any failure is the finding
                errors.append(f"writer {writer}: {exc!r}")

    def copy_while_writing() -> None:
        while writing.is_set():
            try:
                copies.append(table_items("patches-race", "us-east-1"))
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
    final = table_items("patches-race", "us-east-1")
    assert len(final) == 2 * WRITERS * ORDERS_PER_WRITER


def test_item_reads_answer_what_motos_serializer_writes(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.responses import DynamoHandler

    moto_patches.install()
    create_table(boto3.client("dynamodb"), "patches-json")
    table = boto3.resource("dynamodb").Table("patches-json")
    put_catalog(table, 30)
    fast, motos_own = DynamoHandler.serialized, moto_patches.original(DynamoHandler, "serialized")
    answers: list[tuple[str, Any, Any]] = []

    def both(self: Any, action_result: Any) -> Any:
        mine, motos = fast(self, action_result), motos_own(self, action_result)
        answers.append((self._get_action(), mine, motos))
        return motos

    monkeypatch.setattr(DynamoHandler, "serialized", both)
    for request in queries(table):
        all_pages(table, request)  # Query, with pages (LastEvaluatedKey)
    client = table.meta.client
    ids = [item["id"] for item in table.scan(ProjectionExpression="id", Limit=5)["Items"]]
    client.batch_get_item(
        RequestItems={"patches-json": {"Keys": [{"PK": f"PRODUCT#{i}", "SK": "PRODUCT"} for i in ids]}}
    )
    key = {"PK": "nothing", "SK": "here"}
    table.get_item(Key=key)
    client.scan(TableName="patches-json", Limit=3, ReturnConsumedCapacity="TOTAL")
    client.transact_get_items(TransactItems=[{"Get": {"TableName": "patches-json", "Key": key}}])

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

    moto_patches.install()
    create_table(boto3.client("dynamodb"), "patches-stream")
    table = boto3.resource("dynamodb").Table("patches-stream")
    table.put_item(Item={"PK": "STOCK#a", "SK": "S", "stock": 1})
    streams, iterator = stream_reader("patches-stream")

    def buy(quantity: int) -> None:
        table.meta.client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "patches-stream", "Item": {"PK": "ORDER#1", "SK": "O"}}},
                {
                    "Update": {
                        "TableName": "patches-stream",
                        "Key": {"PK": "STOCK#a", "SK": "S"},
                        "UpdateExpression": "SET stock = stock - :n",
                        "ConditionExpression": "stock >= :n",
                        "ExpressionAttributeValues": {":n": quantity},
                    }
                },
                {"Put": {"TableName": "patches-stream", "Item": {"PK": "IDEMPOTENCY#1", "SK": "K"}}},
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
    moto_patches.install()
    create_table(boto3.client("dynamodb"), "patches-counters")
    client = boto3.client("dynamodb")
    streams, iterator = stream_reader("patches-counters")
    counter = {
        "TableName": "patches-counters",
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

    moto_patches.install()
    create_table(boto3.client("dynamodb"), "patches-copy")
    table = boto3.resource("dynamodb").Table("patches-copy")
    table.put_item(Item={"PK": "P#kept", "SK": "S", "n": 1})
    table.put_item(Item={"PK": "P#gone", "SK": "S"})
    before = table_items("patches-copy", "us-east-1")
    changes = TableChanges("patches-copy", "us-east-1")
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
            {"Put": {"TableName": "patches-copy", "Item": {"PK": "T#1", "SK": "S"}}},
            {"Delete": {"TableName": "patches-copy", "Key": {"PK": "B#1", "SK": "S"}}},
        ]
    )
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "patches-copy", "Item": {"PK": "T#2", "SK": "S"}}},
                {"Delete": {"TableName": "patches-copy", "Key": {"PK": "B#2", "SK": "S"}}},
                {
                    "ConditionCheck": {
                        "TableName": "patches-copy",
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

    after = apply_changes(before, json.loads(json.dumps(taken)), changes.key_names)  # as journaled
    assert keyed(after) == keyed(table_items("patches-copy", "us-east-1"))
    assert converted == [], "taking the changes walked the table"
    assert changes.take() == []


@pytest.mark.parametrize("installed", ["5.1.9", "5.3.0", "6.0.0", "4.2.14"])
def test_the_version_guard_refuses_a_moto_the_patches_were_not_written_for(installed: str) -> None:
    with pytest.raises(RuntimeError) as refused:
        moto_patches.check_moto_version(installed)
    message = str(refused.value)
    assert f"moto {installed} is installed" in message
    assert f"patches moto {moto_patches.MOTO_WRITTEN_FOR}.x" in message
    assert "make test" in message and "requirements-dev.txt" in message  # what to do


@pytest.mark.parametrize("installed", ["5.2.0", "5.2.5", "5.2.12"])
def test_the_version_guard_accepts_every_release_of_the_minor_version(installed: str) -> None:
    moto_patches.check_moto_version(installed)


def test_install_checks_the_installed_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    moto_patches.check_moto_version()  # the installed one
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "5.3.0" if name == "moto" else "0")
    with pytest.raises(RuntimeError, match=r"moto 5\.3\.0 is installed"):
        moto_patches.install()
