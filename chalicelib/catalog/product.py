"""A product as the API takes it (ProductIn, ProductUpdate, StockChange) and gives it (Product)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from chalicelib.photos.photo import Photo
from chalicelib.platform.schema import ShopModel
from chalicelib.platform.user_text import Text

MAX_PRICE_CENTS = 10_000_000  # 100,000.00: far above anything the shop sells
MAX_STOCK = 1_000_000
MAX_DESCRIPTION_LINES = 40
MAX_PHOTOS = 8

ProductId = Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")]


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
    photos: list[Photo] = Field(
        default_factory=list,
        max_length=MAX_PHOTOS,
        description="In the order a page shows them, the first on cards; a shop shows the `ready` ones "
        "(`src`, `srcset`, `webp_srcset`, `width`, `height`, `alt`). Managed under /products/{id}/photos.",
    )
    # Moves on with every change of the photos (not with edits or purchases):
    # a photo write is refused when another came first (ProductStore.replace_photos).
    photos_rev: int = Field(default=0, exclude=True)


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
    photos: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=MAX_PHOTOS,
        exclude=True,
        description="Ignored, so that a product as GET returns it can be sent back: photos are managed "
        "under /products/{id}/photos.",
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
