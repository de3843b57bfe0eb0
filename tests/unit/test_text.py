import pytest

from chalicelib.platform.folding import fold
from chalicelib.search.language import parse_query, slug, stem, words


def test_fold_removes_case_accents_and_punctuation() -> None:
    assert fold("  Purée de CRÈME, Jalapeño-free!  ") == "puree de creme jalapeno free"


def test_words_drop_stop_words_and_single_letters() -> None:
    assert words("A toy for the cat's bed") == ["toy", "cat", "bed"]


def test_plural_and_singular_share_a_stem() -> None:
    assert stem("puppies") == stem("puppy")
    assert stem("toys") == stem("toy")
    assert stem("brushes") == stem("brush")


def test_last_word_is_a_prefix_while_typing() -> None:
    terms = parse_query("dog pupp")
    assert [(t.word, t.is_prefix) for t in terms] == [("dog", False), ("pupp", True)]
    assert terms[1].matches("puppy") and not terms[0].matches("doge")


def test_a_trailing_space_ends_the_last_word() -> None:
    terms = parse_query("dog toys ")
    assert all(not t.is_prefix for t in terms)
    assert terms[1].matches("toy") and not terms[1].matches("toyshop")


def test_repeated_words_count_once() -> None:
    assert len(parse_query("dog dogs dog ")) == 1


def test_slug_is_case_and_accent_insensitive() -> None:
    assert slug("Crème & Co") == slug("creme co") == "creme-co"


@pytest.mark.parametrize("q", ["for", "the", "you", "are", "dog for"])
def test_a_stop_word_being_typed_is_a_prefix_like_any_other(q: str) -> None:
    typed = parse_query(q)[-1]
    assert (typed.word, typed.is_prefix) == (q.split()[-1], True)
    assert typed.matches(q.split()[-1] + "ula")  # "for" -> "formula"


def test_a_finished_stop_word_is_dropped() -> None:
    assert parse_query("the ") == []
    assert [t.word for t in parse_query("food for the dog")] == ["food", "dog"]


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

    code = "import sys, chalicelib.search.language; print(' '.join(m for m in sys.modules if 'stemmer' in m))"
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    loaded = run.stdout.split()
    assert loaded and all(m.split(".")[-1] in ("english_stemmer", "basestemmer") for m in loaded), loaded
    assert "snowballstemmer" not in loaded
