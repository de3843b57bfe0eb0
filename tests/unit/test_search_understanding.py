"""How a query is understood: typos corrected, filler and unknown words
dropped, synonyms, words relaxed; and how the answer explains itself."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.platform.folding import fold
from chalicelib.search.language import Term, corrections, highlights, osa_distance, parse_query, words

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


def correction(typed: Term, vocabulary: set[str]) -> str | None:
    """The nearest correction, if any."""
    return next(iter(corrections(typed, vocabulary)), None)


def test_one_typo_is_corrected_from_five_letters_and_two_from_nine() -> None:
    assert correction(term("salmn "), VOCABULARY) == "salmon"
    assert correction(term("bde "), VOCABULARY) is None  # too short to guess
    assert correction(term("othopedik "), VOCABULARY) == "orthopedic"
    assert correction(term("slmn "), VOCABULARY) is None  # 4 letters


def test_a_word_being_typed_is_corrected_to_the_beginning_of_a_word() -> None:
    assert any(term("salmo").matches(w) for w in VOCABULARY)  # nothing to correct
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


def test_a_word_matches_as_typed_by_its_stem_or_while_typed_as_a_beginning() -> None:
    assert term("dogs ").matches("dog")  # "dogs" and "dog" share their stem
    assert term("foods ").matches("food")
    assert term("ortho").matches("orthopedic")
    assert not term("ortho ").matches("orthopedic")
    assert not term("salmn ").matches("salmon")


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


def _product(name: str, description: str = "A product.", brand: str = "Barkwell"):  # type: ignore[no-untyped-def]
    from chalicelib.catalog.product import Product

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
