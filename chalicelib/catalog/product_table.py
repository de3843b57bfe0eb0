"""``DynamoProductStore``: the catalog in the table, one item per product (``PRODUCT#<id>`` / ``PRODUCT``).

Every write is one request (an import, batches of 25), its condition
(``attribute_exists``, ``#version = :seen``, ``stock BETWEEN``) the store's
promise; a refused condition is ``WriteRefused``, anything else AWS says is
raised as it came. The one BatchGetItem loop of the shop is here (search and
orders read products through it). See docs/data-model.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from chalicelib.catalog.product import Product
from chalicelib.catalog.product_store import WriteRefused
from chalicelib.photos.photo import DERIVED, Photo
from chalicelib.platform import keys
from chalicelib.platform.aws import Table, condition_failed

Item = dict[str, Any]
NUMBERS = ("price_cents", "stock", "version", "photos_rev")  # DynamoDB gives them back as Decimals
PHOTO_NUMBERS = ("width", "height")


def product_item(product: Product) -> Item:
    """A new product's item (version 1), without photos: they are added one by one (replace_photos)."""
    return {
        **keys.product_key(product.id),
        **product.model_dump(mode="json", exclude_none=True, exclude={"photos"}),
        "updated_at": _now(),
        "version": 1,
    }


def to_product(item: Item) -> Product:
    fields = {k: int(v) if k in NUMBERS else v for k, v in item.items()}
    fields["photos"] = [_photo(photo) for photo in item.get("photos", [])]
    return Product.model_validate(fields)


def _photo(stored: Item) -> Item:
    numbers = {k: int(stored[k]) for k in PHOTO_NUMBERS if stored.get(k) is not None}
    renditions = [{**r, "width": int(r["width"]), "height": int(r["height"])} for r in stored.get("renditions", [])]
    return {**stored, **numbers, "renditions": renditions}


def photo_items(photos: Sequence[Photo]) -> list[Item]:
    """The photos as stored: without what an answer derives from them (URLs)."""
    return [photo.model_dump(mode="json", exclude_none=True, exclude=set(DERIVED)) for photo in photos]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class DynamoProductStore:
    """A ``ProductStore`` (chalicelib/catalog/product_store.py) over the shop's table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, product_id: str) -> Product | None:
        item = self.table.get_item(Key=keys.product_key(product_id)).get("Item")
        return None if item is None else to_product(item)

    def get_many(self, product_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Product]:
        """One BatchGetItem round (at most 100 ids), again for what DynamoDB leaves unprocessed."""
        found: dict[str, Product] = {}
        wanted = [keys.product_key(product_id) for product_id in dict.fromkeys(product_ids)]
        name = self.table.name
        request: dict[str, Any] = {name: {"Keys": wanted, "ConsistentRead": consistent}}
        while request.get(name, {}).get("Keys"):
            response = self.table.meta.client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(name, []):
                found[item["id"]] = to_product(item)
            request = response.get("UnprocessedKeys") or {}
        return found

    def insert(self, product: Product) -> None:
        try:
            self.table.put_item(Item=product_item(product), ConditionExpression="attribute_not_exists(PK)")
        except ClientError as exc:
            if condition_failed(exc):
                raise WriteRefused(product.id) from exc
            raise

    def update(self, product: Product, *, keep_stock: bool, expected_version: int | None) -> Product:
        """One UpdateItem of the product's own fields."""
        fields = product.model_dump(
            mode="json", exclude={"id", "version", "photos", *(["stock"] if keep_stock else [])}
        )
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
        return self._update(
            product.id,
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def add_stock(self, product_id: str, change: int, *, floor: int, ceiling: int) -> Product:
        return self._update(
            product_id,
            UpdateExpression="SET stock = stock + :change",
            ConditionExpression="attribute_exists(PK) AND stock BETWEEN :floor AND :ceiling",
            ExpressionAttributeValues={":change": change, ":floor": floor, ":ceiling": ceiling},
        )

    def _update(self, product_id: str, **request: Any) -> Product:
        try:
            item = self.table.update_item(Key=keys.product_key(product_id), ReturnValues="ALL_NEW", **request)
        except ClientError as exc:
            if condition_failed(exc):
                raise WriteRefused(product_id) from exc
            raise
        return to_product(item["Attributes"])

    def delete(self, product_id: str) -> Product:
        """One DeleteItem; the item it removed comes back with it (ALL_OLD), so no read can miss a photo."""
        try:
            deleted = self.table.delete_item(
                Key=keys.product_key(product_id), ConditionExpression="attribute_exists(PK)", ReturnValues="ALL_OLD"
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise WriteRefused(product_id) from exc
            raise
        return to_product(deleted["Attributes"])

    def put_many(self, products: Iterable[Product]) -> None:
        """BatchWriteItem, 25 items a request."""
        with self.table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as writer:
            for product in products:
                writer.put_item(Item=product_item(product))

    def replace_photos(self, product_id: str, photos: Sequence[Photo], *, expected_rev: int) -> Product:
        """One UpdateItem, conditional on the photos' revision as read."""
        unchanged = "attribute_not_exists(photos_rev)" if expected_rev == 0 else "photos_rev = :rev"
        values: dict[str, Any] = {":photos": photo_items(photos), ":next": expected_rev + 1}
        if expected_rev:
            values[":rev"] = expected_rev
        return self._update(
            product_id,
            UpdateExpression="SET photos = :photos, photos_rev = :next",
            ConditionExpression=f"attribute_exists(PK) AND {unchanged}",
            ExpressionAttributeValues=values,
        )

    def items(self) -> Iterator[Item]:
        """Every product item of the table, as stored (a Scan: for rebuilding what is derived from them)."""
        request: dict[str, Any] = {"FilterExpression": Attr("SK").eq(keys.PRODUCT_SK)}
        while True:
            page = self.table.scan(**request)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
