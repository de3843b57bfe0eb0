"""How a query is understood: typos corrected, filler and unknown words
dropped, synonyms, words relaxed; and how the answer explains itself."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import keys
from chalicelib.errors import InvalidInput
from chalicelib.search import AS_TYPED, Understanding, facets, relaxed, understand, understood_slots
from chalicelib.text import correction, corrections, fold, highlights, known, osa_distance, parse_query, words

VOCABULARY = {"salmon", "salon", "salt", "treats", "orthopedic", "dog", "dogs", "food", "bed", "aquarium", "filter"}
bounded = settings(max_examples=200, deadline=None, derandomize=True, database=None)


def term(q: str):  # type: ignore[no-untyped-def]
    return parse_query(q)[0]


def test_a_swap_of_two_neighbours_counts_as_one_edit() -> None:
    assert osa_distance("slamon", "salmon") == 1
    assert osa_distance("salmn", "salmon") == 1
    assert osa_distance("samlno", "salmon") == 2


@given(st.text(alphabet="abcde", max_size=7), st.text(alphabet="abcde", max_size=7))
@bounded
def test_the_distance_is_symmetric_and_zero_only_for_equal_words(a: str, b: str) -> None:
    assert osa_distance(a, b) == osa_distance(b, a)
    assert (osa_distance(a, b) == 0) == (a == b)
    assert osa_distance(a, b) <= max(len(a), len(b))


def test_one_typo_is_corrected_from_five_letters_and_two_from_nine() -> None:
    assert correction(term("salmn "), VOCABULARY) == "salmon"
    assert correction(term("bde "), VOCABULARY) is None  # too short to guess
    assert correction(term("othopedik "), VOCABULARY) == "orthopedic"
    assert correction(term("slmn "), VOCABULARY) is None  # 4 letters


def test_a_word_being_typed_is_corrected_to_the_beginning_of_a_word() -> None:
    assert known(term("salmo"), VOCABULARY)  # nothing to correct
    assert correction(term("slamo"), VOCABULARY) == "salmo"
    assert correction(term("ortohp"), VOCABULARY) == "orthop"


def test_ties_go_to_the_longest_shared_beginning_then_the_alphabet() -> None:
    assert correction(term("salom "), {"salon", "salmon", "salts"}) == "salon"
    assert correction(term("saxon "), {"salon", "baxon"}) == "salon"


def test_every_equally_near_word_is_a_correction() -> None:
    assert corrections(term("gwass "), {"glass", "grass", "gross"}) == ["glass", "grass"]
    assert corrections(term("gwass "), {"glass", "grass", "gwasss"}) == ["gwasss", "glass", "grass"]  # by beginning
    assert corrections(term("gwass "), {"gxass", "grass", "glass"}, most=2) == ["glass", "grass"]
    assert corrections(term("salmn "), {"salmon", "salon"}) == ["salmon", "salon"]
    assert corrections(term("brast "), {"brass", "breast", "bread"}) == ["brass", "breast"]
    assert corrections(term("frezee "), {"freeze", "free", "frizzle"}) == ["freeze"]
    assert corrections(term("bde "), VOCABULARY) == []


def test_a_word_corrected_several_ways_matches_them_all() -> None:
    from chalicelib.models import SearchParams
    from chalicelib.search import plan_search

    both = Understanding(corrected=(("gwass", "glass|grass"),))
    slots = understood_slots("gwass hay ", both)
    assert [[t.word for t in alt] for alt in slots[0].options] == [["glass"], ["grass"]]
    assert plan_search(SearchParams(q="gwass hay "), both).pk == keys.word_pk("hay")
    # Alone, it reads the list of each correction in turn (by relevance), or keeps the nearest (by price).
    assert [plan_search(SearchParams(q="gwass "), both, b).pk for b in (0, 1)] == ["IDX#W#gla", "IDX#W#gra"]
    by_price = plan_search(SearchParams(q="gwass ", sort="price_asc"), both)
    assert by_price.branches == 1 and [[t.word for t in alt] for alt in by_price.slots[0].options] == [["glass"]]


def test_corrections_of_one_stem_are_one_option() -> None:
    understood = Understanding(corrected=(("treatz", "treat|treats"),))
    assert [[t.word for t in alt] for alt in understood_slots("treatz ", understood)[0].options] == [["treat"]]
    assert [[t.word for t in alt] for alt in understood_slots("treatz", understood)[0].options] == [["treat"]]
    chews = Understanding(corrected=(("chewz", "chew|chews|chewy"),))
    assert [[t.word for t in alt] for alt in understood_slots("chewz ", chews)[0].options] == [["chew"], ["chewy"]]


def test_a_query_whose_filter_would_pass_dynamodb_limits_is_refused_naming_q() -> None:
    from chalicelib.models import SearchParams
    from chalicelib.search import MAX_FILTER_PATTERNS, plan_search

    typed = [f"w{i:04d}x" for i in range(MAX_FILTER_PATTERNS // 3 + 1)]
    understood = Understanding(corrected=tuple((w, f"{w}a|{w}b|{w}c") for w in typed))
    params = SearchParams.model_construct(**{**SearchParams().model_dump(), "q": " ".join(typed) + " "})
    with pytest.raises(InvalidInput) as refused:
        plan_search(params, understood)
    assert refused.value.field == "q"
    assert plan_search(SearchParams(q=" ".join(typed[:10]) + " "), understood).slots  # fewer words: fine


def test_the_answer_shows_the_correction_the_page_matches() -> None:
    from chalicelib.models import SearchParams
    from chalicelib.search import SearchResult, result_page

    both = Understanding(corrected=(("gwass", "glass|grass"),))
    hay = [_product("Orchard Grass Hay"), _product("Meadow Grass Hay"), _product("Glass Hay Bowl")]
    params = SearchParams(q="gwass hay ")
    result = SearchResult(items=hay, next_cursor=None, understanding=both, slots=understood_slots("gwass hay ", both))
    understood = result_page(result, params).query
    assert understood is not None
    assert understood.corrected == {"gwass": "grass"} and understood.text == "grass hay" and not understood.synonyms


def test_a_word_is_known_through_its_stem_or_as_a_prefix() -> None:
    assert known(term("dogs "), VOCABULARY)  # "dogs" and "dog" share their stem
    assert known(term("foods "), {"food"})
    assert known(term("ortho"), VOCABULARY)
    assert not known(term("salmn "), VOCABULARY)


def test_unknown_words_are_corrected_or_ignored_and_filler_goes_while_a_word_remains() -> None:
    understood = understand("best salmn treats for my dog", VOCABULARY)
    assert dict(understood.corrected) == {"salmn": "salmon|salon"}  # both one edit away: "treats" decides
    assert set(understood.ignored) == {"my", "best"}
    assert understand("best", VOCABULARY | {"best"}).ignored == ()  # filler alone is kept


def test_nothing_to_understand_differently_is_as_typed() -> None:
    assert understand("salmon treats ", VOCABULARY) == AS_TYPED


def test_a_word_the_catalog_does_not_know_is_replaced_by_a_synonym_it_knows() -> None:
    understood = understand("kittens bed ", VOCABULARY | {"cat"})  # through its stem
    assert understood.synonyms and dict(understood.corrected) == {"kittens": "cat"} and understood.ignored == ()
    assert understand("kitten bed ", VOCABULARY).corrected == ()  # no synonym known: not replaced


def test_a_synonym_may_be_a_phrase_whose_words_must_all_match() -> None:
    understood = understand("kibble ", VOCABULARY | {"dry"})
    assert dict(understood.corrected) == {"kibble": "dry food"}
    (slot,) = understood_slots("kibble ", understood)
    assert [[t.word for t in alt] for alt in slot.options] == [["dry", "food"]]


def test_a_known_word_is_never_replaced_by_a_synonym() -> None:
    assert understand("dog bed ", VOCABULARY | {"puppy"}) == AS_TYPED


def test_relaxing_drops_the_last_word_and_says_so() -> None:
    understood = Understanding(corrected=(("salmn", "salmon"),))
    slots = understood_slots("salmn treats dog ", understood)
    assert relaxed(understood, slots).ignored == ("dog",)
    assert [s.typed for s in understood_slots("salmn treats dog ", relaxed(understood, slots))] == ["salmn", "treats"]


def test_an_understanding_round_trips_through_a_cursor() -> None:
    understood = Understanding(corrected=(("salmn", "salmon"),), ignored=("my",), synonyms=True)
    assert Understanding.decode(understood.encode(), {"salmn", "my", "dog"}) == understood


@pytest.mark.parametrize(
    "raw",
    [
        "nonsense",
        '[{"other": "x"}, [], false]',
        "[1, 2]",
        '[{}, ["zzz"], false]',
        '[{"salmn": "a|b|c|d"}, [], false]',  # more equally near words than a correction has
        '[{"salmn": "a b c d"}, [], false]',  # a longer phrase than a synonym's
        '[{"salmn": "Salmon"}, [], false]',  # not folded
        '[{"salmn": ""}, [], false]',
        '[{"salmn": "a b|c"}, [], false]',  # equally near corrections are single words
    ],
)
def test_an_understanding_of_other_words_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        Understanding.decode(raw, {"salmn", "my"})


def test_highlights_are_offsets_in_the_text_as_returned() -> None:
    text = "Purée of Wild SALMON, for salmon-loving Puppies"
    found = highlights(text, [(t.word, t) for t in parse_query("puree salmon pupp")])
    assert [(w, text[a:b]) for w, a, b in found] == [
        ("puree", "Purée"),
        ("salmon", "SALMON"),
        ("salmon", "salmon"),
        ("pupp", "Puppies"),
    ]


def test_stop_words_are_not_highlighted() -> None:
    assert highlights("Formula for cats", [(t.word, t) for t in parse_query("for")]) == [("for", 0, 7)]


@given(st.lists(st.sampled_from(["Salmon", "treats", "for", "Purée", "dogs'", "x", "12kg", "puppies"]), max_size=8))
@bounded
def test_every_highlight_covers_a_word_the_query_matches(parts: list[str]) -> None:
    text = " ".join(parts)
    query = " ".join(parts[:2]) + " "
    terms = [(t.word, t) for t in parse_query(query)]
    for word, start, end in highlights(text, terms):
        assert fold(text[start:end]) in words(text)
        assert word in {t.word for _, t in terms}


def entry(product_id: str, species: str, category: str, brand: str) -> dict[str, str]:
    return {"product_id": product_id, "species": species, "category": category, "brand": brand}


def test_facets_count_each_product_once_and_say_when_more_follow() -> None:
    entries = [
        entry("a", "dog", "food", "barkwell"),
        entry("a", "dog", "food", "barkwell"),  # a second term of the same product
        entry("b", "cat", "food", "purrfect"),
        entry("c", "dog", "toys", "barkwell"),
    ]
    counted = facets(entries, complete=False)
    assert [(f.value, f.count) for f in counted.species] == [("dog", 2), ("cat", 1)]
    assert [(f.value, f.count) for f in counted.brand] == [("barkwell", 2), ("purrfect", 1)]
    assert counted.counted == 3 and counted.approximate
    assert not facets(entries, complete=True).approximate


def test_synonyms_widen_every_word_and_a_word_without_them_drives() -> None:
    from chalicelib.models import SearchParams
    from chalicelib.search import plan_search

    def options(q: str) -> list[list[list[str]]]:
        return [[[t.word for t in alt] for alt in slot.options] for slot in understood_slots(q, AS_TYPED)]

    assert options("salmon puppy treats ") == [[["salmon"]], [["puppy"], ["dog"]], [["treats"]]]
    assert plan_search(SearchParams(q="salmon puppy treats ")).pk == keys.word_pk("sal")  # the same list as before
    # "puppy" has synonyms and "food" none: "food" drives, "puppy" matches dogs too.
    assert options("puppy food ") == [[["puppy"], ["dog"]], [["food"]]]
    assert plan_search(SearchParams(q="puppy food ")).pk == keys.word_pk("foo")


def test_when_every_word_has_synonyms_one_drives_through_each_of_its_lists() -> None:
    from chalicelib.models import SearchParams
    from chalicelib.search import plan_search

    assert [[t.word for t in alt] for alt in understood_slots("puppy ", AS_TYPED)[0].options] == [["puppy"], ["dog"]]
    plans = [plan_search(SearchParams(q="kitten lead "), AS_TYPED, b) for b in (0, 1)]
    assert [p.pk for p in plans] == [keys.word_pk("kit"), keys.word_pk("cat")]
    assert [p.branch for p in plans] == [0, 1] and plans[0].branches == 2
    assert plans[0].next_branch() == plans[1] and plans[1].next_branch() is None
    # By price, one list: the longest word drives as typed, the others widen.
    by_price = plan_search(SearchParams(q="kitten lead ", sort="price_asc"))
    assert by_price.branches == 1 and by_price.pk == keys.word_pk("kit")
    assert [[t.word for t in alt] for alt in by_price.slots[1].options] == [["lead"], ["leash"]]


def test_neighbouring_words_that_make_a_synonym_phrase_are_one_slot() -> None:
    slots = understood_slots("fish tank water ", AS_TYPED)
    assert [s.typed for s in slots] == ["fish tank", "water"]
    assert [[t.word for t in alt] for alt in slots[0].options] == [["fish", "tank"], ["aquarium"]]
    assert [s.typed for s in understood_slots("tank fish water ", AS_TYPED)] == ["tank", "fish", "water"]
    # Dropping the phrase drops both its words.
    assert relaxed(AS_TYPED, understood_slots("water fish tank ", AS_TYPED)).ignored == ("fish", "tank")


def _product(name: str, description: str = "A product.", brand: str = "Barkwell"):  # type: ignore[no-untyped-def]
    from chalicelib.models import Product

    return Product.model_validate(
        {
            "id": fold(name).replace(" ", "-"),
            "name": name,
            "description": description,
            "brand": brand,
            "species": "cat",
            "category": "toys",
            "price_cents": 1000,
            "stock": 1,
        }
    )


def test_a_page_ranks_words_matched_then_fields_then_exactness() -> None:
    from chalicelib.search import rank

    in_description = _product("Rope Ball", "A toy for a puppy.")
    in_name = _product("Puppy Rope Toy")
    stemmed = _product("Puppies Rope Toys")
    synonym = _product("Dog Rope Toy")
    slots = understood_slots("rope puppy toy ", AS_TYPED)
    fewer_words = _product("Rope Tug Toy")
    ranked = rank([fewer_words, synonym, in_description, stemmed, in_name], slots)
    # Words matched; then fields (all three in the name before two in the
    # description); then exactness (as typed, stem, synonym).
    assert [p.name for p in ranked] == [
        "Puppy Rope Toy",
        "Puppies Rope Toys",
        "Dog Rope Toy",
        "Rope Ball",
        "Rope Tug Toy",
    ]
    corrected = understood_slots("rope pupy toy ", Understanding(corrected=(("pupy", "puppy"),)))
    assert [p.name for p in rank([synonym, in_name], corrected)] == ["Puppy Rope Toy", "Dog Rope Toy"]
