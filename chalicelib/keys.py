"""Every DynamoDB key of the shop is built here, and nowhere else.

The table layout and the access pattern each key serves are written down in
docs/data-model.md; keep the two in step.
"""

from __future__ import annotations

import hashlib
from typing import Final

PRODUCT_SK: Final = "PRODUCT"

# Secondary indexes of the table (see infra/template.yaml).
BY_PRICE: Final = "by_price"
BY_NAME: Final = "by_name"
INDEX_SORT_ATTRS: Final = {BY_PRICE: "price", BY_NAME: "name_key"}

# Index entries whose table sort key carries no text score (attribute lists).
NEUTRAL_SCORE: Final = 5


def product_key(product_id: str) -> dict[str, str]:
    """The product item: ``PRODUCT#<id>`` / ``PRODUCT``."""
    return {"PK": f"PRODUCT#{product_id}", "SK": PRODUCT_SK}


def all_products_pk() -> str:
    """Index list holding every product (browse with no filter)."""
    return "IDX#ALL"


def attribute_pk(name: str, value: str) -> str:
    """Index list of one attribute value, e.g. ``IDX#A#species=dog``."""
    return f"IDX#A#{name}={value}"


def word_pk(prefix: str) -> str:
    """Index list of the products having a term that starts with ``prefix``.

    ``prefix`` is the first three letters of a term (or the whole term when
    shorter), e.g. ``IDX#W#sal`` for salmon, salt, saltwater.
    """
    return f"IDX#W#{prefix}"


def word_entry_sk(term: str, score: int, product_id: str) -> str:
    """Inside a word list: by term, then best score first, then a shuffle.

    ``begins_with(SK, "salmon#")`` reads exactly the products with that term,
    best first; ``begins_with(SK, "salm")`` every term starting so. Equal
    scores are ordered by a hash of the id, not by name: names correlate with
    attributes ("Classic Cat ...", "Classic Dog ..."), and a filter on a
    species would otherwise read through long runs of other species first.
    """
    shuffle = hashlib.blake2s(product_id.encode(), digest_size=4).hexdigest()
    return f"{term}#{9 - score}#{shuffle}#{product_id}"


def index_entry_sk(score: int, name_key: str, product_id: str) -> str:
    """Relevance order inside one index list: best score first, then name.

    ``9 - score`` makes a higher score sort first in ascending order; the id
    keeps the key unique, so paging never skips or repeats an entry.
    """
    return f"{9 - score}#{name_key}#{product_id}"


def vocabulary_key(letter: str) -> dict[str, str]:
    """The catalog's words that start with ``letter``: ``VOCAB#<letter>`` / ``VOCAB``.

    One item per first letter (a folded letter or digit), its ``words`` a
    string set. A query word that matches nothing is corrected from its first
    letter's item only: like Meilisearch, the shop counts a typo on the first
    letter as two, so one GetItem finds every correction it allows.
    """
    return {"PK": f"VOCAB#{letter}", "SK": "VOCAB"}


# -- orders --------------------------------------------------------------------

ORDER_PREFIX: Final = "ORDER#"


def order_key(user_sub: str, order_id: str) -> dict[str, str]:
    """An order lives under its owner: ``USER#<sub>`` / ``ORDER#<id>``.

    Order ids start with the time they were placed (hex milliseconds), so the
    owner's orders sort oldest to newest and are read newest first.
    """
    return {"PK": user_pk(user_sub), "SK": f"{ORDER_PREFIX}{order_id}"}


def user_pk(user_sub: str) -> str:
    return f"USER#{user_sub}"


def idempotency_key(user_sub: str, key: str) -> dict[str, str]:
    """The record of one ``Idempotency-Key`` of one user."""
    return {"PK": f"IDEMPOTENCY#{user_sub}#{key}", "SK": "IDEMPOTENCY"}


def sales_key(product_id: str) -> dict[str, str]:
    """Per-product sales counters, next to the product."""
    return {"PK": f"PRODUCT#{product_id}", "SK": "SALES"}


def event_marker_key(event_id: str) -> dict[str, str]:
    """Marks a stream event as handled, so a redelivery does nothing."""
    return {"PK": f"EVENT#{event_id}", "SK": "HANDLED"}
