"""The search index follows the table, against moto's S3 and the real table:
the indexer applies the table's stream as new versions, writers racing never
lose an update, a rebuild equals what the stream built, old versions are
pruned while the current one always loads, and readers swap versions when
they should (chalicelib/search/indexing.py, store.py)."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.catalog.product import Product
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.catalog.products import Table, delete_product, get_product, save_product
from chalicelib.platform import keys
from chalicelib.platform.errors import ProductNotFound
from chalicelib.search.index import SearchIndex
from chalicelib.search.index_store import KEEP, IndexReader, IndexStore, Pointer, manifest_key
from chalicelib.search.indexing import Indexer
from chalicelib.search.results import SearchParams
from chalicelib.search.service import search_products
from tests.support.api_calls import bearer, checkout
from tests.support.index_settling import index_ids, table_ids
from tests.support.stream_records import record, wire_item
from tests.support.waiting import eventually

WAIT_S = 30.0  # a thread of the test waiting for another, on a busy machine


# -- helpers ---------------------------------------------------------------------------


def found_ids(table: Table, index: SearchIndex, q: str, **params: Any) -> list[str]:
    """The ids the index ranks for an exact search, whatever the table says now."""
    return search_products(table, index, SearchParams(q=q, exact=True, limit=100, **params)).order


def unique_word() -> str:
    return "zq" + uuid.uuid4().hex[:10]


def rename(table: Table, product: Product, name: str) -> dict[str, Any]:
    """Rename a product in the table; the stream record of that write, from the
    item as it was and as it is (DynamoDB's wire format)."""
    key = keys.product_key(product.id)
    before = wire_item(table, key)
    save_product(DynamoProductStore(table), product.model_copy(update={"name": name}), create=False, keep_stock=True)
    return record("MODIFY", wire_item(table, key), before)


def reprice(table: Table, product_id: str, price_cents: int) -> dict[str, Any]:
    key = keys.product_key(product_id)
    before = wire_item(table, key)
    store = DynamoProductStore(table)
    current = get_product(store, product_id)
    save_product(store, current.model_copy(update={"price_cents": price_cents}), create=False, keep_stock=True)
    return record("MODIFY", wire_item(table, key), before)


class StreamTap:
    """The table's stream from now on, read as an event source mapping reads it
    (beside the session's stream pump, which reads it too)."""

    def __init__(self, table: Table) -> None:
        self.streams = boto3.client("dynamodbstreams")
        arn = boto3.client("dynamodb").describe_table(TableName=table.name)["Table"]["LatestStreamArn"]
        shards = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.iterators: list[str | None] = [
            self.streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST")[
                "ShardIterator"
            ]
            for s in shards
        ]

    def records(self) -> list[dict[str, Any]]:
        """The records written since the last call."""
        found: list[dict[str, Any]] = []
        for i, iterator in enumerate(self.iterators):
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                found += page["Records"]
                iterator = page.get("NextShardIterator")
                if not page["Records"]:
                    break
            self.iterators[i] = iterator
        return found


def of_product(records: list[dict[str, Any]], product_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r["dynamodb"]["Keys"]["PK"] == {"S": f"PRODUCT#{product_id}"}]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class S3Calls:
    """The S3 operations a client makes."""

    def __init__(self, s3: Any) -> None:
        self.operations: list[str] = []
        s3.meta.events.register("before-call.s3", self)

    def __call__(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)


@pytest.fixture()
def bucket(aws: str) -> Iterator[str]:
    """A bucket of its own: the session's index is never touched."""
    s3 = boto3.client("s3")
    name = f"search-test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture()
def store_in(bucket: str, tmp_path: Path) -> Callable[[str], IndexStore]:
    """A store on the test's bucket with a working folder of its own (one container)."""

    def make(role: str, s3: Any = None) -> IndexStore:
        return IndexStore(s3 or boto3.client("s3"), bucket, tmp_path / role)

    return make


def current_version(store_in: Callable[[str], IndexStore]) -> SearchIndex:
    """The current version as a search container starting now loads it."""
    return IndexReader(store_in(f"reader-{uuid.uuid4().hex[:8]}")).get()


def keys_under(bucket: str, prefix: str) -> set[str]:
    s3 = boto3.client("s3")
    found: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found |= {item["Key"] for item in page.get("Contents", [])}
    return found


# -- the stream keeps the index current ------------------------------------------------


@pytest.fixture()
def admin(tokens: dict[str, Any]) -> dict[str, str]:
    return {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}


