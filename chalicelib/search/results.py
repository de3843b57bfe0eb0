"""What a search takes (SearchParams) and answers (ProductPage: hits, facets, what was understood)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from chalicelib.catalog.product import MAX_PRICE_CENTS, Category, Product, Species
from chalicelib.platform.schema import DEFAULT_PAGE, MAX_PAGE, ShopModel

DEFAULT_BEST_SELLERS = 8
MAX_BEST_SELLERS = 24


class Sort(StrEnum):
    relevance = "relevance"
    best_selling = "best_selling"
    price_asc = "price_asc"
    price_desc = "price_desc"
    name = "name"


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
        description="Synonyms of chalicelib/search/synonyms.json were searched too: a word (or phrase) also matched "
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


class BestSellersParams(ShopModel):
    """Query string of GET /products/best-sellers."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=DEFAULT_BEST_SELLERS, ge=1, le=MAX_BEST_SELLERS)


class BestSellers(ShopModel):
    items: list[Product] = Field(
        description="The products that have sold, the most units first (then by name); at most `limit`, "
        "fewer (or none) when fewer have sold."
    )


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
    sort: Sort = Field(
        default=Sort.relevance,
        description="relevance: BM25 over the words of `q`; with no words to rank (no `q`), best selling. "
        "best_selling: the most units sold first (the sales counters of the orders, within seconds), "
        "then by name. price_asc, price_desc, name: the whole result by price or name.",
    )
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
