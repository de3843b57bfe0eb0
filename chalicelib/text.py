"""Text normalisation shared by indexing and searching.

Both sides go through the same functions, so "Purée", "puree" and "PUREES"
meet on the same terms:

- case and accents are folded (NFKD, combining marks dropped, casefold);
- anything that is not a letter or digit separates words;
- common English stop words are dropped;
- words are stemmed with the Snowball English stemmer (toys -> toy,
  puppies/puppy -> puppi), which covers plural and singular;
- every word and stem is an index *term*; terms are grouped in lists by their
  first three letters and sorted by term inside a list, so the word the user
  is still typing is matched as a prefix of the terms.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import snowballstemmer

PREFIX_LEN: Final = 3
MIN_WORD_LEN: Final = 2
# Longer words are cut to this on both sides (index and query): an index
# term is part of a sort key, which DynamoDB caps at 1,024 bytes.
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

_NON_WORD = re.compile(r"[^0-9a-z]+")
_stemmer = snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-free text with single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", bare.casefold()).strip()


def words(text: str) -> list[str]:
    """The searchable words of ``text``, folded, in order, stop words dropped."""
    return [w[:MAX_WORD_LEN] for w in fold(text).split() if len(w) >= MIN_WORD_LEN and w not in STOPWORDS]


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def prefix_of(word: str) -> str:
    """The index list a word belongs to: its first three letters."""
    return word[:PREFIX_LEN]


def slug(value: str) -> str:
    """Canonical form of an attribute value such as a brand ("Barkwell & Co")."""
    return "-".join(fold(value).split())


def name_key(name: str) -> str:
    """Sort key for ordering by name, case- and accent-insensitive; never
    empty (an index key cannot be), even for a name with no Latin letter."""
    return fold(name)[:100] or name.casefold()[:100]


@dataclass(frozen=True)
class IndexedText:
    """What the search index stores for one product's text."""

    term_scores: dict[str, int]  # word or stem -> best field weight
    text: str  # " word stem word2 ... " used by the filter of a query


def index_text(fields: list[tuple[str, int]]) -> IndexedText:
    """Index a product's text fields, each given with its weight.

    ``text`` holds every word and its stem between spaces, so a query can test
    ``contains(text, " dog ")`` (whole word) or ``contains(text, " pupp")``
    (prefix) in a DynamoDB filter expression.
    """
    scores: dict[str, int] = {}
    for value, weight in fields:
        for word in words(value):
            for term in {word, stem(word)}:
                scores[term] = max(scores.get(term, 0), weight)
    return IndexedText(term_scores=scores, text=" " + " ".join(sorted(scores)) + " ")


@dataclass(frozen=True)
class Term:
    """One word of a query."""

    word: str  # folded, as typed
    stemmed: str
    is_prefix: bool  # the last word, possibly still being typed

    @property
    def index_prefix(self) -> str | None:
        """The index list that holds every match of this term, if any.

        A two-letter prefix ("do") has no list of its own (lists are keyed by
        three letters), so it can only be tested by the filter.
        """
        if self.is_prefix and len(self.word) < PREFIX_LEN:
            return None
        return prefix_of(self.word)

    @property
    def key_prefix(self) -> str:
        """What the index terms of every match start with.

        A whole word is its stem exactly; a word being typed is matched by any
        term starting with what it shares with its stem ("puppies" -> "puppi",
        which starts both "puppies" and the stem of "puppy").
        """
        if not self.is_prefix:
            return self.stemmed
        return os.path.commonprefix([self.word, self.stemmed])  # noqa: RUF071 (characters wanted)

    def patterns(self) -> list[str]:
        """Substrings of ``IndexedText.text``, any of which means a match."""
        if self.is_prefix:
            return sorted({" " + self.word, " " + self.stemmed})
        return [" " + self.stemmed + " "]


def parse_query(q: str) -> list[Term]:
    """Split a search box into terms; the last one is a prefix while typing.

    A trailing space means the user finished the last word, so it is matched
    whole like the others. Repeated words are kept once.
    """
    found = words(q)
    typing = bool(q) and not q[-1].isspace()
    terms: list[Term] = []
    seen: set[str] = set()
    for position, word in enumerate(found):
        is_prefix = typing and position == len(found) - 1
        term = Term(word=word, stemmed=stem(word), is_prefix=is_prefix)
        if (term.stemmed, is_prefix) in seen:
            continue
        seen.add((term.stemmed, is_prefix))
        terms.append(term)
    return terms
