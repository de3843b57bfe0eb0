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

import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import Any, Final

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from . import cursor, keys
from .catalog import FIELD_WEIGHTS, Table, get_products, get_vocabulary
from .errors import InvalidInput
from .metrics import DISCARD, SEARCH_ITEMS_READ, SEARCH_LATENCY, Metric, MetricSink
from .models import (
    FacetCount,
    Facets,
    Highlight,
    Matches,
    Product,
    ProductHit,
    ProductPage,
    QueryUnderstood,
    SearchParams,
    Sort,
)
from .text import (
    FILLER_WORDS,
    MAX_WORD_LEN,
    Term,
    corrections,
    fold,
    highlights,
    known,
    matches_term,
    parse_query,
    slug,
    stem,
    synonyms,
)

# Most index entries one request may read before it returns what it found
# (possibly a short page) with a cursor to continue.
READ_BUDGET: Final = 1000
TOP_BRANDS: Final = 10
# At most this many words are dropped, one search each, when a query finds nothing.
MAX_RELAXATIONS: Final = 2
# A word the catalog does not know is corrected to at most this many equally near words.
MAX_CORRECTIONS: Final = 3
MAX_PHRASE_WORDS: Final = 3  # words of a synonym phrase
# DynamoDB takes a filter of at most 4 KB and 300 operators and functions; a
# `contains` test and its operator cost about 30 bytes and 2 of them.
MAX_FILTER_PATTERNS: Final = 120

Alternative = tuple[Term, ...]  # terms that must all match (a phrase such as "fish tank")


@dataclass(frozen=True)
class Slot:
    """One word (or phrase) of the query as understood, and what may match it."""

    typed: str  # as typed, folded
    options: tuple[Alternative, ...]  # any of them matches: the word (or its corrections), then synonyms
    corrected: bool = False


@dataclass(frozen=True)
class Understanding:
    """How the words of ``q`` were understood: as typed, or corrected, with
    synonyms, some dropped. A cursor carries it, so every page of a search
    reads the same interpretation."""

    corrected: tuple[tuple[str, str], ...] = ()  # (typed, corrected); equally near corrections "a|b"
    ignored: tuple[str, ...] = ()
    synonyms: bool = False

    def encode(self) -> str:
        return json.dumps([dict(self.corrected), list(self.ignored), self.synonyms], separators=(",", ":"))

    @classmethod
    def decode(cls, raw: object, typed: set[str]) -> Understanding:
        """An interpretation read back from a cursor, checked against the query's words."""
        try:
            corrected, ignored, with_synonyms = json.loads(str(raw))
            understood = cls(
                corrected=tuple(sorted((str(k), str(v)) for k, v in dict(corrected).items())),
                ignored=tuple(str(w) for w in ignored),
                synonyms=bool(with_synonyms),
            )
        except (ValueError, TypeError, RecursionError) as exc:
            raise InvalidInput("cursor is not a cursor returned by this API", field="cursor") from exc
        if not {w for w, _ in understood.corrected} | set(understood.ignored) <= typed:
            raise InvalidInput("cursor belongs to a different query; start again without it", field="cursor")
        if not all(_a_correction(fix) for _, fix in understood.corrected):
            raise InvalidInput("cursor is not a cursor returned by this API", field="cursor")
        return understood


def _a_correction(fix: str) -> bool:
    """What ``understand`` can replace a word by: a synonym phrase, or up to
    MAX_CORRECTIONS equally near words; folded (a cursor is not signed)."""
    if "|" not in fix:
        return (
            0 < len(fix.split()) <= MAX_PHRASE_WORDS
            and fold(fix) == fix
            and len(fix) <= MAX_PHRASE_WORDS * MAX_WORD_LEN
        )
    alternatives = fix.split("|")
    return len(alternatives) <= MAX_CORRECTIONS and all(
        len(a.split()) == 1 and fold(a) == a and len(a) <= MAX_WORD_LEN for a in alternatives
    )


