"""Every DynamoDB key of the shop is built here, and nowhere else.

The table layout and the access pattern each key serves are written down in
docs/data-model.md; keep the two in step.
"""

from __future__ import annotations

from typing import Final

PRODUCT_SK: Final = "PRODUCT"


def product_key(product_id: str) -> dict[str, str]:
    """The product item: ``PRODUCT#<id>`` / ``PRODUCT``."""
    return {"PK": f"PRODUCT#{product_id}", "SK": PRODUCT_SK}


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


ACCOUNT_SK: Final = "ACCOUNT"


def account_key(user_sub: str) -> dict[str, str]:
    """What the shop keeps of a user besides orders (the last shipping address): ``USER#<sub>`` / ``ACCOUNT``.

    In the owner's partition, next to the orders, but outside ``begins_with(SK, "ORDER#")``."""
    return {"PK": user_pk(user_sub), "SK": ACCOUNT_SK}


def idempotency_key(user_sub: str, key: str) -> dict[str, str]:
    """The record of one ``Idempotency-Key`` of one user."""
    return {"PK": f"IDEMPOTENCY#{user_sub}#{key}", "SK": "IDEMPOTENCY"}


SALES_SK: Final = "SALES"


def sales_key(product_id: str) -> dict[str, str]:
    """Per-product sales counters, next to the product."""
    return {"PK": f"PRODUCT#{product_id}", "SK": SALES_SK}


def event_marker_key(event_id: str) -> dict[str, str]:
    """Marks a stream event as handled, so a redelivery does nothing."""
    return {"PK": f"EVENT#{event_id}", "SK": "HANDLED"}
