"""An order as a shopper places it (OrderIn) and as the shop keeps it (Order)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from chalicelib.platform.schema import ShopModel
from chalicelib.platform.user_text import Text

MAX_ORDER_LINES = 25  # + the order and its idempotency record: well inside one transaction (100)
MAX_QUANTITY = 99


class OrderLineIn(ShopModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[str, Text(64)]
    quantity: int = Field(ge=1, le=MAX_QUANTITY, strict=True)


class Address(ShopModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Text(100)]
    line1: Annotated[str, Text(200)]
    line2: Annotated[str, Text(200, min_length=0)] | None = None
    city: Annotated[str, Text(100)]
    postal_code: Annotated[str, Text(20)]
    country: str = Field(max_length=2, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. US")


class OrderIn(ShopModel):
    """POST /orders: what to buy and where to send it. Prices come from the catalog."""

    model_config = ConfigDict(extra="forbid")

    items: list[OrderLineIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    shipping_address: Address

    @field_validator("items")
    @classmethod
    def _one_line_per_product(cls, items: list[OrderLineIn]) -> list[OrderLineIn]:
        seen: set[str] = set()
        for line in items:
            if line.product_id in seen:
                raise ValueError(f"product {line.product_id!r} is on two lines; put the quantity on one")
            seen.add(line.product_id)
        return items


class OrderLine(ShopModel):
    product_id: str
    name: str = Field(description="As it was at purchase.")
    quantity: int
    unit_price_cents: int = Field(description="As it was at purchase.")
    line_total_cents: int


class Order(ShopModel):
    id: str
    status: str = Field(description="placed or cancelled")
    items: list[OrderLine]
    total_cents: int
    currency: str
    created_at: str
    shipping_address: Address


class OrderPage(ShopModel):
    items: list[Order]
    next_cursor: str | None


class SavedAddress(ShopModel):
    """GET /me/address: the shipping address of the caller's last order, kept with the account."""

    shipping_address: Address | None = Field(description="null until the caller has placed an order.")


class OrderListParams(ShopModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=50)
    cursor: str | None = Field(default=None, max_length=2048)
