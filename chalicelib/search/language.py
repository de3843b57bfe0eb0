"""Text normalisation shared by indexing and searching.

Both sides go through the same functions, so "Purée", "puree" and "PUREES"
meet on the same terms:

- case and accents are folded (NFKD, combining marks dropped, casefold);
- anything that is not a letter or digit separates words;
- common English stop words are dropped;
- words are stemmed with the Snowball English stemmer (toys -> toy,
  puppies/puppy -> puppi), which covers plural and singular;
- the search index (chalicelib/search/index.py) holds every word as typed
  and as stemmed; the word the user is still typing is also matched as the
  beginning of the catalog's words;
- the word being typed is kept even when it is a stop word or a single
  letter: "for" is on its way to "formula".
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from chalicelib.platform.folding import fold

MIN_WORD_LEN: Final = 2
# Longer words are cut to this on both sides (index and query): nobody types
# them, and a bounded term keeps the index and its vocabulary small.
MAX_WORD_LEN: Final = 40
STOPWORDS: Final = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "this",
        "to",
        "with",
        "you",
        "your",
    ]
)

_STEMMER_PACKAGE: Final = "_petstore_snowball"


def _english_stemmer() -> Any:
    """Snowball's English stemmer, without the other 33 languages.

    ``import snowballstemmer`` (even ``from snowballstemmer.english_stemmer
    import ...``, which runs the package's ``__init__`` first) imports every
    language, a cold-start cost paid by each new search container. The
    package's files are loaded instead under a private package name, whose
    ``__init__`` is never run: the English module and the two it imports.
    """
    package = sys.modules.get(_STEMMER_PACKAGE)
    if package is None:
        spec = importlib.util.find_spec("snowballstemmer")  # finds, does not import, a top-level package
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("snowballstemmer is not installed")
        package = ModuleType(_STEMMER_PACKAGE)
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules[_STEMMER_PACKAGE] = package
    return importlib.import_module(f"{_STEMMER_PACKAGE}.english_stemmer").EnglishStemmer()


_stemmer = _english_stemmer()


def words(text: str) -> list[str]:
    """The searchable words of ``text``, folded, in order, stop words dropped."""
    return [w[:MAX_WORD_LEN] for w in fold(text).split() if _searchable(w)]


def _searchable(word: str) -> bool:
    return len(word) >= MIN_WORD_LEN and word not in STOPWORDS


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def slug(value: str) -> str:
    """Canonical form of an attribute value such as a brand ("Barkwell & Co")."""
    return "-".join(fold(value).split())


def name_key(name: str) -> str:
    """Sort key for ordering by name, case- and accent-insensitive; never
    empty (an index key cannot be), even for a name with no Latin letter."""
    return fold(name)[:100] or name.casefold()[:100]


@dataclass(frozen=True)
class Term:
    """One word of a query."""

    word: str  # folded, as typed
    stemmed: str
    is_prefix: bool  # the last word, possibly still being typed

    def matches(self, word: str) -> bool:
        """Whether a folded word of a product matches, as the index matches it:
        as typed or by its stem; a word being typed also as a beginning."""
        if word == self.word or stem(word) == self.stemmed:
            return True
        return self.is_prefix and word.startswith(self.word)


def parse_query(q: str) -> list[Term]:
    """Split a search box into terms; the last one is a prefix while typing.

    A trailing space means the user finished the last word, so it is matched
    whole like the others. The word being typed is kept even if it is a stop
    word or a single letter ("for" may become "formula"); finished ones are
    dropped. Repeated words are kept once.
    """
    found = [w[:MAX_WORD_LEN] for w in fold(q).split()]  # as the index cut them
    typing = bool(q) and not q[-1].isspace()
    terms: list[Term] = []
    seen: set[tuple[str, bool]] = set()
    for position, word in enumerate(found):
        is_prefix = typing and position == len(found) - 1
        if not (is_prefix or _searchable(word)):
            continue
        term = Term(word=word, stemmed=stem(word), is_prefix=is_prefix)
        if (term.stemmed, is_prefix) in seen:
            continue
        seen.add((term.stemmed, is_prefix))
        terms.append(term)
    return terms


# -- forgiving: typos, filler words, synonyms ----------------------------------

ONE_TYPO_FROM: Final = 5  # letters; as Meilisearch, Typesense and Algolia forgive
TWO_TYPOS_FROM: Final = 9
# Words shoppers add that say nothing about the product; dropped first when a
# search would otherwise find nothing.
FILLER_WORDS: Final = frozenset(
    [
        "best",
        "buy",
        "cheap",
        "good",
        "great",
        "i",
        "looking",
        "me",
        "my",
        "need",
        "nice",
        "please",
        "some",
        "want",
        "we",
    ]
)
SYNONYMS_FILE: Final = Path(__file__).resolve().parent / "synonyms.json"  # in the Lambda zip with chalicelib/


def allowed_typos(word: str) -> int:
    """How many edits a word of this length may be corrected by."""
    return 2 if len(word) >= TWO_TYPOS_FROM else 1 if len(word) >= ONE_TYPO_FROM else 0


def osa_distance(a: str, b: str) -> int:
    """Edits from ``a`` to ``b``: insert, delete, substitute, or swap two
    neighbours (counted once): optimal string alignment (restricted Damerau)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _prefix_distance(typed: str, term: str) -> tuple[int, str]:
    """Edits from ``typed`` to the nearest beginning of ``term`` (and that beginning)."""
    options = [(osa_distance(typed, term[:m]), term[:m]) for m in range(len(typed) - 1, len(typed) + 2)]
    return min(options, key=lambda o: (o[0], -len(o[1])))


def corrections(term: Term, vocabulary: Iterable[str], most: int = 3) -> list[str]:
    """The nearest words of the catalog to a word it does not know, if near enough.

    1 edit from 5 letters, 2 from 9; a word being typed is compared with the
    beginnings of the catalog's words (and becomes the nearest beginning).
    The nearest are those at the fewest edits, whole words before beginnings
    (what was typed may be a finished word with a typo). All of them are
    returned, up to ``most``: "gwass" is as near to "glass" as to "grass",
    "brast" to "brass" as to "breast", and only the other words of the query
    can tell which was meant. They come in order of the longest beginning
    shared with what was typed ("salmn": salmon, then salon), then
    alphabetically, so the answer never depends on the set's order.
    """
    budget = allowed_typos(term.word)
    if budget == 0:
        return []
    ranked: set[tuple[int, bool, int, str]] = set()
    for candidate in vocabulary:
        if abs(len(candidate) - len(term.word)) > budget and not term.is_prefix:
            continue
        if term.is_prefix:
            distance, form = _prefix_distance(term.word, candidate)
        else:
            distance, form = osa_distance(term.word, candidate), candidate
        if distance > budget:
            continue
        shared = len(os.path.commonprefix([term.word, form]))  # noqa: RUF071 (characters wanted)
        ranked.add((distance, form != candidate, -shared, form))
    if not ranked:
        return []
    nearest = min(ranked)[:2]
    return [rank[3] for rank in sorted(ranked) if rank[:2] == nearest][:most]


@lru_cache(maxsize=1)
def synonyms() -> dict[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """chalicelib/search/synonyms.json as {stems of a phrase: the other phrases of its group (words)}.

    Keyed by stems, so "puppies" has the synonyms of "puppy".
    """
    groups = json.loads(SYNONYMS_FILE.read_text())
    found: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}
    for group in groups:
        phrases = [tuple(fold(p).split()) for p in group]
        for phrase in phrases:
            found[tuple(stem(w) for w in phrase)] = tuple(other for other in phrases if other != phrase)
    return found


_WORD_SPAN = re.compile(r"[^\W_]+")


def matches_term(term: Term, word: str) -> bool:
    """Whether a folded word of a product's text matches ``term`` as the index does."""
    return _searchable(word) and term.matches(word)


def highlights(text: str, terms: list[tuple[str, Term]]) -> list[tuple[str, int, int]]:
    """``(typed word, start, end)`` of each word of ``text`` that a query term
    matches, in offsets of ``text`` itself (not of its folded form)."""
    found: list[tuple[str, int, int]] = []
    for span in _WORD_SPAN.finditer(text):
        folded = fold(span.group())
        for typed, term in terms:
            if folded and all(matches_term(term, part) for part in folded.split()):
                found.append((typed, span.start(), span.end()))
                break
    return found
