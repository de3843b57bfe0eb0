"""The catalog's rules: creating, editing, stocking, deleting and importing products.

Each function is given a ``ProductStore`` (chalicelib/catalog/product_store.py)
and writes through it in one request: the rules decide a new product's id,
which edits keep the stock, which version an edit expects and the bounds the
stock stays within; the store applies the write under its condition or
refuses it whole, and a refusal becomes a domain error here, named after
what a second read finds (404 or 409). The search index is derived from the table's stream,
never written here (chalicelib/search/). Stock also moves with purchases, in
their transactions (chalicelib/orders/checkout.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from pydantic import ValidationError

from chalicelib.catalog.product import MAX_STOCK, Product, ProductIn, ProductUpdate
from chalicelib.catalog.product_store import ProductStore, WriteRefused
from chalicelib.platform.aws import Table as Table  # re-exported: the search tests type tables with it
from chalicelib.platform.errors import Conflict, ProductNotFound
from chalicelib.platform.folding import fold

IMPORT_PROGRESS_STEP: Final = 100  # products between two calls of an import's progress


def new_product_id(name: str) -> str:
    base = "-".join(fold(name).split())[:40].strip("-") or "product"
    return f"{base}-{uuid.uuid4().hex[:8]}"


def get_product(store: ProductStore, product_id: str) -> Product:
    product = store.get(product_id)
    if product is None:
        raise ProductNotFound(product_id)
    return product


def save_product(
    store: ProductStore,
    product: Product,
    *,
    create: bool,
    keep_stock: bool = False,
    expected_version: int | None = None,
) -> Product:
    """Write a product: one item, one request.

    ``create`` puts a new item and refuses an existing id (409). Otherwise the
    product must exist (404) and only its own fields are set, in one
    UpdateItem: ``keep_stock`` leaves the stock out of it, so an edit never
    undoes, nor conflicts with, a purchase made meanwhile. ``expected_version``
    (the client's If-Match) refuses an edit made on a stale copy: purchases
    never bump the version, other edits do, so two admins editing the same
    product conflict and buyers never do. The search index follows from the
    table's stream (chalicelib/search/indexing.py).
    """
    if create:
        try:
            store.insert(product)
        except WriteRefused as exc:
            raise Conflict(f"a product with id {product.id!r} already exists", field="id") from exc
        return product
    try:
        return store.update(product, keep_stock=keep_stock, expected_version=expected_version)
    except WriteRefused as exc:
        current = get_product(store, product.id)  # raises ProductNotFound
        raise Conflict(
            f"the product was edited meanwhile (version {current.version}, not {expected_version}); "
            "reload it and edit again",
            field="If-Match",
        ) from exc


def create_product(store: ProductStore, incoming: ProductIn) -> Product:
    """A new product; its id is derived from the name unless one is given."""
    return save_product(store, _with_id(incoming), create=True)


def _with_id(incoming: ProductIn) -> Product:
    return Product.model_validate({**incoming.model_dump(), "id": incoming.id or new_product_id(incoming.name)})


def update_product(
    store: ProductStore, product_id: str, fields: ProductUpdate, expected_version: int | None = None
) -> Product:
    """Replace an existing product's fields; no stock keeps the stored one."""
    keep_stock = fields.stock is None
    try:
        changed = fields.model_dump(exclude={"version"})
        product = Product.model_validate({**changed, "id": product_id, "stock": fields.stock or 0})
    except ValidationError as exc:  # not even a possible id
        raise ProductNotFound(product_id) from exc
    return save_product(store, product, create=False, keep_stock=keep_stock, expected_version=expected_version)


def stock_bounds(change: int) -> tuple[int, int]:
    """The stocks ``change`` may be applied to: before and after, within 0..MAX_STOCK."""
    return max(0, -change), MAX_STOCK - max(0, change)


def adjust_stock(store: ProductStore, product_id: str, change: int) -> Product:
    """Add ``change`` (negative: take) to the stock as it is now, atomically.

    Unlike a PUT of the whole product, this cannot undo a purchase made while
    an admin was looking at the form. The stock stays within 0..MAX_STOCK.
    """
    floor, ceiling = stock_bounds(change)
    try:
        return store.add_stock(product_id, change, floor=floor, ceiling=ceiling)
    except WriteRefused as exc:
        current = get_product(store, product_id)  # raises ProductNotFound
        raise Conflict(
            f"the stock is {current.stock}; it cannot change by {change:+d} (allowed: 0 to {MAX_STOCK})",
            field="change",
        ) from exc


def delete_product(store: ProductStore, product_id: str) -> Product:
    """Delete the product; returns it as it was (its photos are the caller's to clean up)."""
    try:
        return store.delete(product_id)
    except WriteRefused as exc:
        raise ProductNotFound(product_id) from exc


def import_products(
    store: ProductStore, products: Iterable[ProductIn], progress: Callable[[int], None] = lambda n: None
) -> int:
    """Bulk upsert (BatchWriteItem, 25 items a request): for catalog files and
    seeding, not for the API. A product is one item, so an existing id is
    simply replaced. Returns the number of products written."""
    written = 0

    def counted() -> Iterator[Product]:
        nonlocal written
        for incoming in products:
            yield _with_id(incoming)
            written += 1
            if written % IMPORT_PROGRESS_STEP == 0:
                progress(IMPORT_PROGRESS_STEP)

    store.put_many(counted())
    progress(written % IMPORT_PROGRESS_STEP)
    return written
