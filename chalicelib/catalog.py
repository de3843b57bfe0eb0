"""The catalog: products and the search index that is written with them.

A product is one item; its search index is a set of *index entries*, one per
list it belongs to (all products, its species, category, brand, and each
three-letter word prefix of its text). Each entry carries what a query filters
on, and is sorted by relevance (table sort key), price and name (two LSIs).
The keys of the entries a product owns are stored on the product, so an update
removes exactly the stale ones, in the same transaction as the product.
See docs/data-model.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final

from botocore.exceptions import ClientError
from pydantic import ValidationError

from . import keys
from .errors import Conflict, ProductNotFound
from .models import MAX_STOCK, Product, ProductIn, ProductUpdate
from .text import IndexedText, fold, index_text, name_key, prefix_of, slug, words

# One product's update must fit in one TransactWriteItems (100 actions):
# the product, its new entries and the deletion of its stale ones.
MAX_INDEX_ENTRIES: Final = 48
_FIXED_ENTRIES: Final = 4  # all, species, category, brand

FIELD_WEIGHTS: Final = {"name": 3, "brand": 2, "category": 2, "species": 2, "description": 1}

Table = Any  # boto3 DynamoDB Table resource
Item = dict[str, Any]


def new_product_id(name: str) -> str:
    base = "-".join(fold(name).split())[:40].strip("-") or "product"
    return f"{base}-{uuid.uuid4().hex[:8]}"


def index_entries(product: Product) -> list[Item]:
    """The index entries of one product: its attribute lists and one entry per
    term (word or stem), the best-scoring terms kept when there are too many."""
    indexed = index_text(
        [
            (product.name, FIELD_WEIGHTS["name"]),
            (product.brand, FIELD_WEIGHTS["brand"]),
            (product.category.value, FIELD_WEIGHTS["category"]),
            (product.species.value.replace("_", " "), FIELD_WEIGHTS["species"]),
            (product.description, FIELD_WEIGHTS["description"]),
        ]
    )
    nk = name_key(product.name)
    attribute_lists = [
        keys.all_products_pk(),
        keys.attribute_pk("species", product.species.value),
        keys.attribute_pk("category", product.category.value),
        keys.attribute_pk("brand", slug(product.brand)),
    ]
    kept = _kept_terms(indexed, MAX_INDEX_ENTRIES - len(attribute_lists))
    shared: Item = {
        "product_id": product.id,
        "price": product.price_cents,
        "name_key": nk,
        "species": product.species.value,
        "category": product.category.value,
        "brand": slug(product.brand),
        "in_stock": product.stock > 0,
        # The terms that have an entry, and only those: a term a product has
        # no entry for matches it in no list and in no filter, so a query's
        # answer is the same whichever of its words drives it.
        "text": " " + " ".join(sorted(kept)) + " ",
    }
    entries = [
        {"PK": pk, "SK": keys.index_entry_sk(keys.NEUTRAL_SCORE, nk, product.id), **shared} for pk in attribute_lists
    ]
    by_list: dict[str, list[str]] = {}
    for term in sorted(kept):
        by_list.setdefault(prefix_of(term), []).append(term)
    for prefix, terms in by_list.items():
        entries += [
            {
                "PK": keys.word_pk(prefix),
                "SK": keys.word_entry_sk(term, kept[term], product.id),
                "term": term,
                # The product's other terms in this list: a prefix query that
                # matches several of them returns the product once (search.py).
                "terms_here": terms,
                **shared,
            }
            for term in terms
        ]
    return entries


def product_words(product: Product) -> set[str]:
    """The folded words of a product's text: what the vocabulary learns from it."""
    fields = [product.name, product.brand, product.category.value, product.species.value, product.description]
    return set(words(" ".join(fields)))


def vocabulary_items(all_words: Iterable[str]) -> list[Item]:
    """The vocabulary items holding ``all_words``, one per first letter (bulk loading)."""
    by_letter: dict[str, set[str]] = {}
    for word in all_words:
        by_letter.setdefault(word[0], set()).add(word)
    return [{**keys.vocabulary_key(letter), "words": found} for letter, found in sorted(by_letter.items())]


