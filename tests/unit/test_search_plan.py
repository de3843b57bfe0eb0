import pytest
from pydantic import ValidationError

from chalicelib import keys
from chalicelib.models import SearchParams
from chalicelib.search import plan_search


def plan(**params: object):  # type: ignore[no-untyped-def]
    return plan_search(SearchParams.model_validate(params))


def test_no_filter_reads_the_list_of_all_products() -> None:
    assert plan().pk == keys.all_products_pk()


def test_a_brand_is_the_smallest_list() -> None:
    assert plan(q="salmon", brand="Barkwell").pk == keys.attribute_pk("brand", "barkwell")


def test_whole_words_drive_before_the_word_being_typed() -> None:
    assert plan(q="salmon tr").pk == keys.word_pk("sal")
    assert plan(q="bowl salmon").pk == keys.word_pk("bow")  # salmon may still be typed
    assert plan(q="bowl salmon ").pk == keys.word_pk("sal")  # longer whole word
    assert plan(q="dog salmon").pk == keys.word_pk("sal")  # "dog" has synonyms: it matches them, "salmon" drives


def test_a_two_letter_prefix_falls_back_to_attributes() -> None:
    assert plan(q="sa", category="food").pk == keys.attribute_pk("category", "food")


def test_sort_picks_the_index() -> None:
    assert plan(sort="price_asc").index == keys.BY_PRICE
    assert plan(sort="price_desc").forward is False
    assert plan(sort="name").index == keys.BY_NAME
    assert plan().index is None


def test_price_range_is_a_key_condition_when_sorted_by_price() -> None:
    by_price = plan(sort="price_asc", min_price=100, max_price=500)
    assert by_price.filter is None
    assert plan(min_price=100).filter is not None


def test_every_parameter_that_changes_results_changes_the_fingerprint() -> None:
    base = plan(q="dog").fingerprint
    assert plan(q="cat").fingerprint != base
    assert plan(q="dog", in_stock=True).fingerprint != base
    assert plan(q="dog", sort="name").fingerprint != base
    assert plan(q="dog", limit=5).fingerprint == base


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"species": "dragon"}, "species"),
        ({"min_price": "abc"}, "min_price"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"sort": "random"}, "sort"),
        ({"min_price": "500", "max_price": "100"}, "max_price"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_name_the_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        SearchParams.model_validate(params)
    assert err.value.errors()[0]["loc"] == (field,)


def test_a_whole_word_reads_the_list_of_its_stem() -> None:
    assert plan(q="dry ").pk == keys.word_pk("dri")
    assert plan(q="dry food").pk == keys.word_pk("dri")  # food is still being typed
    assert plan(q="shy ", sort="name").pk == keys.word_pk("shi")


def test_a_stop_word_being_typed_reads_its_own_list_not_the_catalog() -> None:
    typed = plan(q="for")
    assert typed.pk == keys.word_pk("for") and typed.filter is not None
    assert plan(q="for ").pk == keys.all_products_pk()  # finished: dropped


def test_a_single_letter_being_typed_filters_whatever_list_drives() -> None:
    assert plan(q="f").pk == keys.all_products_pk() and plan(q="f").filter is not None
    assert plan(q="f", species="cat").pk == keys.attribute_pk("species", "cat")
