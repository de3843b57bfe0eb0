"""The indexer: keeps the search index current from the table's stream.

The table is the truth; the index is derived from it (change data capture).
A batch of stream records becomes one new index version:

1. the batch's changes, the last one per item winning: product items, and
   the products' sales counters (``PRODUCT#<id>`` / ``SALES``, moved by the
   order events: their ``units_sold`` after the ADD, so taking the new image's
   value is idempotent). A change the index does not reflect (a purchase that
   leaves stock above zero, a counter whose units did not move) is skipped,
   and a batch of nothing but those publishes nothing;
2. each changed product's document needs both items: the half the batch does
   not carry is read from the table (one consistent BatchGetItem per 50
   products), so a product edit keeps its units sold and a sale re-indexes the
   product as it is; a counter of a product that is gone adds nothing;
3. the current version, from this container's warm copy when it is still
   current, else downloaded (a version of an older schema is rebuilt instead);
4. tantivy applies the changes (delete by id, add the new document), commits
   and merges; the new files are published as the next version
   (chalicelib/search/index_store.py), the pointer moved by a conditional write;
5. if another writer published first, its version is read and the changes
   applied again on top: two batches racing never lose an update.

``rebuild`` builds a fresh index from the whole table (one Scan of the
product items and their counters) and publishes it the same way: ``make
reindex``, or by itself when a stage has no index yet.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import tantivy
from boto3.dynamodb.conditions import Attr
from pydantic import ValidationError

from chalicelib.catalog.product import Product
from chalicelib.catalog.product_table import to_product
from chalicelib.platform import keys
from chalicelib.platform.aws import Table
from chalicelib.platform.stream_records import StreamPolicy, image
from chalicelib.search.index import SCHEMA_VERSION, WRITER_HEAP_BYTES, build, document, index_state, schema
from chalicelib.search.index_store import IndexStore, Pointer, Raced

logger = logging.getLogger(__name__)

MAX_ATTEMPTS: Final = 5
# One batch is one version: larger batches mean fewer versions under load
# (an import of 10,000 products is 10 versions, not 100).
INDEX_STREAM_POLICY: Final = StreamPolicy(batch_size=1000, report_batch_item_failures=False)

Item = dict[str, Any]
# product id -> its document now (the product and its units sold); None: gone
Changes = dict[str, tuple[Product, int] | None]
# BatchGetItem takes 100 keys: a product's item and its counter are two.
READ_BATCH: Final = 50


@dataclass
class IndexReport:
    records: int = 0
    changes: int = 0
    version: int | None = None  # published; None: nothing to publish
    attempts: int = 0
    rebuilt: bool = False
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class StreamChanges:
    """What a batch of stream records changes in the index, in stream order (the last record per item wins)."""

    products: dict[str, Item | None] = field(default_factory=dict)  # product id -> its item now; None: removed
    units_sold: dict[str, int] = field(default_factory=dict)  # product id -> its counter's units_sold now

    def __bool__(self) -> bool:
        return bool(self.products or self.units_sold)


def stream_changes(records: Iterable[dict[str, Any]]) -> StreamChanges:
    changes = StreamChanges()
    for record in records:
        new, old = image(record, "NewImage"), image(record, "OldImage")
        item = new or old
        pk = str(item.get("PK", ""))
        if not pk.startswith("PRODUCT#"):
            continue
        event = record.get("eventName")
        if item.get("SK") == keys.SALES_SK:
            if event == "INSERT" or units_sold(new) != units_sold(old):
                changes.units_sold[pk.removeprefix("PRODUCT#")] = units_sold(new)  # REMOVE: no new image, 0
            continue
        if item.get("SK") != keys.PRODUCT_SK:
            continue
        product_id = str(item.get("id") or pk.removeprefix("PRODUCT#"))
        if event == "REMOVE":
            changes.products[product_id] = None
        elif event == "INSERT" or index_state(new) != index_state(old):
            changes.products[product_id] = new
    return changes


def units_sold(counters: Item) -> int:
    """A sales counter item's units (a cancellation takes them back: never below 0)."""
    return max(int(counters.get("units_sold", 0)), 0)


def _product(item: Item) -> Product | None:
    try:
        return to_product(item)
    except ValidationError:
        logger.warning("product %s does not validate: left out of the search index", item.get("id"))
        return None


def _document(item: Item | None, units: int) -> tuple[Product, int] | None:
    product = _product(item) if item is not None else None
    return None if product is None else (product, units)