def add_to_vocabulary(table: Table, new_words: Iterable[str]) -> None:
    """Add words to the vocabulary: one transaction, one ``ADD`` per first letter.

    ``ADD`` to a string set is idempotent and commutative, so concurrent saves
    never conflict and need not read first. It runs before the product's own
    transaction: a word the vocabulary knows that no product has is harmless
    (see search.py), a word a product has that it does not know is not.
    Words are never taken out (see docs/data-model.md).
    """
    actions = [
        {
            "Update": {
                "TableName": table.name,
                "Key": {"PK": item["PK"], "SK": item["SK"]},
                "UpdateExpression": "ADD #w :new",
                "ExpressionAttributeNames": {"#w": "words"},
                "ExpressionAttributeValues": {":new": item["words"]},
            }
        }
        for item in vocabulary_items(new_words)
    ]
    for start in range(0, len(actions), 100):
        table.meta.client.transact_write_items(TransactItems=actions[start : start + 100])


def get_vocabulary(table: Table, letters: Iterable[str]) -> set[str]:
    """The catalog's words that start with any of ``letters`` (one BatchGetItem)."""
    wanted = [keys.vocabulary_key(letter) for letter in sorted(set(letters))]
    found: set[str] = set()
    request: dict[str, Any] = {table.name: {"Keys": wanted}} if wanted else {}
    while request.get(table.name, {}).get("Keys"):
        response = table.meta.client.batch_get_item(RequestItems=request)
        for item in response["Responses"].get(table.name, []):
            found |= set(item.get("words", ()))
        request = response.get("UnprocessedKeys") or {}
    return found


def _kept_terms(indexed: IndexedText, room: int) -> dict[str, int]:
    """The terms that get an index entry when there is room for ``room``.

    Stems come first: a whole word of a query is looked up by its stem only,
    so while they fit, every word of the product typed whole finds it. Then
    the words as written, which serve the word being typed ("flying" does not
    start its stem "fli"). Inside each, the best field weight first, then
    alphabetical order, so the choice does not depend on the text's order.
    """
    scores = indexed.term_scores
    ranked = sorted(scores, key=lambda term: (term not in indexed.stems, -scores[term], term))
    return {term: scores[term] for term in ranked[:room]}


def product_item(product: Product, entries: list[Item], version: int = 1) -> Item:
    return {
        **keys.product_key(product.id),
        **product.model_dump(mode="json", exclude_none=True),
        "index_keys": [[e["PK"], e["SK"]] for e in entries],
        "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "version": version,
    }


def to_product(item: Item) -> Product:
    return Product.model_validate({k: int(v) if k in ("price_cents", "stock") else v for k, v in item.items()})


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


def _stale_entry_keys(old_item: Item | None, entries: list[Item]) -> list[dict[str, str]]:
    if not old_item:
        return []
    current = {(e["PK"], e["SK"]) for e in entries}
    return [{"PK": pk, "SK": sk} for pk, sk in old_item.get("index_keys", []) if (pk, sk) not in current]


