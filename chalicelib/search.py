"""Product search: words and attributes, without ever scanning the table.

A search reads *one* index list (see chalicelib/catalog.py), chosen to be as
small as possible: the brand's list, else the list of a query word's prefix,
else the category's or species' list, else the list of all products. The
list is read in the requested order (table sort key for relevance, an LSI for
price or name), and everything else the query asks is a filter expression on
the entries: each word ("dog" whole, "pupp" as a prefix), the attributes, the
price range, stock. So the read cost grows with the page asked for (divided
by how selective the filters are), never with the size of the catalog; a
per-request read budget bounds the worst case, and the cursor resumes exactly
where the last page stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any, Final

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from . import cursor, keys
from .catalog import Table, get_products
from .metrics import DISCARD, SEARCH_ITEMS_READ, SEARCH_LATENCY, Metric, MetricSink
from .models import Product, SearchParams, Sort
from .text import Term, parse_query, slug

# Most index entries one request may read before it returns what it found
# (possibly a short page) with a cursor to continue.
READ_BUDGET: Final = 1000


@dataclass(frozen=True)
class Plan:
    """How one search reads DynamoDB: which list, in which order, what filter."""

    pk: str
    index: str | None  # None: table sort key (relevance); else an LSI name
    shared_prefix: str | None  # typing driver: skip a product's later terms (see _shadowed)
    forward: bool
    key_condition: Any
    filter: ConditionBase | None
    fingerprint: str
    sk_prefix: str = ""  # what the table sort key of every entry read starts with
    price_range: tuple[int, int] = (0, cursor.MAX_NUMBER)  # of every entry read

    @property
    def position_keys(self) -> set[str]:
        extra = {keys.INDEX_SORT_ATTRS[self.index]} if self.index else set()
        return {"PK", "SK"} | extra

    def cursor_rules(self) -> dict[str, cursor.Rule]:
        """What a position in this plan's list can be (a cursor is checked against it)."""
        rules = {"PK": cursor.equal_to(self.pk), "SK": cursor.key_text(self.sk_prefix)}
        if self.index:
            name = keys.INDEX_SORT_ATTRS[self.index]
            rules[name] = cursor.number_between(*self.price_range) if name == "price" else cursor.key_text()
        return rules


@dataclass
class SearchResult:
    items: list[Product]
    next_cursor: str | None
    items_read: int = 0  # index entries evaluated + products fetched
    requests: int = 0  # DynamoDB calls


def _driver(params: SearchParams, terms: list[Term]) -> tuple[str, Term | None]:
    """The smallest index list that holds every possible match (and its term)."""
    if params.brand:
        return keys.attribute_pk("brand", slug(params.brand)), None
    # Whole words before the word being typed; longer words are rarer.
    ranked = sorted(terms, key=lambda t: (t.is_prefix, -len(t.word)))
    for term in ranked:
        if term.index_prefix:
            return keys.word_pk(term.index_prefix), term
    if params.category:
        return keys.attribute_pk("category", params.category.value), None
    if params.species:
        return keys.attribute_pk("species", params.species.value), None
    return keys.all_products_pk(), None


def _term_condition(term: Term) -> ConditionBase:
    options = [Attr("text").contains(p) for p in term.patterns()]
    return reduce(lambda a, b: a | b, options)


def plan_search(params: SearchParams) -> Plan:
    terms = parse_query(params.q or "")
    pk, driver = _driver(params, terms)
    index = {Sort.relevance: None, Sort.price_asc: keys.BY_PRICE, Sort.price_desc: keys.BY_PRICE}.get(
        params.sort, keys.BY_NAME
    )
    key_condition = Key("PK").eq(pk)
    sk_prefix = ""
    conditions: list[ConditionBase] = [_term_condition(t) for t in terms]
    if driver is not None:
        # Only the driving term's entries of its list: in the key when the
        # list is read in term order (relevance), else a filter.
        exact = not driver.is_prefix
        if index is None:
            sk_prefix = driver.key_prefix + ("#" if exact else "")
            key_condition &= Key("SK").begins_with(sk_prefix)
        else:
            term = Attr("term")
            conditions.append(term.eq(driver.key_prefix) if exact else term.begins_with(driver.key_prefix))
    low, high = params.min_price, params.max_price
    price_range = (0, cursor.MAX_NUMBER)
    if index == keys.BY_PRICE and (low is not None or high is not None):
        price_range = (low or 0, high if high is not None else cursor.MAX_NUMBER)
        key_condition &= Key("price").between(*price_range)
    else:
        if low is not None:
            conditions.append(Attr("price").gte(low))
        if high is not None:
            conditions.append(Attr("price").lte(high))
    for name, value in (
        ("species", params.species.value if params.species else None),
        ("category", params.category.value if params.category else None),
        ("brand", slug(params.brand) if params.brand else None),
    ):
        if value is not None and pk != keys.attribute_pk(name, value):
            conditions.append(Attr(name).eq(value))
    if params.in_stock is not None:
        conditions.append(Attr("in_stock").eq(params.in_stock))
    fingerprint = cursor.fingerprint(
        {
            "terms": [(t.stemmed, t.is_prefix) for t in terms],
            **params.model_dump(mode="json", exclude={"q", "cursor", "limit"}),
        }
    )
    return Plan(
        pk=pk,
        index=index,
        shared_prefix=driver.key_prefix if driver is not None and driver.is_prefix else None,
        forward=params.sort != Sort.price_desc,
        key_condition=key_condition,
        filter=reduce(lambda a, b: a & b, conditions) if conditions else None,
        fingerprint=fingerprint,
        sk_prefix=sk_prefix,
        price_range=price_range,
    )