@pytest.fixture()
def created(table: Table) -> Iterator[list[str]]:
    """Products a test creates through the API, deleted after it if still there."""
    ids: list[str] = []
    yield ids
    for product_id in ids:
        with contextlib.suppress(ProductNotFound):  # deleted by the test itself
            delete_product(DynamoProductStore(table), product_id)


def exact_ids(client: Client, q: str, **params: Any) -> list[str]:
    response = client.http.get("/products?" + urlencode({"q": q, "exact": "true", **params}))
    assert response.status_code == 200, response.body
    return [p["id"] for p in response.json_body["items"]]


def test_a_product_created_edited_and_deleted_through_the_api_is_found_changed_and_gone(
    client: Client, admin: dict[str, str], created: list[str]
) -> None:
    first, second = unique_word(), unique_word()
    body = {
        "name": f"Heated {first} Perch",
        "description": "A perch made for the search index tests.",
        "species": "bird",
        "category": "accessories",
        "brand": "Testbrand",
        "price_cents": 2100,
        "stock": 4,
    }
    # WHEN an admin creates it THEN it becomes searchable
    response = client.http.post("/products", headers=admin, body=json.dumps(body))
    assert response.status_code == 201, response.body
    product_id = response.json_body["id"]
    created.append(product_id)
    eventually(lambda: exact_ids(client, f"{first} ") == [product_id])

    # WHEN it is renamed and repriced THEN the new name and price find it, the old name does not
    edited = {**body, "name": f"Heated {second} Perch", "price_cents": 900}
    assert client.http.put(f"/products/{product_id}", headers=admin, body=json.dumps(edited)).status_code == 200
    eventually(lambda: exact_ids(client, f"{second} ", max_price=900) == [product_id])
    assert exact_ids(client, f"{first} ") == []

    # WHEN it is deleted THEN it is gone from the index, not only from the pages
    assert client.http.delete(f"/products/{product_id}", headers=admin).status_code == 204
    eventually(lambda: product_id not in index_ids(bootstrap.get_search_index()))
    assert exact_ids(client, f"{second} ") == []


def test_a_purchase_leaving_stock_publishes_no_version_and_one_emptying_it_flips_in_stock(
    client: Client, tokens: dict[str, Any], table: Table, make_product: Any, store_in: Any
) -> None:
    # GIVEN a product with 5 in stock, in an index of its own
    word = unique_word()
    product = make_product(stock=5, name=f"{word} Chew")
    indexer = Indexer(store_in("writer"), table)
    assert indexer.rebuild().version == 1
    tap = StreamTap(table)
    shopper = tokens["shopper"]["access"]

    # WHEN 2 are bought THEN the index has nothing to change: no version is published
    assert checkout(client, shopper, [{"product_id": product.id, "quantity": 2}]).status_code == 201
    records = tap.records()
    assert of_product(records, product.id), "the purchase wrote no product record"
    report = indexer.apply(records)
    assert (report.changes, report.version) == (0, None)
    assert indexer.store.pointer() is not None and indexer.store.pointer().version == 1  # type: ignore[union-attr]

    # WHEN the last 3 are bought THEN a version is published in which it is out of stock
    assert checkout(client, shopper, [{"product_id": product.id, "quantity": 3}]).status_code == 201
    report = indexer.apply(tap.records())
    assert (report.changes, report.version) == (1, 2)
    index = current_version(store_in)
    assert found_ids(table, index, f"{word} ", in_stock=False) == [product.id]
    assert found_ids(table, index, f"{word} ", in_stock=True) == []

    # AND the session's index, fed by the stream, follows the same way
    eventually(lambda: exact_ids(client, f"{word} ", in_stock="false") == [product.id])


# -- writers racing --------------------------------------------------------------------


class HeldStore(IndexStore):
    """A store whose first publish waits until ``release`` is set: its writer
    read the pointer, and another writer publishes meanwhile."""

    def __init__(self, s3: Any, bucket: str, workdir: Path) -> None:
        super().__init__(s3, bucket, workdir)
        self.reached, self.release = threading.Event(), threading.Event()

    def publish(self, directory: Path, previous: Pointer | None, facts: dict[str, Any]) -> Pointer:
        if not self.reached.is_set():
            self.reached.set()
            assert self.release.wait(WAIT_S), "the other writer never published"
        return super().publish(directory, previous, facts)