AS_TYPED: Final = Understanding()


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
    understanding: Understanding = AS_TYPED
    slots: tuple[Slot, ...] = ()
    nothing_before: bool = True  # no earlier page of this search found a product
    sk_prefix: str = ""  # what the table sort key of every entry read starts with
    price_range: tuple[int, int] = (0, cursor.MAX_NUMBER)  # of every entry read
    params: SearchParams = field(default_factory=SearchParams)
    branch: int = 0  # which of the driving word's lists (see plan_search)
    branches: int = 1

    @property
    def position_keys(self) -> set[str]:
        extra = {keys.INDEX_SORT_ATTRS[self.index]} if self.index else set()
        return {"PK", "SK", "i", "n", "b"} | extra

    def next_branch(self) -> Plan | None:
        """The plan reading the next list of the driving word, if any."""
        if self.branch + 1 >= self.branches:
            return None
        following = plan_search(self.params, self.understanding, self.branch + 1)
        return replace(following, nothing_before=self.nothing_before)

    def cursor_rules(self) -> dict[str, cursor.Rule]:
        """What a position in this plan's list can be (a cursor is checked against it)."""
        rules = {
            "PK": cursor.equal_to(self.pk),
            "SK": cursor.key_text(self.sk_prefix),
            "i": _understanding_text,
            "n": cursor.number_between(0, 1),
            "b": cursor.number_between(self.branch, self.branch),
        }
        if self.index:
            name = keys.INDEX_SORT_ATTRS[self.index]
            rules[name] = cursor.number_between(*self.price_range) if name == "price" else cursor.key_text()
        return rules