def _position(entry: dict[str, Any], plan: Plan) -> cursor.Position:
    return {k: int(entry[k]) if k == "price" else str(entry[k]) for k in plan.position_keys}


def _shadowed(entry: dict[str, Any], plan: Plan) -> bool:
    """A product's entry for "toys" when its entry for "toy" also matched "toy...".

    A prefix matches several terms of one product (toy, toys); only the first
    in the list's order (by term) is returned, wherever the page boundary falls.
    """
    prefix = plan.shared_prefix
    if prefix is None:
        return False
    term = entry.get("term", "")
    return any(other < term and other.startswith(prefix) for other in entry.get("terms_here", []))


def _still_matches(product: Product, params: SearchParams) -> bool:
    """Re-check what may have changed since the index entry was written."""
    if params.in_stock is not None and (product.stock > 0) != params.in_stock:
        return False
    if params.min_price is not None and product.price_cents < params.min_price:
        return False
    return params.max_price is None or product.price_cents <= params.max_price


def search_products(
    table: Table,
    params: SearchParams,
    read_budget: int = READ_BUDGET,
    metrics: MetricSink = DISCARD,
    clock: Callable[[], float] = time.perf_counter,
) -> SearchResult:
    """One page of the search; counts SearchLatency (ms) and SearchItemsRead."""
    started = clock()
    result = _search(table, params, read_budget)
    metrics.append(Metric(SEARCH_LATENCY, round((clock() - started) * 1000, 1), unit="Milliseconds"))
    metrics.append(Metric(SEARCH_ITEMS_READ, result.items_read))
    return result


def _search(table: Table, params: SearchParams, read_budget: int) -> SearchResult:
    plan = plan_search(params)
    start: dict[str, Any] | None = None
    if params.cursor:
        start = cursor.decode(params.cursor, plan.fingerprint, plan.cursor_rules())
    result = SearchResult(items=[], next_cursor=None)
    found, next_position = _read_entries(table, plan, params.limit, start, read_budget, result)
    if found:
        products = get_products(table, [e["product_id"] for e in found])
        result.requests += 1
        result.items_read += len(found)
        result.items = [
            products[e["product_id"]]
            for e in found
            if e["product_id"] in products and _still_matches(products[e["product_id"]], params)
        ]
    if next_position is not None:
        result.next_cursor = cursor.encode(next_position, plan.fingerprint)
    return result


def _read_entries(
    table: Table,
    plan: Plan,
    limit: int,
    start: dict[str, Any] | None,
    read_budget: int,
    result: SearchResult,
) -> tuple[list[dict[str, Any]], cursor.Position | None]:
    """Query the plan's list for ``limit`` entries that pass the filter, and
    one more, which says whether a next page exists: a full last page carries
    no cursor. Reading stops early only when the list ends or the read budget
    is spent; then the page may be short (or, if the whole budget held no
    match, empty) and the cursor resumes after the last entry read.
    Returns the page's entries and where to resume (``None``: nothing follows).
    """
    found: list[dict[str, Any]] = []
    selectivity = 1.0
    last_batch = 0
    while True:
        wanted = limit + 1 - len(found)
        batch = wanted if plan.filter is None else math.ceil(wanted / selectivity) + 5
        if last_batch:  # grow at most fourfold a round: an unlucky first read must not cost the budget
            batch = min(batch, 4 * last_batch)
        last_batch = batch
        response = table.query(**_query_request(plan, start, max(1, min(batch, read_budget - result.items_read))))
        result.requests += 1
        result.items_read += int(response["ScannedCount"])
        found += [entry for entry in response["Items"] if not _shadowed(entry, plan)]
        start = response.get("LastEvaluatedKey")
        if len(found) > limit:
            return found[:limit], _position(found[limit - 1], plan)
        if start is None:
            return found, None
        if result.items_read >= read_budget:
            return found, _position(start, plan)
        # Estimate how many entries pass the filter, to ask for enough next time.
        selectivity = max(len(found) / max(result.items_read, 1), 0.02)


def _query_request(plan: Plan, start: dict[str, Any] | None, limit: int) -> dict[str, Any]:
    return {
        "KeyConditionExpression": plan.key_condition,
        "ScanIndexForward": plan.forward,
        "Limit": limit,
        **({"IndexName": plan.index} if plan.index else {}),
        **({"FilterExpression": plan.filter} if plan.filter is not None else {}),
        **({"ExclusiveStartKey": start} if start else {}),
    }
