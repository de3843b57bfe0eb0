"""Schemas of what crosses the API, one per direction.

Requests are validated into these types; responses are built from them, never
from raw DynamoDB items. The OpenAPI document (chalicelib/openapi.py) is
generated from the same classes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from .input_text import Text

MAX_PAGE = 100
DEFAULT_PAGE = 24
MAX_PRICE_CENTS = 10_000_000  # 100,000.00: far above anything the shop sells
MAX_STOCK = 1_000_000
MAX_DESCRIPTION_LINES = 40

ProductId = Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")]


class ShopModel(BaseModel):
    """Every schema of the shop. Validators are built on first use, not at
    import: each function uses a few of these models, and building all of
    them was a fifth of a cold start."""

    model_config = ConfigDict(defer_build=True)


class Species(StrEnum):
    dog = "dog"
    cat = "cat"
    fish = "fish"
    bird = "bird"
    small_animal = "small_animal"
    reptile = "reptile"


class Category(StrEnum):
    food = "food"
    treats = "treats"
    toys = "toys"
    beds = "beds"
    health = "health"
    grooming = "grooming"
    habitats = "habitats"
    accessories = "accessories"


class Sort(StrEnum):
    relevance = "relevance"
    price_asc = "price_asc"
    price_desc = "price_desc"
    name = "name"


class ProductFields(ShopModel):
    """A product's own fields (ProductIn for POST /products, ProductUpdate for PUT)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Text(120, min_length=3)]
    description: Annotated[
        str,
        Text(2000, max_lines=MAX_DESCRIPTION_LINES),
        Field(description=f"At most {MAX_DESCRIPTION_LINES} lines; newlines and tabs allowed."),
    ]
    species: Species
    category: Category
    brand: Annotated[str, Text(60)]
    price_cents: int = Field(ge=1, le=MAX_PRICE_CENTS, strict=True)
    currency: str = Field(default="USD", max_length=3, pattern=r"^USD$")
    stock: int = Field(ge=0, le=MAX_STOCK, strict=True)
    image: Annotated[str, Text(200, min_length=0)] | None = None


class ProductIn(ProductFields):
    """A product in a catalog file or a create request; the id is optional."""

    id: ProductId | None = None


class Product(ProductFields):
    """A product as the API returns it."""

    model_config = ConfigDict(extra="ignore")

    id: ProductId
    version: int = Field(
        default=1,
        description="Edits since the product was created or imported (purchases do not count). Send it back "
        'as `If-Match: "<version>"` on PUT to refuse an edit made on a stale copy (409).',
    )


class ProductUpdate(ProductFields):
    """PUT /products/{id}: the product's fields; ``stock`` may be left out."""

    stock: int | None = Field(  # type: ignore[assignment]
        default=None,
        ge=0,
        le=MAX_STOCK,
        strict=True,
        description="Leave out to keep the stock as it is: a purchase made meanwhile is then never undone.",
    )
    version: int | None = Field(
        default=None,
        ge=1,
        le=10**12,
        strict=True,
        description="The `version` the product was read at (as GET returns it), like `If-Match`: a product "
        "edited since is a 409. Leave out: the last edit wins.",
    )


class StockChange(ShopModel):
    """POST /products/{id}/stock: add to (or, negative, take from) the stock."""

    model_config = ConfigDict(extra="forbid")

    change: int = Field(ge=-MAX_STOCK, le=MAX_STOCK, strict=True, description="Units to add; negative to take.")

    @field_validator("change")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be 0")
        return value


class Highlight(ShopModel):
    """Where a word of the query matched, to highlight it safely (never HTML)."""

    word: str = Field(description="The query word, as typed (folded), that matched.")
    start: int = Field(description="Offset of the first character (Unicode code points) in the text as returned.")
    end: int = Field(description="Offset just after the last character.")


class Matches(ShopModel):
    name: list[Highlight] = Field(default_factory=list)
    description: list[Highlight] = Field(default_factory=list)


class ProductHit(Product):
    """A product of a result page, with where the query matched it."""

    matches: Matches = Field(default_factory=Matches)


class QueryUnderstood(ShopModel):
    """How the search understood `q`."""

    text: str = Field(description="The words searched for, after corrections and dropped words.")
    corrected: dict[str, str] = Field(
        description="Typed word -> the catalog's word it was corrected to (of equally near ones, "
        "the one most products of this page match)."
    )
    ignored: list[str] = Field(description="Typed words left out: unknown, filler, or dropped so as to find something.")
    synonyms: bool = Field(
        description="Synonyms of chalicelib/synonyms.json were searched too: a word (or phrase) also matched "
        "its synonyms, or a word the catalog does not know was replaced by one (shown in `corrected`)."
    )


class FacetCount(ShopModel):
    value: str = Field(description="Pass as the parameter of the same name to filter (brand: its slug).")
    count: int


class PriceBand(ShopModel):
    min_price: int = Field(description="In cents; pass as `min_price` to filter.")
    max_price: int | None = Field(description="In cents, inclusive; null: no upper bound. Pass as `max_price`.")
    count: int


class Facets(ShopModel):
    """Exact counts over the whole result. Each attribute is counted with every
    filter but its own, so the other values of a chosen one stay listed."""

    species: list[FacetCount]
    category: list[FacetCount]
    brand: list[FacetCount] = Field(description="Every brand of the result (at most 200), the most frequent first.")
    price: list[PriceBand] = Field(description="Fixed price bands, cheapest first.")
    counted: int = Field(description="How many products the search found in all (every filter applied).")


class ProductPage(ShopModel):
    items: list[ProductHit]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")
    query: QueryUnderstood | None = Field(default=None, description="Null when `q` is not given.")
    facets: Facets


class SearchParams(ShopModel):
    """Query string of GET /products. Unknown parameters are refused.

    ``q`` keeps its trailing space: it tells that the last word is complete.
    """

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(default=None, max_length=200, description="Words to find (prefix match on the last one).")
    species: Species | None = None
    category: Category | None = None
    brand: str | None = Field(default=None, max_length=60, description="Brand name, case-insensitive.")
    min_price: int | None = Field(default=None, ge=0, le=MAX_PRICE_CENTS, description="In cents.")
    max_price: int | None = Field(default=None, ge=0, le=MAX_PRICE_CENTS, description="In cents.")
    in_stock: bool | None = Field(default=None, description="true: only products with stock.")
    sort: Sort = Sort.relevance
    exact: bool = Field(default=False, description="true: the words exactly as typed, never corrected nor dropped.")
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(default=None, max_length=2048, description="`next_cursor` of the previous page.")

    @field_validator("max_price")
    @classmethod
    def _not_below_min(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_price")
        if value is not None and low is not None and value < low:
            raise ValueError("must not be below min_price")
        return value


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


class OrderListParams(ShopModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=50)
    cursor: str | None = Field(default=None, max_length=2048)


class Me(ShopModel):
    id: str
    email: str | None
    roles: list[str]


class ErrorBody(ShopModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str | None = Field(description="What went wrong, for a human.")
    field: str | None = Field(default=None, description="The parameter or body field at fault.")
