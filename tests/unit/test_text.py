import pytest

from chalicelib.text import fold, index_text, parse_query, slug, stem, words


def test_fold_removes_case_accents_and_punctuation() -> None:
    assert fold("  Purée de CRÈME, Jalapeño-free!  ") == "puree de creme jalapeno free"


def test_words_drop_stop_words_and_single_letters() -> None:
    assert words("A toy for the cat's bed") == ["toy", "cat", "bed"]


def test_plural_and_singular_share_a_stem() -> None:
    assert stem("puppies") == stem("puppy")
    assert stem("toys") == stem("toy")
    assert stem("brushes") == stem("brush")


def test_index_text_keeps_words_and_stems_between_spaces() -> None:
    indexed = index_text([("Squeaky Toys", 3), ("for puppies", 1)])
    assert " toys " in indexed.text and " toy " in indexed.text
    assert " puppies " in indexed.text and " puppi " in indexed.text


def test_index_text_scores_each_term_by_its_best_field() -> None:
    indexed = index_text([("Salmon Bites", 3), ("salmon and salt, dog treats", 1)])
    assert indexed.term_scores["salmon"] == 3
    assert indexed.term_scores["salt"] == 1
    assert indexed.term_scores["treat"] == indexed.term_scores["treats"] == 1


def test_key_prefix_of_a_whole_word_is_its_stem_and_of_a_typed_word_what_both_share() -> None:
    whole, typing = parse_query("puppies puppies")
    assert whole.key_prefix == "puppi"
    assert typing.key_prefix == "puppi"
    (running,) = parse_query("runnin")
    assert running.key_prefix == "runnin"


def test_last_word_is_a_prefix_while_typing() -> None:
    terms = parse_query("dog pupp")
    assert [(t.word, t.is_prefix) for t in terms] == [("dog", False), ("pupp", True)]
    assert " pupp" in terms[1].patterns()


def test_a_trailing_space_ends_the_last_word() -> None:
    terms = parse_query("dog toys ")
    assert all(not t.is_prefix for t in terms)
    assert terms[1].patterns() == [" toy "]


def test_whole_words_match_by_stem_between_spaces() -> None:
    (term,) = parse_query("Puppies ")
    assert term.patterns() == [" puppi "]
    assert term.index_prefix == "pup"


def test_a_two_letter_prefix_has_no_index_list() -> None:
    (term,) = parse_query("do")
    assert term.index_prefix is None


def test_repeated_words_count_once() -> None:
    assert len(parse_query("dog dogs dog ")) == 1


def test_slug_is_case_and_accent_insensitive() -> None:
    assert slug("Crème & Co") == slug("creme co") == "creme-co"


@pytest.mark.parametrize(("word", "stemmed"), [("dry", "dri"), ("any", "ani"), ("aging", "age"), ("fly", "fli")])
def test_a_whole_word_is_looked_up_in_its_stems_list(word: str, stemmed: str) -> None:
    (term,) = parse_query(word + " ")
    assert term.key_prefix == stemmed
    assert term.index_prefix == stemmed[:3]


def test_a_word_being_typed_that_its_stem_starts_differently_is_matched_as_typed() -> None:
    (term,) = parse_query("dry")
    assert (term.index_prefix, term.key_prefix, term.patterns()) == ("dry", "dry", [" dry"])


def test_every_pattern_of_a_typed_word_starts_with_its_key_prefix() -> None:
    for q in ("puppies", "flying", "aging", "dry", "hoping", "for", "f", "do"):
        (term,) = parse_query(q)
        assert all(p.startswith(" " + term.key_prefix) for p in term.patterns()), q


@pytest.mark.parametrize("q", ["for", "the", "you", "are", "dog for"])
def test_a_stop_word_being_typed_is_a_prefix_like_any_other(q: str) -> None:
    typed = parse_query(q)[-1]
    assert (typed.word, typed.is_prefix) == (q.split()[-1], True)
    assert typed.index_prefix == q.split()[-1]


def test_a_finished_stop_word_is_dropped() -> None:
    assert parse_query("the ") == []
    assert [t.word for t in parse_query("food for the dog")] == ["food", "dog"]


def test_a_single_letter_being_typed_is_a_prefix_tested_by_the_filter() -> None:
    terms = parse_query("dog f")
    assert [(t.word, t.is_prefix) for t in terms] == [("dog", False), ("f", True)]
    assert terms[1].index_prefix is None
    assert terms[1].patterns() == [" f"]
    assert parse_query("dog f ") == parse_query("dog ")


def test_the_english_stemmer_stems_as_snowball_does() -> None:
    import snowballstemmer

    reference = snowballstemmer.stemmer("english")
    sample = "dry drying dried any aging flying shy puppies generously running cats kitten's happily ups 12kg"
    for word in fold(sample).split():
        assert stem(word) == reference.stemWord(word), word


def test_loading_the_search_text_imports_no_other_language() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, chalicelib.text; print(' '.join(m for m in sys.modules if 'stemmer' in m))"
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    loaded = run.stdout.split()
    assert loaded and all(m.split(".")[-1] in ("english_stemmer", "basestemmer") for m in loaded), loaded
    assert "snowballstemmer" not in loaded