def save_product(table: Table, product: Product, *, create: bool, keep_stock: bool = False) -> Product:
    """Write a product and its index entries in one transaction.

    ``create`` refuses an existing id (409); otherwise the product must exist
    (404). Either way the product and its index never disagree. ``keep_stock``
    writes the stored stock instead of ``product.stock``, on condition that no
    purchase moved it meanwhile (else 409, try again).
    """
    old = table.get_item(Key=keys.product_key(product.id), ConsistentRead=True).get("Item")
    if create and old is not None:
        raise Conflict(f"a product with id {product.id!r} already exists", field="id")
    if old is None:
        if not create:
            raise ProductNotFound(product.id)
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
    else:
        # Nobody changed the product since we read its index keys (and its stock).
        condition = {
            "ConditionExpression": "#v = :seen",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":seen": old["version"]},
        }
        if keep_stock:
            product = product.model_copy(update={"stock": int(old["stock"])})
            condition["ConditionExpression"] += " AND stock = :stock"
            condition["ExpressionAttributeValues"][":stock"] = old["stock"]
    entries = index_entries(product)
    add_to_vocabulary(table, product_words(product))
    version = 1 if old is None else int(old["version"]) + 1
    actions: list[dict[str, Any]] = [
        {"Put": {"TableName": table.name, "Item": product_item(product, entries, version), **condition}}
    ]
    actions += [{"Put": {"TableName": table.name, "Item": e}} for e in entries]
    actions += [{"Delete": {"TableName": table.name, "Key": k}} for k in _stale_entry_keys(old, entries)]
    try:
        table.meta.client.transact_write_items(TransactItems=actions)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "TransactionCanceledException":
            raise Conflict("the product changed while it was being saved; try again", field="id") from exc
        raise
    return product


def create_product(table: Table, incoming: ProductIn) -> Product:
    """A new product; its id is derived from the name unless one is given."""
    product_id = incoming.id or new_product_id(incoming.name)
    product = Product.model_validate({**incoming.model_dump(), "id": product_id})
    return save_product(table, product, create=True)


def update_product(table: Table, product_id: str, fields: ProductUpdate) -> Product:
    """Replace an existing product's fields (and its index entries); no stock keeps the stored one."""
    keep_stock = fields.stock is None
    try:
        product = Product.model_validate({**fields.model_dump(), "id": product_id, "stock": fields.stock or 0})
    except ValidationError as exc:  # not even a possible id
        raise ProductNotFound(product_id) from exc
    return save_product(table, product, create=False, keep_stock=keep_stock)


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
    old = table.get_item(Key=keys.product_key(product_id), ConsistentRead=True).get("Item")
    if old is None:
        raise ProductNotFound(product_id)
    actions: list[dict[str, Any]] = [
        {
            "Delete": {
                "TableName": table.name,
                "Key": keys.product_key(product_id),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }
    ]
    actions += [
        {"Delete": {"TableName": table.name, "Key": {"PK": pk, "SK": sk}}} for pk, sk in old.get("index_keys", [])
    ]
    try:
        table.meta.client.transact_write_items(TransactItems=actions)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "TransactionCanceledException":
            raise ProductNotFound(product_id) from exc
        raise


def import_products(
    table: Table, products: Iterable[ProductIn], progress: Callable[[int], None] = lambda n: None
) -> int:
    """Bulk upsert (BatchWriteItem): for catalog files and seeding, not for the API.

    Existing products are replaced together with their index entries. Returns
    the number of products written.
    """
    written = 0
    batch: list[Product] = []
    with table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as writer:
        for incoming in products:
            batch.append(
                Product.model_validate({**incoming.model_dump(), "id": incoming.id or new_product_id(incoming.name)})
            )
            if len(batch) == 100:
                written += _import_batch(table, writer, batch)
                progress(len(batch))
                batch = []
        if batch:
            written += _import_batch(table, writer, batch)
            progress(len(batch))
    return written


def _import_batch(table: Table, writer: Any, batch: list[Product]) -> int:
    existing = _raw_items(table, [p.id for p in batch])
    add_to_vocabulary(table, set().union(*(product_words(p) for p in batch)))
    for product in batch:
        entries = index_entries(product)
        for key in _stale_entry_keys(existing.get(product.id), entries):
            writer.delete_item(Key=key)
        for entry in entries:
            writer.put_item(Item=entry)
        old = existing.get(product.id)
        writer.put_item(Item=product_item(product, entries, 1 if old is None else int(old["version"]) + 1))
    return len(batch)


def _raw_items(table: Table, product_ids: list[str]) -> dict[str, Item]:
    """What an import needs of existing products: their index keys and version."""
    projection = {"ProjectionExpression": "id, index_keys, #v", "ExpressionAttributeNames": {"#v": "version"}}
    return _product_items(table, product_ids, projection)
