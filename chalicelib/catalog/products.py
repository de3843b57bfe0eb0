"""The catalog: a product is one item of the table (``PRODUCT#<id>`` / ``PRODUCT``).

Every write is one request (an import, batches of 25); the search index is
derived from the table's stream, never written here (chalicelib/search/).
Stock moves with purchases in their transactions (chalicelib/orders/checkout.py) and
with ``adjust_stock``; an edit that does not set the stock leaves it alone.
See docs/data-model.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from chalicelib.catalog.product import MAX_STOCK, Product, ProductIn, ProductUpdate
from chalicelib.platform import keys
from chalicelib.platform.errors import Conflict, ProductNotFound
from chalicelib.platform.folding import fold

Table = Any  # boto3 DynamoDB Table resource
Item = dict[str, Any]


def new_product_id(name: str) -> str:
    base = "-".join(fold(name).split())[:40].strip("-") or "product"
    return f"{base}-{uuid.uuid4().hex[:8]}"


def product_item(product: Product) -> Item:
    return {
        **keys.product_key(product.id),
        **product.model_dump(mode="json", exclude_none=True),
        "updated_at": _now(),
        "version": 1,
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def to_product(item: Item) -> Product:
    return Product.model_validate(
        {k: int(v) if k in ("price_cents", "stock", "version") else v for k, v in item.items()}
    )


def get_product(table: Table, product_id: str) -> Product:
    item = table.get_item(Key=keys.product_key(product_id)).get("Item")
    if item is None:
        raise ProductNotFound(product_id)
    return to_product(item)


def get_products(table: Table, product_ids: list[str], consistent: bool = False) -> dict[str, Product]:
    """Several products by id in one BatchGetItem round (at most 100 ids)."""
    items = _product_items(table, product_ids, {"ConsistentRead": consistent})
    return {product_id: to_product(item) for product_id, item in items.items()}


def _product_items(table: Table, product_ids: list[str], options: dict[str, Any]) -> dict[str, Item]:
    """Product items by id (BatchGetItem, retrying what DynamoDB leaves unprocessed)."""
    found: dict[str, Item] = {}
    keys_wanted = [keys.product_key(pid) for pid in dict.fromkeys(product_ids)]
    request: dict[str, Any] = {table.name: {"Keys": keys_wanted, **options}}
    while request.get(table.name, {}).get("Keys"):
        response = table.meta.client.batch_get_item(RequestItems=request)
        for item in response["Responses"].get(table.name, []):
            found[item["id"]] = item
        request = response.get("UnprocessedKeys") or {}
    return found


def save_product(
    table: Table, product: Product, *, create: bool, keep_stock: bool = False, expected_version: int | None = None
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
            table.put_item(Item=product_item(product), ConditionExpression="attribute_not_exists(PK)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict(f"a product with id {product.id!r} already exists", field="id") from exc
            raise
        return product
    fields = product.model_dump(mode="json", exclude={"id", "version", *(["stock"] if keep_stock else [])})
    kept = {name: value for name, value in fields.items() if value is not None}
    # An optional field left out is removed (a PUT replaces the product), and
    # so is the list of index entries that items written by earlier versions
    # of the shop carry (the index no longer lives in the table).
    removed = [name for name, value in fields.items() if value is None] + ["index_keys"]
    names = {f"#{name}": name for name in [*kept, *removed, "version", "updated_at"]}
    values: dict[str, Any] = {f":{name}": value for name, value in kept.items()} | {":one": 1, ":now": _now()}
    expression = (
        "SET "
        + ", ".join([f"#{name} = :{name}" for name in kept] + ["#updated_at = :now"])
        + " ADD #version :one REMOVE "
        + ", ".join(f"#{name}" for name in removed)
    )
    condition = "attribute_exists(PK)"
    if expected_version is not None:
        condition += " AND #version = :seen"
        values[":seen"] = expected_version
    try:
        item = table.update_item(
            Key=keys.product_key(product.id),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            current = get_product(table, product.id)  # raises ProductNotFound
            raise Conflict(
                f"the product was edited meanwhile (version {current.version}, not {expected_version}); "
                "reload it and edit again",
                field="If-Match",
            ) from exc
        raise
    return to_product(item)


def create_product(table: Table, incoming: ProductIn) -> Product:
    """A new product; its id is derived from the name unless one is given."""
    product_id = incoming.id or new_product_id(incoming.name)
    product = Product.model_validate({**incoming.model_dump(), "id": product_id})
    return save_product(table, product, create=True)


def update_product(
    table: Table, product_id: str, fields: ProductUpdate, expected_version: int | None = None
) -> Product:
    """Replace an existing product's fields (and its index entries); no stock keeps the stored one."""
    keep_stock = fields.stock is None
    try:
        changed = fields.model_dump(exclude={"version"})
        product = Product.model_validate({**changed, "id": product_id, "stock": fields.stock or 0})
    except ValidationError as exc:  # not even a possible id
        raise ProductNotFound(product_id) from exc
    return save_product(table, product, create=False, keep_stock=keep_stock, expected_version=expected_version)


def adjust_stock(table: Table, product_id: str, change: int) -> Product:
    """Add ``change`` (negative: take) to the stock as it is now, atomically.

    Unlike a PUT of the whole product, this cannot undo a purchase made while
    an admin was looking at the form. The stock stays within 0..MAX_STOCK.
    """
    floor, ceiling = max(0, -change), MAX_STOCK - max(0, change)
    try:
        item = table.update_item(
            Key=keys.product_key(product_id),
            UpdateExpression="SET stock = stock + :change",
            ConditionExpression="attribute_exists(PK) AND stock BETWEEN :floor AND :ceiling",
            ExpressionAttributeValues={":change": change, ":floor": floor, ":ceiling": ceiling},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        current = get_product(table, product_id)  # raises ProductNotFound
        raise Conflict(
            f"the stock is {current.stock}; it cannot change by {change:+d} (allowed: 0 to {MAX_STOCK})",
            field="change",
        ) from exc
    return to_product(item)


def delete_product(table: Table, product_id: str) -> None:
    try:
        table.delete_item(Key=keys.product_key(product_id), ConditionExpression="attribute_exists(PK)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise ProductNotFound(product_id) from exc
        raise


def import_products(
    table: Table, products: Iterable[ProductIn], progress: Callable[[int], None] = lambda n: None
) -> int:
    """Bulk upsert (BatchWriteItem, 25 items a request): for catalog files and
    seeding, not for the API. A product is one item, so an existing id is
    simply replaced. Returns the number of products written."""
    written = 0
    with table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as writer:
        for incoming in products:
            product = Product.model_validate(
                {**incoming.model_dump(), "id": incoming.id or new_product_id(incoming.name)}
            )
            writer.put_item(Item=product_item(product))
            written += 1
            if written % 100 == 0:
                progress(100)
    progress(written % 100)
    return written