def test_a_writer_that_loses_the_race_applies_its_changes_on_the_winners_version(
    table: Table, make_product: Any, bucket: str, tmp_path: Path, store_in: Any
) -> None:
    # GIVEN two products and two indexers (two containers) on one bucket
    a, b = make_product(), make_product()
    assert Indexer(store_in("builder"), table).rebuild().version == 1
    names = {a.id: unique_word(), b.id: unique_word()}
    batch_a, batch_b = [rename(table, a, names[a.id])], [rename(table, b, names[b.id])]
    held = HeldStore(boto3.client("s3"), bucket, tmp_path / "writer-a")
    first, second = Indexer(held, table), Indexer(store_in("writer-b"), table)

    # WHEN the first has read version 1 and applied its batch, and the second publishes before it
    reports: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: reports.update(a=first.apply(batch_a)))
    thread.start()
    assert held.reached.wait(WAIT_S)
    reports["b"] = second.apply(batch_b)
    held.release.set()
    thread.join(WAIT_S)

    # THEN the first publishes after the second, on top of it: both changes are in the last version
    assert reports["b"].version == 2
    assert (reports["a"].version, reports["a"].attempts) == (3, 2)
    index = current_version(store_in)
    assert index.version == 3
    assert found_ids(table, index, names[a.id] + " ") == [a.id]
    assert found_ids(table, index, names[b.id] + " ") == [b.id]


def test_two_indexers_applying_batches_at_once_never_lose_an_update(
    table: Table, make_product: Any, store_in: Any
) -> None:
    # GIVEN six products, and two indexers with three batches each
    products = [make_product() for _ in range(6)]
    assert Indexer(store_in("builder"), table).rebuild().version == 1
    names = {p.id: unique_word() for p in products}
    batches = [[rename(table, p, names[p.id])] for p in products]
    indexers = [Indexer(store_in("writer-a"), table), Indexer(store_in("writer-b"), table)]
    start = threading.Barrier(2, timeout=WAIT_S)
    versions: dict[int, list[int]] = {0: [], 1: []}
    errors: list[Exception] = []

    def run(n: int) -> None:
        try:
            start.wait()
            for batch in batches[n::2]:
                versions[n].append(indexers[n].apply(batch).version)  # type: ignore[arg-type]
        except Exception as exc:  # reported by the test
            errors.append(exc)

    # WHEN both apply their batches at the same time
    threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 4)

    # THEN every batch is one version, versions only go up, and the last holds all six changes
    assert not errors, errors
    for published in versions.values():
        assert len(published) == 3 and published == sorted(published) and len(set(published)) == 3
    assert sorted(versions[0] + versions[1]) == list(range(2, 8))
    index = current_version(store_in)
    assert index.version == 7
    for product in products:
        assert found_ids(table, index, names[product.id] + " ") == [product.id]


def test_a_writer_that_died_between_its_manifest_and_the_pointer_does_not_stop_the_index(
    table: Table, make_product: Any, bucket: str, store_in: Any
) -> None:
    # GIVEN version 1, and the manifest of a version 2 whose writer died before moving the pointer
    product = make_product()
    indexer = Indexer(store_in("writer"), table)
    assert indexer.rebuild().version == 1
    pointer = indexer.store.pointer()
    assert pointer is not None
    orphan = json.dumps({**indexer.store.manifest(pointer), "version": 2, "created_at": 0}).encode()
    boto3.client("s3").put_object(Bucket=bucket, Key=manifest_key(2, orphan), Body=orphan)

    # WHEN the next batch comes THEN it is published, and the change is found
    word = unique_word()
    assert indexer.apply([rename(table, product, word)]).version == 2
    assert found_ids(table, current_version(store_in), word + " ") == [product.id]


# -- rebuilds, versions, readers ---------------------------------------------------------