def _understanding_text(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 4096  # Understanding.decode checks the rest


@dataclass
class SearchResult:
    items: list[Product]
    next_cursor: str | None
    items_read: int = 0  # index entries evaluated + products fetched (+ vocabulary items)
    requests: int = 0  # DynamoDB calls
    understanding: Understanding = AS_TYPED
    slots: tuple[Slot, ...] = ()
    entries: list[dict[str, Any]] = field(default_factory=list)  # the matching entries read (facets)
    complete: bool = True  # entries holds every match of the query


@dataclass
class _Read:
    found: list[dict[str, Any]]
    next_position: cursor.Position | None
    stopped_at: dict[str, Any] | None = None  # where a probe stopped, having found nothing
    ahead: list[dict[str, Any]] = field(default_factory=list)
    plan: Plan | None = None  # the branch the probe stopped in


def understood_slots(
    q: str, understanding: Understanding, with_synonyms: bool = True, one_list: bool = False
) -> tuple[Slot, ...]:
    """The words of ``q`` as understood: corrections (or synonyms) applied,
    ignored words left out. ``one_list``: a search read in price or name order
    reads one list, so one word must stay as typed to drive it."""
    corrected = dict(understanding.corrected)
    slots: list[Slot] = []
    for term in parse_query(q):
        if term.word in understanding.ignored:
            continue
        if term.word in corrected:
            options = _distinct([_replacement(term, fix) for fix in corrected[term.word].split("|")])
            slots.append(Slot(typed=term.word, options=options, corrected=True))
        else:
            slots.append(Slot(typed=term.word, options=((term,),)))
    slots = _keep_a_driver(slots) if one_list else slots
    return _with_synonyms(slots, one_list) if with_synonyms else tuple(slots)


def _replacement(term: Term, fix: str) -> Alternative:
    words = fix.split()
    return tuple(Term(w, stem(w), term.is_prefix and i == len(words) - 1) for i, w in enumerate(words))


def _distinct(options: list[Alternative]) -> tuple[Alternative, ...]:
    """Options less those an earlier one already matches: "treatz" corrected
    to "treat" or "treats" is one stem, one option (and one list to read)."""
    kept: list[Alternative] = []
    for option in options:
        if not any(_covers(earlier, option) for earlier in kept):
            kept.append(option)
    return tuple(kept)


def _covers(a: Alternative, b: Alternative) -> bool:
    """Whether every product matching ``b`` matches ``a`` (a text holding a
    pattern holds every beginning of it)."""
    return all(any(all(any(pb.startswith(pa) for pa in ta.patterns()) for pb in tb.patterns()) for tb in b) for ta in a)


def _keep_a_driver(slots: list[Slot]) -> list[Slot]:
    """A word corrected several ways ("gwass": glass or grass) matches them
    all; in a search that reads one list, unless no other word can pick it:
    then it keeps its nearest correction."""
    if any(_drivers(slot) for slot in slots):
        return slots
    for i, slot in enumerate(slots):
        trimmed = replace(slot, options=slot.options[:1])
        if _drivers(trimmed):
            return [*slots[:i], trimmed, *slots[i + 1 :]]
    return slots


def _drivers(slot: Slot) -> list[Term]:
    """The terms of a slot that could pick the index list to read."""
    return [t for t in slot.options[0] if t.index_prefix] if len(slot.options) == 1 else []


def _with_synonyms(slots: list[Slot], one_list: bool) -> tuple[Slot, ...]:
    """Words (or phrases, such as "fish tank") with synonyms match them too.

    A widened slot's matches are spread over several lists. A word without
    synonyms drives the search if the query has one; else the widened word
    drives it through each of its lists in turn (see plan_search). A search
    that reads ``one_list`` (in price or name order) keeps one word as typed
    to drive it instead: a word without synonyms if the query has one, else
    the word that drives it without synonyms.
    """
    slots = _phrases(slots)
    widenable = {i for i, slot in enumerate(slots) if not slot.corrected and _slot_synonyms(slot)}
    drivers = [(t, i) for i, s in enumerate(slots) for t in _drivers(s)]
    plain = [(t, i) for t, i in drivers if i not in widenable]
    if not widenable or (one_list and not drivers):
        return tuple(slots)
    kept = min(plain or drivers, key=lambda c: _driving_order(c[0]))[1] if one_list else None
    return tuple(
        Slot(slot.typed, slot.options + _slot_synonyms(slot), slot.corrected) if i in widenable and i != kept else slot
        for i, slot in enumerate(slots)
    )


def _slot_synonyms(slot: Slot) -> tuple[Alternative, ...]:
    key = tuple(t.stemmed for t in slot.options[0])
    return tuple(tuple(Term(w, stem(w), False) for w in phrase) for phrase in synonyms().get(key, ()))


def _phrases(slots: list[Slot]) -> list[Slot]:
    """Neighbouring words that make a phrase of the synonyms ("fish tank") become one slot."""
    longest = max((len(k) for k in synonyms()), default=1)
    merged: list[Slot] = []
    i = 0
    while i < len(slots):
        for size in range(min(longest, len(slots) - i), 1, -1):
            group = slots[i : i + size]
            if any(s.corrected for s in group):
                continue
            terms = tuple(t for s in group for t in s.options[0])
            if tuple(t.stemmed for t in terms) in synonyms():
                merged.append(Slot(typed=" ".join(s.typed for s in group), options=(terms,)))
                i += size
                break
        else:
            merged.append(slots[i])
            i += 1
    return merged


def understand(q: str, vocabulary: set[str]) -> Understanding:
    """Replace the words the catalog does not know by a synonym it knows, else
    by their nearest word; drop those it cannot correct and the filler words."""
    terms = parse_query(q)
    corrected: dict[str, str] = {}
    ignored: list[str] = []
    with_synonyms = False
    for term in terms:
        if known(term, vocabulary):
            continue
        fix = _known_synonym(term, vocabulary)
        with_synonyms |= fix is not None
        fix = fix or "|".join(corrections(term, vocabulary, most=MAX_CORRECTIONS)) or None
        if fix is None:
            ignored.append(term.word)
        else:
            corrected[term.word] = fix
    filler = [t.word for t in terms if t.word in FILLER_WORDS and t.word not in ignored]
    if len(ignored) + len(filler) < len(terms):  # filler goes only if a word remains
        ignored += filler
    return Understanding(tuple(sorted(corrected.items())), tuple(ignored), with_synonyms)


def _synonym_words(term: Term) -> list[str]:
    return [w for phrase in synonyms().get((term.stemmed,), ()) for w in phrase]


def _known_synonym(term: Term, vocabulary: set[str]) -> str | None:
    """The first synonym of a word (chalicelib/synonyms.json) whose words the catalog knows."""
    for phrase in synonyms().get((term.stemmed,), ()):
        if all(known(Term(w, stem(w), False), vocabulary) for w in phrase):
            return " ".join(phrase)
    return None


def relaxed(understanding: Understanding, slots: tuple[Slot, ...]) -> Understanding:
    """The same understanding with the least useful word dropped: the last one
    (as Meilisearch does), the word a shopper added to narrow the search."""
    dropped = tuple(slots[-1].typed.split())
    return Understanding(understanding.corrected, understanding.ignored + dropped, understanding.synonyms)


@dataclass(frozen=True)
class _Driver:
    """The list a search reads: of a brand, a word, an attribute or all products."""

    pk: str
    term: Term | None = None  # the word whose list it is
    slot: int | None = None  # a slot with several options, read one list each
    branches: int = 1


def _driving_order(term: Term) -> tuple[bool, int]:
    """Whole words before the word being typed; longer words are rarer."""
    return term.is_prefix, -len(term.word)


def _option_drivers(slot: Slot) -> list[Term]:
    """The term that can drive each option of a slot; none unless every option has one."""
    found = [min((t for t in alt if t.index_prefix), key=_driving_order, default=None) for alt in slot.options]
    return [t for t in found if t is not None] if all(found) else []


def _driver(params: SearchParams, slots: tuple[Slot, ...], branch: int) -> _Driver:
    """The smallest index list that holds every possible match (and its term).

    A word with several options (synonyms, equally near corrections) has its
    matches in several lists: it drives only when no word of a single option
    can, and then through one list per option, ``branch`` saying which.
    """
    if params.brand:
        return _Driver(keys.attribute_pk("brand", slug(params.brand)))
    terms = [t for s in slots for t in _drivers(s)]
    if terms:
        term = min(terms, key=_driving_order)
        return _Driver(keys.word_pk(str(term.index_prefix)), term)
    several = [(i, found) for i, s in enumerate(slots) if len(s.options) > 1 and (found := _option_drivers(s))]
    if several:
        i, options = min(several, key=lambda c: _driving_order(c[1][0]))
        term = options[min(branch, len(options) - 1)]
        return _Driver(keys.word_pk(str(term.index_prefix)), term, i, len(options))
    if params.category:
        return _Driver(keys.attribute_pk("category", params.category.value))
    if params.species:
        return _Driver(keys.attribute_pk("species", params.species.value))
    return _Driver(keys.all_products_pk())


def _term_condition(term: Term) -> ConditionBase:
    options = [Attr("text").contains(p) for p in term.patterns()]
    return reduce(lambda a, b: a | b, options)


def _alternative_condition(alternative: Alternative) -> ConditionBase:
    return reduce(lambda a, b: a & b, [_term_condition(t) for t in alternative])


def _slot_condition(slot: Slot) -> ConditionBase:
    return reduce(lambda a, b: a | b, [_alternative_condition(alt) for alt in slot.options])


def _branch_condition(slot: Slot, branch: int) -> ConditionBase:
    """Option ``branch`` of a driving slot, and none before it: each product
    is found in the first list that holds it, once."""
    condition = _alternative_condition(slot.options[branch])
    for earlier in slot.options[:branch]:
        condition &= ~_alternative_condition(earlier)
    return condition


def query_fingerprint(params: SearchParams) -> str:
    """Identifies the query as typed; the cursor carries how it was understood."""
    return cursor.fingerprint(
        {
            "terms": [(t.stemmed, t.is_prefix) for t in parse_query(params.q or "")],
            **params.model_dump(mode="json", exclude={"q", "cursor", "limit"}),
        }
    )


def plan_search(params: SearchParams, understanding: Understanding = AS_TYPED, branch: int = 0) -> Plan:
    """How to read one page's entries. A search whose driving word has
    several options (a word alone with synonyms: "fish tank", "aquarium")
    reads one list per option, one after the other (``branch``): products
    matching the word as typed first, each product once. Only a search by
    relevance does: one in price or name order reads one list (a merge of
    lists in price order would need every list's position in the cursor)."""
    index = {Sort.relevance: None, Sort.price_asc: keys.BY_PRICE, Sort.price_desc: keys.BY_PRICE}.get(
        params.sort, keys.BY_NAME
    )
    slots = understood_slots(params.q or "", understanding, with_synonyms=not params.exact, one_list=index is not None)
    chosen = _driver(params, slots, branch)
    branch = min(max(branch, 0), chosen.branches - 1)  # a cursor's branch is checked against it after
    pk, driver = chosen.pk, chosen.term
    key_condition = Key("PK").eq(pk)
    sk_prefix = ""
    conditions: list[ConditionBase] = [
        _branch_condition(s, branch) if i == chosen.slot else _slot_condition(s) for i, s in enumerate(slots)
    ]
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
    if _patterns(slots, chosen.slot) > MAX_FILTER_PATTERNS:
        raise InvalidInput("too many words to search at once: use fewer", field="q")
    key_condition, conditions = _attribute_conditions(params, pk, index, key_condition, conditions)
    return Plan(
        pk=pk,
        index=index,
        shared_prefix=driver.key_prefix if driver is not None and driver.is_prefix else None,
        forward=params.sort != Sort.price_desc,
        key_condition=key_condition,
        filter=reduce(lambda a, b: a & b, conditions) if conditions else None,
        fingerprint=query_fingerprint(params),
        understanding=understanding,
        slots=slots,
        sk_prefix=sk_prefix,
        price_range=_price_range(params, index),
        params=params,
        branch=branch,
        branches=chosen.branches,
    )


def _patterns(slots: tuple[Slot, ...], driving: int | None) -> int:
    """How many ``contains`` tests a plan's filter makes (at most; a driving
    slot's options appear again, negated, in its later branches)."""
    count = sum(len(t.patterns()) for slot in slots for alt in slot.options for t in alt)
    if driving is not None:
        count += sum(len(t.patterns()) for alt in slots[driving].options for t in alt)
    return count


def _price_range(params: SearchParams, index: str | None) -> tuple[int, int]:
    """The prices of the entries a query reads, when its key bounds them (by price)."""
    low, high = params.min_price, params.max_price
    if index == keys.BY_PRICE and (low is not None or high is not None):
        return (low or 0, high if high is not None else cursor.MAX_NUMBER)
    return (0, cursor.MAX_NUMBER)


def _attribute_conditions(
    params: SearchParams, pk: str, index: str | None, key_condition: Any, conditions: list[ConditionBase]
) -> tuple[Any, list[ConditionBase]]:
    low, high = params.min_price, params.max_price
    if index == keys.BY_PRICE and (low is not None or high is not None):
        key_condition &= Key("price").between(*_price_range(params, index))
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
    return key_condition, conditions


def _position(entry: dict[str, Any], plan: Plan, found_any: bool = True) -> cursor.Position:
    """Where the next page starts, how the query was understood, and whether
    nothing was found yet (then a search that ends empty is relaxed)."""
    position: cursor.Position = {
        k: int(entry[k]) if k == "price" else str(entry[k]) for k in plan.position_keys - {"i", "n", "b"}
    }
    nothing_yet = int(plan.nothing_before and not found_any)
    return {**position, "i": plan.understanding.encode(), "n": nothing_yet, "b": plan.branch}


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
    """A page of products: the words as typed; if they find nothing at first
    sight, as understood (corrected, filler dropped, synonyms); if that finds
    nothing at all, with the last words dropped one by one."""
    result = SearchResult(items=[], next_cursor=None)
    if params.cursor:
        plan, start = _resume(params)
        read = _read_entries(table, plan, params.limit, start, read_budget, result)
        if plan.nothing_before:
            plan, read = _relax_while_empty(table, params, plan, read, read_budget, result)
    else:
        plan, read = _first_page(table, params, read_budget, result)
    result.understanding, result.slots = plan.understanding, plan.slots
    result.entries = read.found + read.ahead
    result.complete = read.next_position is None and read.stopped_at is None
    if read.found:
        products = get_products(table, [e["product_id"] for e in read.found])
        result.requests += 1
        result.items_read += len(read.found)
        found = [products[e["product_id"]] for e in read.found if e["product_id"] in products]
        found = [p for p in found if _still_matches(p, params)]
        result.items = rank(found, plan.slots) if params.sort == Sort.relevance else found  # else in list order
    if read.next_position is not None:
        result.next_cursor = cursor.encode(read.next_position, plan.fingerprint)
    return result


def rank(products: list[Product], slots: tuple[Slot, ...]) -> list[Product]:
    """A page's products, best match first: most query words matched (as
    typed, corrected or through a synonym), then the best fields (name >
    brand, category, species > description), then the most exact (as typed >
    stem > corrected > synonym); ties keep the list's order (the driving
    word's field, then the list's own order). Ranking uses the products the
    page fetches anyway, so it costs no read; it orders a page, not the
    whole result."""
    return sorted(products, key=lambda p: tuple(-x for x in _relevance(p, slots)))  # stable


def _fields(product: Product) -> list[tuple[list[str], int]]:
    """A product's folded words, field by field, with the field's weight."""
    return [
        (fold(value).split(), FIELD_WEIGHTS[name])
        for name, value in (
            ("name", product.name),
            ("brand", product.brand),
            ("category", product.category.value),
            ("species", product.species.value),
            ("description", product.description),
        )
    ]


def _relevance(product: Product, slots: tuple[Slot, ...]) -> tuple[int, int, int]:
    """(words matched, their fields' weights, their exactness), each summed over the words."""
    fields = _fields(product)
    matched = best_fields = exactness = 0
    for slot in slots:
        scores = [_option_score(slot, n, fields) for n in range(len(slot.options))]
        best = max((score for score in scores if score is not None), default=None)
        if best is not None:
            matched += 1
            best_fields += best[0]
            exactness += best[1]
    return matched, best_fields, exactness


def _option_score(slot: Slot, n: int, fields: list[tuple[list[str], int]]) -> tuple[int, int] | None:
    """How well one option of a word matches: (weight of its field, exactness), or None."""
    alternative = slot.options[n]
    weights = [
        max((w for found, w in fields if any(matches_term(t, x) for x in found)), default=0) for t in alternative
    ]
    if min(weights) == 0:
        return None
    if slot.corrected:
        return min(weights), 1
    if n > 0:  # a synonym
        return min(weights), 0
    as_typed = all(
        any(x.startswith(t.word) if t.is_prefix else x == t.word for found, _ in fields for x in found)
        for t in alternative
    )
    return min(weights), 3 if as_typed else 2


def _resume(params: SearchParams) -> tuple[Plan, dict[str, Any]]:
    typed = plan_search(params)
    loose = {name: _loose_rule(name) for name in typed.position_keys}
    start = dict(cursor.decode(params.cursor or "", typed.fingerprint, loose))
    understanding = Understanding.decode(start["i"], {t.word for t in parse_query(params.q or "")})
    branch = int(start["b"])
    plan = replace(plan_search(params, understanding, branch), nothing_before=start["n"] == 1)
    rules = plan.cursor_rules()
    if set(start) != set(rules) or not all(rules[name](value) for name, value in start.items()):
        raise InvalidInput("cursor belongs to a different query; start again without it", field="cursor")
    del start["i"], start["n"], start["b"]
    return plan, start


def _loose_rule(name: str) -> cursor.Rule:
    """What any position can be, before the cursor says how its query was understood."""
    if name == "n":
        return cursor.number_between(0, 1)
    if name == "b":
        return cursor.number_between(0, MAX_CORRECTIONS + max(map(len, synonyms().values()), default=0))
    if name == "i":
        return _understanding_text
    return cursor.number_between() if name == "price" else cursor.key_text()


def _first_page(table: Table, params: SearchParams, read_budget: int, result: SearchResult) -> tuple[Plan, _Read]:
    plan = plan_search(params)
    read = _read_entries(
        table, plan, params.limit, None, read_budget, result, probe=bool(plan.slots) and not params.exact
    )
    if read.found or not plan.slots or params.exact:
        return plan, read
    # Nothing at first sight: are all the words known to the catalog?
    letters = {w[0] for s in plan.slots for t in s.options[0] for w in [t.word, *_synonym_words(t)]}
    vocabulary = get_vocabulary(table, letters)
    result.requests += 1
    result.items_read += len(letters)
    understanding = understand(params.q or "", vocabulary)
    if understanding == AS_TYPED and read.stopped_at is not None:
        read = _read_entries(table, read.plan or plan, params.limit, read.stopped_at, read_budget, result)
    elif understanding != AS_TYPED:
        plan = plan_search(params, understanding)
        read = _read_entries(table, plan, params.limit, None, read_budget, result) if plan.slots else read
    return _relax_while_empty(table, params, plan, read, read_budget, result)


def _relax_while_empty(
    table: Table, params: SearchParams, plan: Plan, read: _Read, read_budget: int, result: SearchResult
) -> tuple[Plan, _Read]:
    """Drop the last word while a search ends having found nothing at all.

    Only an ended search is relaxed: one the read budget cut short goes on, on
    the next page, with the same words (the cursor says nothing was found
    yet), so the answer never depends on the budget.
    """
    for _ in range(MAX_RELAXATIONS):
        ended_empty = not read.found and read.next_position is None and read.stopped_at is None
        if not ended_empty or len(plan.slots) < 2 or result.items_read >= read_budget:
            break
        fewer = plan_search(params, relaxed(plan.understanding, plan.slots))
        if not fewer.slots:  # "cat cat": dropping the last word dropped them all
            break
        plan = fewer
        read = _read_entries(table, plan, params.limit, None, read_budget, result)
    return plan, read


def _read_entries(
    table: Table,
    plan: Plan,
    limit: int,
    start: dict[str, Any] | None,
    read_budget: int,
    result: SearchResult,
    probe: bool = False,
) -> _Read:
    """Query the plan's list for ``limit`` entries that pass the filter, and
    one more, which says whether a next page exists: a full last page carries
    no cursor. Reading stops early only when the list ends or the read budget
    is spent; then the page may be short (or, if the whole budget held no
    match, empty) and the cursor resumes after the last entry read.
    A ``probe`` stops after its first DynamoDB page if that held no match.
    A plan of several lists (branches) goes on to the next when one ends.
    """
    found: list[dict[str, Any]] = []
    read_by: list[Plan] = []  # the branch each entry of ``found`` was read in
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
        kept = [entry for entry in response["Items"] if not _shadowed(entry, plan)]
        found += kept
        read_by += [plan] * len(kept)
        start = response.get("LastEvaluatedKey")
        if len(found) > limit:
            return _Read(found[:limit], _position(found[limit - 1], read_by[limit - 1]), ahead=found[limit:])
        if start is None:
            following = plan.next_branch()
            if following is None:
                return _Read(found, None)
            plan, last_batch = following, 0
            continue
        if probe and not found:
            return _Read([], None, stopped_at=start, plan=plan)
        if result.items_read >= read_budget:
            return _Read(found, _position(start, plan, found_any=bool(found)))
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


# -- the answer explains itself -------------------------------------------------


def result_page(result: SearchResult, params: SearchParams) -> ProductPage:
    """The response: products with where they matched, the query as understood, facets."""
    terms = [(slot.typed, term) for slot in result.slots for alt in slot.options for term in alt]
    return ProductPage(
        items=[ProductHit(**p.model_dump(), matches=_matches(p, terms)) for p in result.items],
        next_cursor=result.next_cursor,
        query=_query_understood(result) if params.q is not None else None,
        facets=facets(result.entries, complete=result.complete),
    )


def _matches(product: Product, terms: list[tuple[str, Term]]) -> Matches:
    return Matches(
        name=[Highlight(word=w, start=a, end=b) for w, a, b in highlights(product.name, terms)],
        description=[Highlight(word=w, start=a, end=b) for w, a, b in highlights(product.description, terms)],
    )


def _query_understood(result: SearchResult) -> QueryUnderstood:
    understanding = result.understanding
    shown = {slot.typed: " ".join(t.word for t in _shown_option(slot, result.items)) for slot in result.slots}
    return QueryUnderstood(
        text=" ".join(shown[slot.typed] for slot in result.slots),
        corrected={typed: shown.get(typed, fix.split("|")[0]) for typed, fix in understanding.corrected},
        ignored=list(understanding.ignored),
        synonyms=understanding.synonyms or any(len(s.options) > 1 and not s.corrected for s in result.slots),
    )


def _shown_option(slot: Slot, items: list[Product]) -> Alternative:
    """What a word is shown as: as typed, or of its equally near corrections
    the one most products of the page match ("gwass hay": grass)."""
    if not slot.corrected or len(slot.options) == 1:
        return slot.options[0]
    texts = [[x for found, _ in _fields(p) for x in found] for p in items]

    def matched(alternative: Alternative) -> tuple[int, int]:
        hits = [all(any(matches_term(t, x) for x in text) for t in alternative) for text in texts]
        return sum(hits), -hits.index(True) if True in hits else -len(hits)

    # The most products; on equal counts, the best ranked one's; then the nearest by the tie rules.
    return max(slot.options, key=matched)


def facets(entries: list[dict[str, Any]], complete: bool) -> Facets:
    """Counts per species, category and brand over the matching entries read.

    They cost no extra read: a page reads its items and one match more (the
    look-ahead); when more matches follow, the counts are marked approximate.
    """
    products = {e["product_id"]: e for e in entries}.values()

    def count(name: str, top: int | None = None) -> list[FacetCount]:
        tally = Counter(str(e[name]) for e in products)
        ranked = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [FacetCount(value=v, count=c) for v, c in ranked]

    return Facets(
        species=count("species"),
        category=count("category"),
        brand=count("brand", TOP_BRANDS),
        counted=len(products),
        approximate=not complete,
    )