class Indexer:
    def __init__(self, store: IndexStore, table: Table) -> None:
        self.store, self.table = store, table
        self._warm: tuple[Pointer, Path] | None = None  # this container's copy of a version
        self._lock = threading.Lock()  # locally, the stream pump and a rebuild share one indexer

    def apply(self, records: list[dict[str, Any]]) -> IndexReport:
        with self._lock:
            return self._apply(records)

    def rebuild(self, report: IndexReport | None = None) -> IndexReport:
        """A fresh index of every product of the table, published as the next version."""
        with self._lock:
            return self._rebuild(report)

    def _apply(self, records: list[dict[str, Any]]) -> IndexReport:
        report = IndexReport(records=len(records))
        found = stream_changes(records)
        if not found:
            return report
        changes = self._documents(found)
        report.changes = len(changes)
        if not changes:
            return report
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report.attempts = attempt
            pointer = self.store.pointer()
            if pointer is None or pointer.schema != SCHEMA_VERSION:
                # No index yet, or one of another schema (written before a
                # field was added): build it whole (it includes these changes).
                return self._rebuild(report)
            folder = self._copy_of(pointer)
            _write(folder, changes)
            try:
                published = self.store.publish(folder, pointer, {"changes": len(changes), "schema": SCHEMA_VERSION})
            except Raced:
                logger.info("another writer published first; applying %d changes again", len(changes))
                self._forget()
                continue
            self._keep(published, folder)
            report.version = published.version
            return report
        raise Raced(f"gave up after {MAX_ATTEMPTS} races with other writers")

    def _rebuild(self, report: IndexReport | None) -> IndexReport:
        report = report or IndexReport()
        report.rebuilt = True
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report.attempts = attempt
            pointer = self.store.pointer()
            folder = Path(tempfile.mkdtemp(prefix="build-", dir=self.store.workdir))
            products, sold = self._all_products()
            count = build(str(folder), products, sold)
            try:
                facts = {"rebuilt": True, "products": count, "schema": SCHEMA_VERSION}
                published = self.store.publish(folder, pointer, facts)
            except Raced:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            self._forget()
            self._keep(published, folder)
            report.version, report.facts = published.version, {"products": count}
            logger.info("search index rebuilt from the table: %d products, version %d", count, published.version)
            return report
        raise Raced(f"gave up rebuilding after {MAX_ATTEMPTS} races with other writers")

    def _documents(self, found: StreamChanges) -> Changes:
        """Each changed product's document: what the batch says, the other half read from the table."""
        products, sold = dict(found.products), dict(found.units_sold)
        no_item = [product_id for product_id in sold if product_id not in products]
        no_units = [product_id for product_id, item in products.items() if item is not None and product_id not in sold]
        stored_items, stored_units = self._read(no_item, no_units)
        products |= stored_items  # a counter's product that is gone stays out: nothing to index
        sold |= {product_id: stored_units.get(product_id, 0) for product_id in no_units}
        return {product_id: _document(item, sold.get(product_id, 0)) for product_id, item in products.items()}

    def _read(self, products: list[str], counters: list[str]) -> tuple[dict[str, Item], dict[str, int]]:
        """Product items and units sold as the table has them now, by product id
        (consistent reads: the counter was moved a moment ago)."""
        wanted = [keys.product_key(p) for p in products] + [keys.sales_key(p) for p in counters]
        items: dict[str, Item] = {}
        units: dict[str, int] = {}
        name = self.table.name
        for start in range(0, len(wanted), 2 * READ_BATCH):
            request: dict[str, Any] = {name: {"Keys": wanted[start : start + 2 * READ_BATCH], "ConsistentRead": True}}
            while request.get(name, {}).get("Keys"):
                response = self.table.meta.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(name, []):
                    product_id = str(item["PK"]).removeprefix("PRODUCT#")
                    if item["SK"] == keys.SALES_SK:
                        units[product_id] = units_sold(item)
                    else:
                        items[product_id] = item
                request = response.get("UnprocessedKeys") or {}
        return items, units

    def _all_products(self) -> tuple[list[Product], dict[str, int]]:
        """Every product of the table and the units each has sold: one Scan of both kinds of item."""
        products: list[Product] = []
        sold: dict[str, int] = {}
        request: dict[str, Any] = {"FilterExpression": Attr("SK").is_in([keys.PRODUCT_SK, keys.SALES_SK])}
        while True:
            page = self.table.scan(**request)
            for item in page["Items"]:
                if not str(item.get("PK", "")).startswith("PRODUCT#"):
                    continue
                if item["SK"] == keys.SALES_SK:
                    sold[str(item["PK"]).removeprefix("PRODUCT#")] = units_sold(item)
                elif (product := _product(item)) is not None:
                    products.append(product)
            if "LastEvaluatedKey" not in page:
                return products, sold
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- the warm copy ---------------------------------------------------------------
    def _copy_of(self, pointer: Pointer) -> Path:
        if self._warm is not None and self._warm[0] == pointer:
            return self._warm[1]
        self._forget()
        downloaded = self.store.download(pointer)
        folder = self.store.workdir / f"writer-{pointer.version}"
        shutil.rmtree(folder, ignore_errors=True)
        downloaded.rename(folder)
        self._warm = (pointer, folder)
        return folder

    def _keep(self, pointer: Pointer, folder: Path) -> None:
        self._warm = (pointer, folder)

    def _forget(self) -> None:
        if self._warm is not None:
            shutil.rmtree(self._warm[1], ignore_errors=True)
        self._warm = None


def _write(folder: Path, changes: Changes) -> None:
    index = tantivy.Index(schema(), path=str(folder), reuse=True)
    writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
    for product_id, now in changes.items():
        writer.delete_documents_by_term("id", product_id)
        if now is not None:
            writer.add_document(document(*now))
    writer.commit()
    writer.wait_merging_threads()
