"""``ProductStore``: what the catalog's rules need of wherever products are kept.

The rules (chalicelib/catalog/products.py, and product_photos.py for the
photos) decide ids, versions and stock bounds; a store keeps products and applies each write atomically, under the
condition the method names, or refuses it whole with ``WriteRefused``.
Two implementations keep the same promises: ``DynamoProductStore``
(chalicelib/catalog/product_table.py, one item per product) and the
in-memory one the unit tests use (tests/support/memory_stores.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from chalicelib.catalog.product import Product
from chalicelib.photos.photo import Photo


class WriteRefused(Exception):
    """The write's condition did not hold: nothing was written."""


class ProductStore(Protocol):
    def get(self, product_id: str) -> Product | None:
        """One product as it is now (an eventually consistent read); None if there is none."""
        ...

    def get_many(self, product_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Product]:
        """Products by id (at most 100 ids); the missing ones are left out."""
        ...

    def insert(self, product: Product) -> None:
        """A new product, its version 1; ``WriteRefused`` if the id is taken."""
        ...

    def update(self, product: Product, *, keep_stock: bool, expected_version: int | None) -> Product:
        """Replace an existing product's fields (an optional field left unset
        is removed) and add one to its version; ``keep_stock`` leaves the
        stock as it is. ``WriteRefused`` if there is no such product, or its
        version is not ``expected_version`` (when one is given). Returns the
        product as written."""
        ...

    def add_stock(self, product_id: str, change: int, *, floor: int, ceiling: int) -> Product:
        """Add ``change`` to the stock if the product exists and its stock now
        is between ``floor`` and ``ceiling`` (both included); else
        ``WriteRefused``. The version does not move."""
        ...

    def delete(self, product_id: str) -> Product:
        """Delete the product; returns it as it was when deleted (its photos,
        to clean up). ``WriteRefused`` if there is no such product."""
        ...

    def put_many(self, products: Iterable[Product]) -> None:
        """Write each product whole, replacing one with the same id (an import, not atomic as a whole)."""
        ...

    def replace_photos(self, product_id: str, photos: Sequence[Photo], *, expected_rev: int) -> Product:
        """Set the product's photos if no other photo write came since it was
        read at ``photos_rev`` ``expected_rev``, and move the revision on;
        ``WriteRefused`` if there is no such product or one did. Edits and
        purchases leave the photos and their revision alone."""
        ...
