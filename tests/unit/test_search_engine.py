"""The search engine over an index built from data/products.json or a few
hand-made products into pytest's tmp_path, checked against brute force over
the same products: what matches, in what order, how facets count, how a
query is understood (chalicelib/search/query.py, service.py).

The table is an in-memory stand-in with the one call the engine makes of it
(BatchGetItem, for the products of a page)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tantivy

from chalicelib.catalog.product import Product
from chalicelib.platform import keys
from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.folding import fold
from chalicelib.search.index import SearchIndex, build
from chalicelib.search.language import name_key, slug, stem, words
from chalicelib.search.results import ProductPage, SearchParams
from chalicelib.search.service import PRICE_BANDS, SearchResult, result_page, search_products

SEED = Path(__file__).resolve().parents[2] / "data" / "products.json"


class InMemoryTable:
    """What the engine reads of the table: ``meta.client.batch_get_item`` over
    product items held in memory, answered in an order of its own (DynamoDB
    does not keep the order of the keys)."""

    name = "petstore-unit"

    def __init__(self, products: Iterable[Product]) -> None:
        self.items = {
            p.id: {**keys.product_key(p.id), **p.model_dump(mode="json", exclude_none=True)} for p in products
        }
        self.meta = SimpleNamespace(client=self)
        self.batch_gets = 0

    def change(self, product_id: str, **fields: Any) -> None:
        """A write the index has not heard of yet."""
        self.items[product_id] = {**self.items[product_id], **fields}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.batch_gets += 1
        wanted = RequestItems[self.name]["Keys"]
        assert len(wanted) <= 100, "BatchGetItem takes at most 100 keys"
        found = [
            self.items[k["PK"].removeprefix("PRODUCT#")]
            for k in wanted
            if k["PK"].removeprefix("PRODUCT#") in self.items
        ]
        return {"Responses": {self.name: list(reversed(found))}, "UnprocessedKeys": {}}


def open_index(directory: Path, products: list[Product]) -> SearchIndex:
    directory.mkdir(parents=True, exist_ok=True)
    assert build(str(directory), products) == len(products)
    return SearchIndex(tantivy.Index.open(str(directory)))


def made(name: str, description: str = "Made for a test.", **fields: Any) -> Product:
    return Product.model_validate(
        {
            "id": slug(name)[:40] + "-1",
            "name": name,
            "description": description,
            "species": "bird",
            "category": "accessories",
            "brand": "Featherly",
            "price_cents": 1500,
            "stock": 3,
            **fields,
        }
    )


@pytest.fixture(scope="module")
def catalog() -> list[Product]:
    return [Product.model_validate(p) for p in json.loads(SEED.read_text())]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, catalog: list[Product]) -> SearchIndex:
    return open_index(tmp_path_factory.mktemp("seed-index"), catalog)


@pytest.fixture()
def table(catalog: list[Product]) -> InMemoryTable:
    return InMemoryTable(catalog)


Search = Callable[..., SearchResult]


@pytest.fixture()
def search(table: InMemoryTable, index: SearchIndex) -> Search:
    def run(**params: Any) -> SearchResult:
        return search_products(table, index, SearchParams(**params))

    return run


def answer(table: Any, index: SearchIndex, **params: Any) -> ProductPage:
    wanted = SearchParams(**params)
    return result_page(search_products(table, index, wanted), wanted)


def walk(search: Search, cursor: str | None = None, **params: Any) -> list[Product]:
    """Every product of a search, following the cursor to the end."""
    found: list[Product] = []
    for _ in range(500):
        result = search(**params, cursor=cursor)
        found += result.items
        cursor = result.next_cursor
        if cursor is None:
            return found
    raise AssertionError("the cursor never ended")


# -- brute force over the products --------------------------------------------------------


def product_words(product: Product) -> set[str]:
    fields = (product.name, product.brand, product.category.value, product.species.value.replace("_", " "))
    return set(words(" ".join([*fields, product.description])))


def holds(product: Product, word: str, typing: bool = False) -> bool:
    """Whether the product has the word (as typed or by its stem; while typed, a word it starts)."""
    return any(w == word or stem(w) == stem(word) or (typing and w.startswith(word)) for w in product_words(product))


def matches(product: Product, q: str, filters: dict[str, Any], but: str = "") -> bool:
    """An exact search by brute force: every word, every filter (but one)."""
    typed = q.split()
    if not all(holds(product, w, typing=i == len(typed) - 1 and not q.endswith(" ")) for i, w in enumerate(typed)):
        return False
    checks = {
        "species": lambda v: product.species.value == v,
        "category": lambda v: product.category.value == v,
        "brand": lambda v: slug(product.brand) == slug(v),
        "min_price": lambda v: product.price_cents >= v,
        "max_price": lambda v: product.price_cents <= v,
        "in_stock": lambda v: (product.stock > 0) == v,
    }
    skipped = {"min_price", "max_price"} if but == "price" else {but}
    return all(checks[k](v) for k, v in filters.items() if k not in skipped)


def brute_facets(catalog: list[Product], q: str, filters: dict[str, Any]) -> dict[str, Any]:
    values = {
        "species": lambda p: p.species.value,
        "category": lambda p: p.category.value,
        "brand": lambda p: slug(p.brand),
    }
    counted: dict[str, Any] = {}
    for name, value in values.items():
        counts = Counter(value(p) for p in catalog if matches(p, q, filters, but=name))
        counted[name] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    priced = [p.price_cents for p in catalog if matches(p, q, filters, but="price")]
    counted["price"] = [sum(lo <= c and (hi is None or c < hi) for c in priced) for lo, hi in PRICE_BANDS]
    counted["counted"] = sum(matches(p, q, filters) for p in catalog)
    return counted


def facets_of(result: SearchResult) -> dict[str, Any]:
    f = result.facets
    return {
        "species": [(c.value, c.count) for c in f.species],
        "category": [(c.value, c.count) for c in f.category],
        "brand": [(c.value, c.count) for c in f.brand],
        "price": [band.count for band in f.price],
        "counted": f.counted,
    }


# -- facets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "filters"),
    [
        ("", {}),
        ("dog ", {}),
        ("food ", {"species": "cat"}),
        ("toy ", {"species": "dog", "in_stock": True}),
        ("", {"category": "treats", "min_price": 1000, "max_price": 2499}),
        ("salmon ", {"brand": "Barkwell"}),
        ("bed", {"species": "dog", "category": "beds", "max_price": 5000}),
        ("", {"in_stock": False}),
        ("chicken treats ", {"species": "dog", "min_price": 500}),
    ],
)
def test_facets_equal_brute_force_counts_with_every_filter_but_their_own(
    search: Search, catalog: list[Product], q: str, filters: dict[str, Any]
) -> None:
    result = search(q=q, exact=True, limit=1, **filters)
    assert facets_of(result) == brute_facets(catalog, q, filters)
    assert result.facets.counted == result.total


def test_a_chosen_species_still_lists_the_others_with_what_choosing_them_would_find(search: Search) -> None:
    # GIVEN a search narrowed to cats
    chosen = search(q="toy ", species="cat", limit=1)
    # THEN the species facet is the search's without the species filter
    assert chosen.facets.species == search(q="toy ", limit=1).facets.species
    assert len(chosen.facets.species) > 1
    # AND each count is what choosing that species finds
    for facet in chosen.facets.species:
        assert search(q="toy ", species=facet.value, limit=1).total == facet.count, facet.value
    # AND the other facets count only the cats
    assert sum(c.count for c in chosen.facets.category) == chosen.total


def test_price_bands_count_a_price_on_a_band_s_lower_bound_in_that_band(tmp_path: Path) -> None:
    prices = [999, 1000, 2499, 2500, 10000]
    products = [made(f"Perch {n}", price_cents=price) for n, price in enumerate(prices)]
    index = open_index(tmp_path, products)
    bands = search_products(InMemoryTable(products), index, SearchParams()).facets.price
    assert [(b.min_price, b.max_price, b.count) for b in bands] == [
        (0, 999, 1),
        (1000, 2499, 2),
        (2500, 4999, 1),
        (5000, 9999, 0),
        (10000, None, 1),
    ]


def test_a_max_price_of_zero_finds_nothing_and_counts_nothing(search: Search) -> None:
    result = search(max_price=0, limit=5)
    assert result.items == [] and result.next_cursor is None
    assert result.facets.counted == 0


# -- ranking -----------------------------------------------------------------------------

RANKED_QUERIES = [
    "guinea pig ",
    "heat lamp ",
    "seed mix ",
    "bearded dragon ",
    "dried mix ",
    "chew sticks ",
    "glass tank ",
]


@pytest.mark.parametrize("q", [*RANKED_QUERIES, "dog bed ", "cat toy ", "salmon", "puppy food "])
def test_page_one_of_a_search_holds_the_best_ranked_products_of_the_whole_result(search: Search, q: str) -> None:
    whole = [p.id for p in search(q=q, limit=100).items]
    assert len(whole) > 5 or q in RANKED_QUERIES
    assert [p.id for p in search(q=q, limit=5).items] == whole[:5]
    assert [p.id for p in walk(search, q=q, limit=2)] == whole  # each page continues the ranking


@pytest.mark.parametrize("q", RANKED_QUERIES)
def test_a_product_with_every_word_in_its_name_outranks_those_with_them_only_in_the_description(
    search: Search, q: str
) -> None:
    ranked = search(q=q, limit=100).items
    typed = [stem(w) for w in q.split()]

    def stems(*texts: str) -> set[str]:
        return {stem(w) for w in words(" ".join(texts))}

    in_name = [i for i, p in enumerate(ranked) if all(t in stems(p.name) for t in typed)]
    attributes = [(p, stems(p.name, p.brand, p.category.value, p.species.value.replace("_", " "))) for p in ranked]
    described = [i for i, (_, found) in enumerate(attributes) if not any(t in found for t in typed)]
    assert in_name and described, "the query no longer tells the two apart"
    assert max(in_name) < min(described), [p.name for p in ranked]


# -- exact ---------------------------------------------------------------------------------


def test_exact_never_relaxes_a_query_with_a_word_the_catalog_does_not_know(
    table: InMemoryTable, index: SearchIndex
) -> None:
    forgiving = answer(table, index, q="salmon zzyzx ")
    assert forgiving.items and forgiving.query is not None and forgiving.query.ignored == ["zzyzx"]

    exact = answer(table, index, q="salmon zzyzx ", exact=True)
    assert exact.items == [] and exact.next_cursor is None and exact.facets.counted == 0
    assert exact.query is not None
    assert (exact.query.ignored, exact.query.corrected, exact.query.synonyms) == ([], {}, False)


@pytest.mark.parametrize("q", ["salmn treats ", "best salmon ", "kitten ", "catfood "])
def test_exact_searches_only_the_words_as_typed(search: Search, catalog: list[Product], q: str) -> None:
    result = search(q=q, exact=True, limit=100)
    assert {p.id for p in result.items} == {p.id for p in catalog if matches(p, q, {})}
    assert result.understanding.ignored == () and result.understanding.corrected == {}


# -- relaxation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "kept", "left_out"),
    [
        ("food for my old dog", {"food", "dog"}, {"old"}),
        ("stop my cat getting hairballs", {"cat", "hairballs"}, {"stop"}),
        ("small cat bowl", {"cat", "bowl"}, {"small"}),
    ],
)
def test_relaxing_leaves_out_the_least_telling_words_and_keeps_the_last(
    search: Search, q: str, kept: set[str], left_out: set[str]
) -> None:
    result = search(q=q, limit=100)
    searched = set(result.understanding.text.split())
    assert kept <= searched and not left_out & searched
    assert left_out <= set(result.understanding.ignored)
    assert result.items
    for product in result.items:
        assert all(holds(product, w, typing=w == q.split()[-1]) for w in kept), product.name


@pytest.fixture(scope="module")
def perches(tmp_path_factory: pytest.TempPathFactory) -> tuple[InMemoryTable, SearchIndex]:
    """'wooden' is in three products, 'shiny' in two: no product is both."""
    products = [
        made("Shiny Perch"),
        made("Wooden Perch"),
        made("Wooden Ladder"),
        made("Wooden Swing"),
        made("Shiny Mirror"),
        made("Cuttlebone for Budgies", species="bird", category="health"),
        made("Zebrafish Flakes", species="fish", category="food"),
    ]
    return InMemoryTable(products), open_index(tmp_path_factory.mktemp("perches"), products)


@pytest.mark.parametrize(
    ("q", "left_out", "found"),
    [
        ("wooden shiny perch ", ["wooden"], ["Shiny Perch"]),  # the most common word goes first
        ("shiny wooden ", ["shiny"], ["Wooden Ladder", "Wooden Perch", "Wooden Swing"]),  # never the last
        ("mirror wooden ladder ", ["mirror"], ["Wooden Ladder"]),
    ],
)
def test_relaxing_leaves_out_the_most_common_word_first_and_the_last_word_only_when_none_else_can_go(
    perches: tuple[InMemoryTable, SearchIndex], q: str, left_out: list[str], found: list[str]
) -> None:
    table, index = perches
    result = search_products(table, index, SearchParams(q=q))
    assert list(result.understanding.ignored) == left_out
    assert sorted(p.name for p in result.items) == found


# -- compounds, typos, the word being typed -------------------------------------------------


@pytest.mark.parametrize(
    ("q", "meant", "first"),
    [
        ("catfood ", "cat food", "Cat Food"),
        ("scratchingpost ", "scratching post", "Sisal Scratching Post, 80 cm"),
    ],
)
def test_a_word_the_catalog_writes_as_two_finds_them(search: Search, q: str, meant: str, first: str) -> None:
    result = search(q=q, limit=100)
    assert result.understanding.corrected == {q.strip(): meant}
    assert result.items and first in result.items[0].name
    assert all(all(holds(p, w) for w in meant.split()) for p in result.items)


def test_two_words_the_catalog_writes_as_one_find_it(perches: tuple[InMemoryTable, SearchIndex]) -> None:
    table, index = perches
    result = search_products(table, index, SearchParams(q="cuttle bone "))
    assert [p.name for p in result.items] == ["Cuttlebone for Budgies"]
    assert result.understanding.ignored == () and result.understanding.text == "cuttlebone"


@pytest.mark.parametrize(
    ("q", "corrected", "wanted"),
    [
        ("salmn treats ", {"salmn": "salmon"}, "Salmon Skin Rolls, 250 g"),
        ("gwass hay ", {"gwass": "grass"}, "Orchard Grass Hay, 1 kg"),  # glass is as near: hay decides
        ("orthopedik memory ", {"orthopedik": "orthopedic"}, "Orthopedic Memory Foam Dog Bed, Large"),
        ("memroy", {"memroy": "memory"}, "Orthopedic Memory Foam Dog Bed, Large"),  # while typed
    ],
)
def test_a_mistyped_word_is_corrected_to_a_word_of_the_index(
    table: InMemoryTable, index: SearchIndex, q: str, corrected: dict[str, str], wanted: str
) -> None:
    page = answer(table, index, q=q, limit=100)
    assert page.query is not None and page.query.corrected == corrected and page.query.ignored == []
    names = [p.name for p in page.items]
    assert wanted in names
    fixed = next(iter(corrected.values()))
    assert all(fixed in fold(p.name + " " + p.description) for p in page.items)


def test_corrections_come_from_the_words_of_the_index_searched(
    search: Search, perches: tuple[InMemoryTable, SearchIndex]
) -> None:
    table, small = perches
    result = search_products(table, small, SearchParams(q="zebrafsh "))
    assert result.understanding.corrected == {"zebrafsh": "zebrafish"}
    assert [p.name for p in result.items] == ["Zebrafish Flakes"]
    assert "zebrafsh" not in search(q="zebrafsh ").understanding.corrected  # the seed has no zebrafish


def test_the_word_being_typed_finds_the_words_it_starts(search: Search, catalog: list[Product]) -> None:
    found = {p.id for p in walk(search, q="pupp", limit=100)}
    assert found == {p.id for p in catalog if matches(p, "pupp", {})} and found
    assert not {p.id for p in walk(search, q="pupp ", limit=100)}  # finished, "pupp" is no word


@pytest.mark.parametrize("typed", ["for", "z", "sa", "co", "s"])
def test_a_word_being_typed_finds_every_product_with_a_word_it_starts_however_many_words_it_starts(
    search: Search, catalog: list[Product], typed: str
) -> None:
    found = {p.id for p in walk(search, q=typed, limit=100)}
    missed = [p.name for p in catalog if matches(p, typed, {}) and p.id not in found]
    assert not missed and found


# -- sorting and cursors -------------------------------------------------------------------

SORT_KEYS: dict[str, Callable[[Product], Any]] = {
    "price_asc": lambda p: p.price_cents,
    "price_desc": lambda p: -p.price_cents,
    "name": lambda p: fold(p.name),
}


@pytest.mark.parametrize("q", ["", "dog ", "salmon", "cat toy ", "salmn "])
@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_sorting_orders_the_whole_result_page_after_page(search: Search, q: str, sort: str) -> None:
    whole = search(q=q, sort=sort, limit=100)
    if whole.next_cursor:
        whole.items += walk(search, q=q, sort=sort, limit=100, cursor=whole.next_cursor)
    paged = walk(search, q=q, sort=sort, limit=4)
    assert len(paged) > 4
    assert [p.id for p in paged] == [p.id for p in whole.items]  # none repeated, none missing
    key = SORT_KEYS[sort]
    assert [key(p) for p in paged] == sorted(key(p) for p in paged)


@pytest.fixture(scope="module")
def sold(catalog: list[Product]) -> dict[str, int]:
    """Units sold per product: many ties (0 to 4), so the order after units shows."""
    return {p.id: (i * 7) % 5 for i, p in enumerate(catalog)}


@pytest.fixture(scope="module")
def selling(tmp_path_factory: pytest.TempPathFactory, catalog: list[Product], sold: dict[str, int]) -> Search:
    """A search over the seed indexed with units sold."""
    directory = tmp_path_factory.mktemp("sold-index")
    assert build(str(directory), catalog, sold) == len(catalog)
    index, table = SearchIndex(tantivy.Index.open(str(directory))), InMemoryTable(catalog)
    return lambda **params: search_products(table, index, SearchParams(**params))


@pytest.mark.parametrize("q", ["", "dog ", "salmn ", "cat toy "])
def test_best_selling_orders_the_whole_result_by_units_sold_then_name_page_after_page(
    selling: Search, sold: dict[str, int], catalog: list[Product], q: str
) -> None:
    paged = walk(selling, q=q, sort="best_selling", limit=7)
    order = [(-sold[p.id], name_key(p.name), p.id) for p in paged]
    assert order == sorted(order) and len(set(order)) == len(order) > 7
    assert {p.id for p in paged} == {p.id for p in walk(selling, q=q, limit=100)}  # the same result, reordered


def test_without_words_relevance_is_best_selling_and_with_words_it_is_not(selling: Search) -> None:
    assert [p.id for p in walk(selling, limit=50)] == [p.id for p in walk(selling, sort="best_selling", limit=50)]
    assert [p.id for p in walk(selling, q="the ", limit=50)] == [
        p.id for p in walk(selling, sort="best_selling", limit=50)
    ]
    by_relevance = [p.id for p in walk(selling, q="dog ", limit=100)]
    assert by_relevance != [p.id for p in walk(selling, q="dog ", sort="best_selling", limit=100)]


def test_an_index_without_units_sold_sorts_best_selling_by_name(search: Search) -> None:
    paged = walk(search, sort="best_selling", limit=9)
    assert [p.id for p in paged] == [p.id for p in walk(search, sort="name", limit=9)]


@pytest.mark.parametrize(
    "other",
    [
        {"q": "filter "},
        {"q": "fitler ", "sort": "price_asc"},
        {"q": "fitler ", "exact": True},
        {"q": "fitler ", "species": "fish"},
        {"q": "fitler"},  # the last word now being typed
    ],
)
def test_a_cursor_is_refused_for_another_query(search: Search, other: dict[str, Any]) -> None:
    first = search(q="fitler ", limit=2)
    assert first.next_cursor
    with pytest.raises(InvalidInput) as refused:
        search(**other, limit=2, cursor=first.next_cursor)
    assert refused.value.field == "cursor"
    assert search(q="fitler ", limit=3, cursor=first.next_cursor).items  # another page size is the same query


# -- the page comes from the table -----------------------------------------------------------


def test_a_page_shows_the_price_and_stock_the_table_has_now(table: InMemoryTable, index: SearchIndex) -> None:
    ranked = search_products(table, index, SearchParams(q="salmon ", limit=5)).items
    # WHEN the table's price and stock change before the index hears of it
    table.change(ranked[0].id, price_cents=4321, stock=99)
    table.batch_gets = 0
    again = search_products(table, index, SearchParams(q="salmon ", limit=5))
    # THEN the page shows them, in the index's order, from one BatchGetItem
    assert [p.id for p in again.items] == [p.id for p in ranked]
    assert (again.items[0].price_cents, again.items[0].stock) == (4321, 99)
    assert table.batch_gets == 1


def test_a_product_that_left_the_filters_since_the_index_heard_of_it_is_left_off_its_page(
    table: InMemoryTable, index: SearchIndex
) -> None:
    ranked = search_products(table, index, SearchParams(q="salmon ", in_stock=True, max_price=5000, limit=5)).items
    table.change(ranked[0].id, stock=0)
    table.change(ranked[1].id, price_cents=9999)
    again = search_products(table, index, SearchParams(q="salmon ", in_stock=True, max_price=5000, limit=5))
    assert [p.id for p in again.items] == [p.id for p in ranked[2:]]


def test_a_search_that_finds_nothing_reads_nothing_from_the_table(table: InMemoryTable, index: SearchIndex) -> None:
    result = search_products(table, index, SearchParams(q="salmon ", species="reptile", exact=True))
    assert result.items == [] and table.batch_gets == 0


def test_matches_are_offsets_of_the_query_words_in_name_and_description(
    table: InMemoryTable, index: SearchIndex
) -> None:
    page = answer(table, index, q="salmn treats ")
    assert page.items
    for hit in page.items:
        assert hit.matches.name + hit.matches.description
        for span in hit.matches.name:
            assert fold(hit.name[span.start : span.end]) in {"salmon", "treats", "treat"}
            assert span.word in {"salmn", "treats"}
        for span in hit.matches.description:
            assert stem(fold(hit.description[span.start : span.end])) in {"salmon", "treat"}


def test_a_stop_word_typed_last_ranks_the_words_it_starts_first_but_does_not_narrow(
    table: InMemoryTable, index: SearchIndex
) -> None:
    # GIVEN "dog" alone, and "dog for" with "for" still being typed
    alone = answer(table, index, q="dog ", limit=100)
    typing = answer(table, index, q="dog for", limit=100)
    # THEN "for" narrows nothing: the same products, as many
    assert typing.facets.counted == alone.facets.counted
    # AND of the products named "dog ...", those whose name has a word starting
    # "for" (not "for" itself, a stop word) come before the others
    named = [words(p.name) for p in typing.items if "dog" in words(p.name)]
    starts = [any(w.startswith("for") and w != "for" for w in name) for name in named]
    assert any(starts) and starts == sorted(starts, reverse=True)


def test_a_query_of_unknown_words_only_finds_nothing_and_counts_nothing(
    table: InMemoryTable, index: SearchIndex
) -> None:
    found = answer(table, index, q="qqqqzz zzyzxq ", species="dog")
    assert found.items == [] and found.facets.counted == 0
    assert found.facets.species == [] and found.facets.brand == []
    assert all(band.count == 0 for band in found.facets.price)
