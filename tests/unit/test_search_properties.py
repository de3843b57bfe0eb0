"""Properties of indexing and planning together, over arbitrary product text:
whatever a shopper types from a product's text, the list the planner reads
holds an entry of that product, and the filter lets it through."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import ConditionExpressionBuilder
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.catalog import index_entries
from chalicelib.models import Product, SearchParams
from chalicelib.search import Plan, plan_search
from chalicelib.text import fold, parse_query, stem, words

bounded = settings(max_examples=150, deadline=None, derandomize=True, database=None)

# Words whose stem starts differently, stop words, accents, digits, and noise.
TRICKY = ["dry", "any", "aging", "fly", "flying", "shy", "ups", "puppies", "for", "the", "Purée", "12kg", "x"]
word = st.one_of(
    st.sampled_from(TRICKY), st.text(alphabet="abcdefghijklmnopqrstuvwxyzéñ0123456789", min_size=1, max_size=9)
)
separator = st.sampled_from([" ", "-", ", ", " & ", "'s "])


@st.composite
def texts(draw: Any, min_words: int, max_words: int) -> str:
    found = draw(st.lists(word, min_size=min_words, max_size=max_words))
    return "".join(w + draw(separator) for w in found).strip(" -,&'")


@st.composite
def products(draw: Any) -> Product:
    return Product.model_validate(
        {
            "id": "prop-test-product",
            "name": draw(texts(1, 5)).ljust(3, "x"),
            "description": draw(texts(1, 12)) or "x",
            "brand": draw(texts(1, 2)) or "x",
            "species": draw(st.sampled_from(["dog", "small_animal", "reptile"])),
            "category": draw(st.sampled_from(["food", "toys"])),
            "price_cents": 100,
            "stock": 1,
        }
    )


def product_words(product: Product) -> list[str]:
    return words(
        " ".join(
            [product.name, product.brand, product.category, product.species.replace("_", " "), product.description]
        )
    )


def key_values(plan: Plan) -> list[str]:
    built = ConditionExpressionBuilder().build_expression(plan.key_condition, is_key_condition=True)
    return list(built.attribute_value_placeholders.values())


def reached(product: Product, q: str) -> bool:
    """Would a search for ``q`` (relevance order) read an entry of ``product`` and keep it?"""
    plan = plan_search(SearchParams(q=q))
    pk, *sk_prefix = key_values(plan)
    terms = parse_query(q)
    for entry in index_entries(product):
        in_range = entry["PK"] == pk and all(entry["SK"].startswith(p) for p in sk_prefix)
        if in_range and all(any(p in entry["text"] for p in t.patterns()) for t in terms):
            return True
    return False


@bounded
@given(products())
def test_every_word_typed_whole_reads_the_list_where_its_stem_is_indexed(product: Product) -> None:
    for w in product_words(product):
        (term,) = parse_query(w + " ")
        plan = plan_search(SearchParams(q=w + " "))
        assert key_values(plan) == [plan.pk, term.key_prefix + "#"]
        assert reached(product, w + " "), w


@bounded
@given(products())
def test_every_prefix_of_every_word_typed_reaches_the_product(product: Product) -> None:
    for w in product_words(product):
        for end in range(1, len(w) + 1):
            assert reached(product, w[:end]), w[:end]


@bounded
@given(products(), word)
def test_a_typed_prefix_that_starts_none_of_the_products_terms_does_not_reach_it(product: Product, typed: str) -> None:
    probe = fold(typed).replace(" ", "")
    if not probe:
        return
    terms = index_entries(product)[0]["text"].split()
    if not any(t.startswith(probe) or t.startswith(stem(probe)) for t in terms):
        assert not reached(product, probe)
