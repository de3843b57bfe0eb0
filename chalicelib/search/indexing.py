"""The indexer: keeps the search index current from the table's stream.

The table is the truth; the index is derived from it (change data capture).
A batch of stream records becomes one new index version:

1. the batch's product changes, the last one per product winning; a change
   the index does not reflect (a purchase that leaves stock above zero, a
   sales counter) is skipped, and a batch of nothing but those publishes
   nothing;
2. the current version, from this container's warm copy when it is still
   current, else downloaded;
3. tantivy applies the changes (delete by id, add the new document), commits
   and merges; the new files are published as the next version
   (chalicelib/search/index_store.py), the pointer moved by a conditional write;
4. if another writer published first, its version is read and the changes
   applied again on top: two batches racing never lose an update.

``rebuild`` builds a fresh index from the whole table (a Scan of the product
items) and publishes it the same way: ``make reindex``, or by itself when a
stage has no index yet.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import tantivy
from pydantic import ValidationError

from chalicelib.catalog.product import Product
from chalicelib.catalog.product_table import DynamoProductStore, to_product
from chalicelib.platform import keys
from chalicelib.platform.aws import Table
from chalicelib.platform.stream_records import StreamPolicy, image
from chalicelib.search.index import WRITER_HEAP_BYTES, build, document, index_state, schema
from chalicelib.search.index_store import IndexStore, Pointer, Raced

logger = logging.getLogger(__name__)

MAX_ATTEMPTS: Final = 5
# One batch is one version: larger batches mean fewer versions under load
# (an import of 10,000 products is 10 versions, not 100).
INDEX_STREAM_POLICY: Final = StreamPolicy(batch_size=1000, report_batch_item_failures=False)

Changes = dict[str, Product | None]  # product id -> its document now (None: gone)


@dataclass
class IndexReport:
    records: int = 0
    changes: int = 0
    version: int | None = None  # published; None: nothing to publish
    attempts: int = 0
    rebuilt: bool = False
    facts: dict[str, Any] = field(default_factory=dict)


def product_changes(records: Iterable[dict[str, Any]]) -> Changes:
    """What a batch changes in the index, in stream order (the last change per product wins)."""
    changes: Changes = {}
    for record in records:
        new, old = image(record, "NewImage"), image(record, "OldImage")
        item = new or old
        if item.get("SK") != keys.PRODUCT_SK or not str(item.get("PK", "")).startswith("PRODUCT#"):
            continue
        event = record.get("eventName")
        product_id = str(item.get("id") or str(item["PK"]).removeprefix("PRODUCT#"))
        if event == "REMOVE":
            changes[product_id] = None
        elif event == "INSERT" or index_state(new) != index_state(old):
            changes[product_id] = _product(new)
    return changes


def _product(item: dict[str, Any]) -> Product | None:
    try:
        return to_product(item)
    except ValidationError:
        logger.warning("product %s does not validate: left out of the search index", item.get("id"))
        return None


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
        changes = product_changes(records)
        report.changes = len(changes)
        if not changes:
            return report
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report.attempts = attempt
            pointer = self.store.pointer()
            if pointer is None:  # no index yet: build it whole (it includes these changes)
                return self._rebuild(report)
            folder = self._copy_of(pointer)
            _write(folder, changes)
            try:
                published = self.store.publish(folder, pointer, {"changes": len(changes)})
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
            count = build(str(folder), self._all_products())
            try:
                published = self.store.publish(folder, pointer, {"rebuilt": True, "products": count})
            except Raced:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            self._forget()
            self._keep(published, folder)
            report.version, report.facts = published.version, {"products": count}
            logger.info("search index rebuilt from the table: %d products, version %d", count, published.version)
            return report
        raise Raced(f"gave up rebuilding after {MAX_ATTEMPTS} races with other writers")

    def _all_products(self) -> Iterator[Product]:
        for item in DynamoProductStore(self.table).items():
            product = _product(item)
            if product is not None:
                yield product

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
    for product_id, product in changes.items():
        writer.delete_documents_by_term("id", product_id)
        if product is not None:
            writer.add_document(document(product))
    writer.commit()
    writer.wait_merging_threads()
