"""``search_products``: one page of a search, answered from the index in memory.

The index decides which products match and in what order, over the whole
result (BM25 or the sort asked for), and counts the facets exactly; the
table then gives the page's products as they are now (one BatchGetItem), so
a price or a stock shown is never stale. A product whose price or stock has
left the filters since the index last heard of it is left off its page.

The cursor is the offset of the next page in the ranking, bound to the query.
Each page is ranked on the index version current when it is asked: if a
newer version was published in between (seconds after an edit), the ranking
it continues may have moved by the products added or removed before it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import tantivy

from chalicelib.catalog.product import Product
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.platform import cursor
from chalicelib.platform.aws import Table
from chalicelib.platform.folding import fold
from chalicelib.platform.metrics import DISCARD, SEARCH_ITEMS_READ, SEARCH_LATENCY, Metric, MetricSink
from chalicelib.search.index import FACETS, MAX_UNITS, SearchIndex, schema
from chalicelib.search.language import Term, highlights, matches_term, parse_query
from chalicelib.search.query import Understanding, named_filters, relax, text_query, understand
from chalicelib.search.results import (
    BestSellersParams,
    FacetCount,
    Facets,
    Highlight,
    Matches,
    PriceBand,
    ProductHit,
    ProductPage,
    QueryUnderstood,
    SearchParams,
    Sort,
)

MAX_BRANDS: Final = 200
# Price bands of the facets, in cents: [low, high) with None for no bound.
PRICE_BANDS: Final = ((0, 1000), (1000, 2500), (2500, 5000), (5000, 10000), (10000, None))


@dataclass
class SearchResult:
    items: list[Product]
    next_cursor: str | None
    total: int
    understanding: Understanding
    facets: Facets
    version: int = 0
    items_read: int = 0  # table items read for the page
    requests: int = 0  # DynamoDB calls
    order: list[str] = field(default_factory=list)  # the page's ids as the index ranked them


def search_products(
    table: Table,
    index: SearchIndex,
    params: SearchParams,
    metrics: MetricSink = DISCARD,
    clock: Callable[[], float] = time.perf_counter,
) -> SearchResult:
    """One page of the search; counts SearchLatency (ms) and SearchItemsRead."""
    started = clock()
    offset = _offset(params)
    constraints = named_filters(params)
    understanding = understand(params.q or "", index, exact=params.exact)
    required = [q for _, q in constraints]
    query = text_query(understanding, index, required)
    if not params.exact and len(understanding.slots) > 1 and index.searcher.search(query, limit=1).count == 0:
        understanding = relax(understanding, index, required)
        query = text_query(understanding, index, required)
    nothing = bool(understanding.ignored) and not understanding.slots
    if nothing:
        query = tantivy.Query.empty_query()  # every word unknown: nothing, not the whole catalog
    found = _ranked(index, query, params, offset, understanding)
    total = int(found.count)
    ids = [index.searcher.doc(address)["id"][0] for _, address in found.hits]
    products = DynamoProductStore(table).get_many(ids) if ids else {}
    page = [products[i] for i in ids if i in products and _still_matches(products[i], params)]
    following = offset + params.limit
    result = SearchResult(
        items=page,
        next_cursor=cursor.encode({"o": following}, query_fingerprint(params)) if following < total else None,
        total=total,
        understanding=understanding,
        facets=facets(index, understanding, constraints, total, nothing=nothing),
        version=index.version,
        items_read=len(ids),
        requests=1 if ids else 0,
        order=ids,
    )
    metrics.append(Metric(SEARCH_LATENCY, round((clock() - started) * 1000, 1), unit="Milliseconds"))
    metrics.append(Metric(SEARCH_ITEMS_READ, result.items_read))
    return result


SORTED_BY: Final = {
    Sort.price_asc: ("price", tantivy.Order.Asc),
    Sort.price_desc: ("price", tantivy.Order.Desc),
    Sort.name: ("name_key", tantivy.Order.Asc),
    Sort.best_selling: ("best_selling_key", tantivy.Order.Asc),  # index.best_selling_key: most units first
}


def _ranked(
    index: SearchIndex, query: tantivy.Query, params: SearchParams, offset: int, understanding: Understanding
) -> Any:
    sort = params.sort
    if sort == Sort.relevance and not understanding.slots:
        sort = Sort.best_selling  # nothing to rank by relevance: what the shop sells most
    if sort == Sort.best_selling and not index.knows_sales:
        sort = Sort.name  # a version written before the index held sales, until it is rebuilt
    if sort == Sort.relevance:
        return index.searcher.search(query, limit=params.limit, offset=offset)
    field_name, order = SORTED_BY[sort]
    return index.searcher.search(query, limit=params.limit, offset=offset, order_by_field=field_name, order=order)


def best_sellers(table: Table, index: SearchIndex, params: BestSellersParams) -> list[Product]:
    """The products that have sold, the most units first (then by name), as the table has them now."""
    if not index.knows_sales:
        return []
    sold = tantivy.Query.range_query(schema(), "units_sold", tantivy.FieldType.Integer, 1, MAX_UNITS)
    found = index.searcher.search(
        sold, limit=params.limit, order_by_field="best_selling_key", order=tantivy.Order.Asc, count=False
    )
    ids = [index.searcher.doc(address)["id"][0] for _, address in found.hits]
    products = DynamoProductStore(table).get_many(ids) if ids else {}
    return [products[i] for i in ids if i in products]


def query_fingerprint(params: SearchParams) -> str:
    """Identifies the query a cursor belongs to."""
    return cursor.fingerprint(
        {
            "terms": [(t.stemmed, t.is_prefix) for t in parse_query(params.q or "")],
            **params.model_dump(mode="json", exclude={"q", "cursor", "limit"}),
        }
    )


def _offset(params: SearchParams) -> int:
    if not params.cursor:
        return 0
    position = cursor.decode(params.cursor, query_fingerprint(params), {"o": cursor.number_between(1, MAX_OFFSET)})
    return int(position["o"])


MAX_OFFSET: Final = 10_000_000


def _still_matches(product: Product, params: SearchParams) -> bool:
    """Re-check what may have changed since the index last heard of the product."""
    if params.in_stock is not None and (product.stock > 0) != params.in_stock:
        return False
    if params.min_price is not None and product.price_cents < params.min_price:
        return False
    return params.max_price is None or product.price_cents <= params.max_price


# -- facets ---------------------------------------------------------------------------


def facets(
    index: SearchIndex,
    understanding: Understanding,
    constraints: list[tuple[str, tantivy.Query]],
    total: int,
    nothing: bool = False,
) -> Facets:
    """Exact counts over the whole result. Each attribute is counted with every
    filter but its own, so the other values of a chosen one stay listed with
    what choosing them would find."""

    def others(name: str) -> tantivy.Query:
        if nothing:  # no word of the query is known: nothing to count either
            return tantivy.Query.empty_query()
        return text_query(understanding, index, [q for n, q in constraints if n != name])

    counted = {name: _terms(index, others(name), f"{name}_value", MAX_BRANDS) for name in FACETS}
    prices = index.searcher.aggregate(
        others("price"),
        {
            "price": {
                "range": {
                    "field": "price",
                    "ranges": [{"from": lo, **({"to": hi} if hi else {})} for lo, hi in PRICE_BANDS],
                }
            }
        },
    )
    # tantivy adds a bucket for what lies below the first band: match them by their lower bound.
    bands = {int(b.get("from", -1)): int(b["doc_count"]) for b in prices["price"]["buckets"]}
    return Facets(
        species=counted["species"],
        category=counted["category"],
        brand=counted["brand"],
        price=[
            PriceBand(min_price=lo, max_price=hi - 1 if hi else None, count=bands.get(lo, 0)) for lo, hi in PRICE_BANDS
        ],
        counted=total,
    )


def _terms(index: SearchIndex, query: tantivy.Query, field_name: str, size: int) -> list[FacetCount]:
    found = index.searcher.aggregate(query, {"values": {"terms": {"field": field_name, "size": size}}})
    counts = Counter({str(b["key"]): int(b["doc_count"]) for b in found["values"]["buckets"]})
    return [FacetCount(value=v, count=c) for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


# -- the answer explains itself ----------------------------------------------------------


def result_page(result: SearchResult, params: SearchParams) -> ProductPage:
    """The response: products with where they matched, the query as understood, facets."""
    terms = [(slot.typed, term) for slot in result.understanding.slots for o in slot.options for term in o.terms()]
    return ProductPage(
        items=[ProductHit(**p.model_dump(), matches=_matches(p, terms)) for p in result.items],
        next_cursor=result.next_cursor,
        query=_query_understood(result) if params.q is not None else None,
        facets=result.facets,
    )


def _matches(product: Product, terms: list[tuple[str, Term]]) -> Matches:
    return Matches(
        name=[Highlight(word=w, start=a, end=b) for w, a, b in highlights(product.name, terms)],
        description=[Highlight(word=w, start=a, end=b) for w, a, b in highlights(product.description, terms)],
    )


def _query_understood(result: SearchResult) -> QueryUnderstood:
    understanding = result.understanding
    shown = {slot.typed: " ".join(_shown_option(slot.options, result.items)) for slot in understanding.slots}
    return QueryUnderstood(
        text=" ".join(shown[slot.typed] for slot in understanding.slots),
        corrected={typed: shown.get(typed, fix) for typed, fix in understanding.corrected.items()},
        ignored=list(understanding.ignored),
        synonyms=understanding.synonyms,
    )


def _shown_option(options: tuple[Any, ...], items: list[Product]) -> tuple[str, ...]:
    """What a word is shown as: of its equally near corrections, the one most
    products of the page match ("gwass hay": grass)."""
    if len(options) == 1 or options[0].weight != options[1].weight:
        return tuple(options[0].words)
    texts = [fold(" ".join((p.name, p.brand, p.category.value, p.species.value, p.description))).split() for p in items]

    def matched(option: Any) -> int:
        return sum(all(any(matches_term(t, x) for x in text) for t in option.terms()) for text in texts)

    return tuple(max(options, key=matched).words)