def test_a_rebuild_from_the_table_holds_the_products_the_stream_kept_in_the_index(
    client: Client, table: Table, make_product: Any, store_in: Any
) -> None:
    # GIVEN products created, edited and deleted since the session's index was built
    kept = make_product(name="Rebuild Probe Kept")
    rename(table, kept, "Rebuild Probe Renamed")
    gone = Product.model_validate({**kept.model_dump(), "id": f"test-{uuid.uuid4().hex[:12]}"})
    save_product(DynamoProductStore(table), gone, create=True)
    delete_product(DynamoProductStore(table), gone.id)
    marker = unique_word()  # the last write: once the stream has brought it, it has brought the others
    edited = get_product(DynamoProductStore(table), kept.id)
    rename(table, edited, f"{edited.name} {marker}")

    # WHEN the index is rebuilt from the table
    assert Indexer(store_in("builder"), table).rebuild().rebuilt
    rebuilt = current_version(store_in)

    # THEN it holds the table's products, as the index kept by the stream does
    assert index_ids(rebuilt) == table_ids(table)
    assert kept.id in index_ids(rebuilt) and gone.id not in index_ids(rebuilt)
    incremental = eventually(
        lambda: (index := bootstrap.get_search_index()) and found_ids(table, index, marker + " ") == [kept.id] and index
    )
    assert index_ids(incremental) == index_ids(rebuilt)
    for params in ({}, {"q": "dog "}, {"q": "renamed "}, {"q": "kept "}, {"category": "toys", "in_stock": True}):
        wanted = SearchParams(**params, limit=100)
        assert search_products(table, incremental, wanted).facets == search_products(table, rebuilt, wanted).facets


def test_old_versions_are_pruned_and_the_current_one_always_loads(
    table: Table, make_product: Any, bucket: str, store_in: Any
) -> None:
    # GIVEN a product renamed once per version, its name two words long then three, and again
    # (so a segment file of one version has the same content as one of the version before last)
    product = make_product(name="Probe Alpha")
    indexer = Indexer(store_in("writer"), table)
    assert indexer.rebuild().version == 1
    last = KEEP + 4
    for version in range(2, last + 1):
        word = unique_word()
        name = f"Probe {word}" if version % 2 == 0 else f"Probe {word} Delta"
        # WHEN a new version is published
        assert indexer.apply([rename(table, product, name)]).version == version
        # THEN a container starting now loads it, and finds the product by its new name
        index = current_version(store_in)
        assert index.version == version
        assert found_ids(table, index, word + " ") == [product.id], version

    # AND the pointer lists the KEEP versions before the current one: only their manifests are
    # left, with exactly the files they name
    pointer = indexer.store.pointer()
    assert pointer is not None and len(pointer.history) == KEEP
    manifests = keys_under(bucket, "search-index/versions/")
    assert manifests == {pointer.manifest, *pointer.history}
    s3 = boto3.client("s3")
    bodies = [json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in manifests]
    assert sorted(body["version"] for body in bodies) == list(range(last - KEEP, last + 1))
    named = {f"search-index/files/{sha}" for body in bodies for sha in body["files"].values()}
    assert keys_under(bucket, "search-index/files/") == named


def test_a_file_whose_content_comes_back_in_a_later_version_outlives_the_pruning_of_an_earlier_one(
    store_in: Any, tmp_path: Path
) -> None:
    # GIVEN versions whose segment file holds one content, then another, then the first again
    # (files are named by their content: two segments' files may be one object)
    writer = store_in("writer")
    pointer = None
    for version in range(1, KEEP + 4):
        folder = tmp_path / f"build-{version}"
        folder.mkdir()
        (folder / "meta.json").write_text(json.dumps({"version": version}))
        (folder / f"segment-{version}.idx").write_text("one segment" if version % 2 else "another segment")
        # WHEN each is published THEN a container starting now downloads every file of it
        pointer = writer.publish(folder, pointer, {})
        downloaded = store_in(f"reader-{version}").download(pointer)
        assert (downloaded / f"segment-{version}.idx").exists(), version


class StalePointerStore(IndexStore):
    """A store whose first pointer names a version pruned since (a container that read it just before)."""

    def __init__(self, s3: Any, bucket: str, workdir: Path, stale: Pointer) -> None:
        super().__init__(s3, bucket, workdir)
        self.stale: Pointer | None = stale

    def pointer(self, etag: str | None = None) -> Pointer | None:
        stale, self.stale = self.stale, None
        return stale or super().pointer(etag)


def test_a_reader_that_read_the_pointer_of_a_version_pruned_since_loads_the_current_one(
    table: Table, make_product: Any, bucket: str, tmp_path: Path, store_in: Any
) -> None:
    # GIVEN a container that read the pointer of version 1, and then KEEP + 1 versions more
    product = make_product(price_cents=1000)
    indexer = Indexer(store_in("writer"), table)
    indexer.rebuild()
    first = indexer.store.pointer()
    assert first is not None
    for version in range(2, KEEP + 3):
        assert indexer.apply([reprice(table, product.id, 1000 + version)]).version == version
    assert first.manifest not in keys_under(bucket, "search-index/versions/")  # pruned
    # WHEN it loads what it read THEN it finds it gone and loads the current version instead
    reader = IndexReader(StalePointerStore(boto3.client("s3"), bucket, tmp_path / "reader", first))
    assert reader.get().version == KEEP + 2


def test_a_reader_swaps_to_a_newer_version_after_refresh_s_and_not_before(
    table: Table, make_product: Any, store_in: Any
) -> None:
    # GIVEN a reader that loaded version 1, checking every 5 s
    product = make_product()
    indexer = Indexer(store_in("writer"), table)
    indexer.rebuild()
    s3 = boto3.client("s3")
    calls = S3Calls(s3)
    clock = Clock()
    reader = IndexReader(store_in("reader", s3), refresh_s=5.0, clock=clock)
    loaded = reader.get()
    assert loaded.version == 1

    # WHEN version 2 is published
    word = unique_word()
    assert indexer.apply([rename(table, product, word)]).version == 2

    # THEN before 5 s have passed the reader answers from version 1 without asking S3
    calls.operations.clear()
    clock.now += 4.9
    assert reader.get() is loaded and calls.operations == []
    assert found_ids(table, reader.get(), word + " ") == []

    # AND once they have, it loads version 2
    clock.now += 0.1
    swapped = reader.get()
    assert swapped.version == 2 and reader.loads == 2
    assert found_ids(table, swapped, word + " ") == [product.id]

    # AND while nothing new is published, a check is one conditional GET and loads nothing
    calls.operations.clear()
    clock.now += 5.0
    assert reader.get() is swapped and calls.operations == ["GetObject"] and reader.loads == 2


def test_a_reader_whose_check_for_a_newer_version_fails_keeps_answering_from_the_one_it_has(
    table: Table, store_in: Any
) -> None:
    # GIVEN a reader that loaded a version
    Indexer(store_in("writer"), table).rebuild()
    s3 = boto3.client("s3", config=Config(retries={"total_max_attempts": 1}))
    clock = Clock()
    reader = IndexReader(store_in("reader", s3), refresh_s=5.0, clock=clock)
    loaded = reader.get()

    # WHEN S3 cannot be reached for the next check
    def unavailable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="http://s3")

    s3.meta.events.register("before-send.s3.GetObject", unavailable)
    clock.now += 5.0

    # THEN searches still get the loaded version
    assert reader.get() is loaded


def test_a_stage_with_no_index_yet_answers_503_index_not_ready_with_retry_after(
    client: Client, monkeypatch: pytest.MonkeyPatch, bucket: str
) -> None:
    # GIVEN a search container whose stage's bucket holds no index yet (the
    # test client sets the stage's variables for each request, so the
    # container's reader is built here; the stream pump's indexer, built
    # first, keeps the session's bucket)
    bootstrap.get_indexer()
    with monkeypatch.context() as patch:
        patch.setenv("SEARCH_INDEX_BUCKET", bucket)
        bootstrap.get_index_reader.cache_clear()
        assert bootstrap.get_index_reader().store.bucket == bucket
    try:
        # WHEN a shopper searches or browses
        answers = [client.http.get("/products?q=dog"), client.http.get("/products")]
    finally:
        bootstrap.get_index_reader.cache_clear()

    # THEN the answer says to come back, and why
    for answer in answers:
        assert answer.status_code == 503, answer.body
        assert answer.json_body["code"] == "index_not_ready"
        assert int(answer.headers["Retry-After"]) > 0
    assert client.http.get("/products?q=dog").status_code == 200  # the session's index is untouched


def test_a_search_container_keeps_only_the_files_of_the_version_it_has_open(
    table: Table, make_product: Any, store_in: Any
) -> None:
    # GIVEN a reader that loaded a version, then several newer ones
    product = make_product()
    indexer = Indexer(store_in("writer"), table)
    indexer.rebuild()
    store = store_in("reader")
    reader = IndexReader(store, refresh_s=0)
    reader.get()
    for _ in range(3):
        indexer.apply([rename(table, product, unique_word())])
        current = reader.get()
    # THEN its /tmp holds the files of the version it has open, and no others
    pointer = store.pointer()
    assert pointer is not None and current.version == pointer.version
    wanted = set(store.manifest(pointer)["files"].values())
    assert {f.name for f in store.cache.iterdir()} == wanted
    assert sorted(p.name for p in store.workdir.iterdir() if p.name.startswith("v")) == [f"v{pointer.version}"]
