"""How a search box becomes a tantivy query.

1. ``parse_query`` (chalicelib/search/language.py) folds the words, drops stop words
   (not the last word while it is typed: "for" may become "formula").
2. ``understand`` reads each word against the index's vocabulary: a known
   word is searched as typed, by its stem, and through its synonyms
   (chalicelib/search/synonyms.json); two words the catalog writes as one are also
   searched joined ("cuttle bone": cuttlebone), a word the catalog writes as
   two is split ("catfood": cat food); an unknown word is corrected to the
   nearest words of the vocabulary (1 typo from 5 letters, 2 from 9), else
   left out; filler words ("best", "my") are left out if a word remains.
   ``exact`` skips all of it: the words as typed (and their stems).
3. ``slot_query`` makes one query per word: the best of its forms and fields
   (a disjunction max), weighted name > brand, category, species >
   description and as typed > stem > joined or split > corrected > synonym.
   Every word must match; BM25 ranks what does.
4. If that finds nothing, ``relax`` leaves out the least informative word
   first, the one most products have, never the last word (in English the
   head noun: "food for my old dog") while another can go. The words left
   out still rank what they match higher.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import tantivy

from chalicelib.search.index import FIELD_WEIGHTS, SearchIndex, schema
from chalicelib.search.language import (
    FILLER_WORDS,
    STOPWORDS,
    Term,
    allowed_typos,
    corrections,
    parse_query,
    slug,
    stem,
    synonyms,
)
from chalicelib.search.results import SearchParams

# How much each way of matching a word counts, relative to the word as typed.
AS_TYPED: Final = 1.0
STEMMED: Final = 0.8
JOINED: Final = 0.9  # "cuttle bone" -> cuttlebone; "catfood" -> cat food
CORRECTED: Final = 0.5
SYNONYM: Final = 0.4
COMPLETED: Final = 0.6  # the word being typed, completed ("pupp" -> puppy)
# A stop word typed last ("dog for") narrows nothing, so it only orders the
# result: strongly enough that what it starts ("formula") comes first.
TYPED_LAST: Final = 4.0
TIE_BREAKER: Final = 0.1  # a word matched in several fields counts a little more
MAX_CORRECTIONS: Final = 3
MIN_SPLIT_PART: Final = 3
# Words shoppers type that name no product: "what can my puppy chew on"; in a
# pet shop, "pet" says nothing either ("hamster ball for my pet").
NATURAL_FILLER: Final = frozenset(
    {"what", "which", "can", "could", "something", "anything", "thing", "things", "stuff", "help", "get", "getting"}
    | {"pet", "pets"}
)
# The attributes a shopper filters by, as words: dropped after the others.
ATTRIBUTE_STEMS: Final = frozenset(
    stem(w)
    for w in ("dog", "cat", "fish", "bird", "reptile", "food", "treat", "toy", "bed", "health", "grooming", "habitat")
)


@dataclass(frozen=True)
class Option:
    """One way a word may match: all of ``words`` (a phrase, a split compound)."""

    words: tuple[str, ...]
    weight: float
    prefix: bool = False  # the last of ``words`` is still being typed

    def terms(self) -> list[Term]:
        last = len(self.words) - 1
        return [Term(w, stem(w), self.prefix and i == last) for i, w in enumerate(self.words)]


@dataclass(frozen=True)
class Slot:
    """One word (or phrase) of the query as understood, and what may match it."""

    typed: str  # as typed, folded
    options: tuple[Option, ...]

    @property
    def first(self) -> Option:
        return self.options[0]


@dataclass(frozen=True)
class Understanding:
    slots: tuple[Slot, ...] = ()
    corrected: dict[str, str] = field(default_factory=dict)  # typed -> what it was searched as
    ignored: tuple[str, ...] = ()  # unknown, filler, or dropped by relaxation
    synonyms: bool = False
    dropped: tuple[Slot, ...] = ()  # left out by relaxation; still rank what they match

    @property
    def text(self) -> str:
        return " ".join(" ".join(s.first.words) for s in self.slots)


def understand(q: str, index: SearchIndex, exact: bool = False) -> Understanding:
    terms = parse_query(q)
    if exact:
        return Understanding(slots=tuple(Slot(t.word, (Option((t.word,), AS_TYPED, t.is_prefix),)) for t in terms))
    filler = [t for t in terms if _filler(t)]
    kept = [t for t in terms if not _filler(t)] or terms
    ignored = [t.word for t in filler] if len(kept) < len(terms) else []
    optional: list[Slot] = []
    last = kept[-1] if kept else None
    if (
        len(kept) > 1
        and last
        and last.is_prefix
        and (last.word in STOPWORDS or _filler(replace(last, is_prefix=False)))
    ):
        # "what can my puppy chew on", "... for my pet": a stop or filler word
        # still being typed may be the start of a word ("for": formula), so
        # it ranks what it starts, but it does not narrow the others down.
        last = kept.pop()
        optional.append(Slot(last.word, (Option((last.word,), TYPED_LAST, True),)))
    slots: list[Slot] = []
    corrected: dict[str, str] = {}
    with_synonyms = False
    i = 0
    while i < len(kept):
        grouped = _phrase(kept, i, index)
        if grouped is not None:
            slot, size = grouped
            slots.append(slot)
            with_synonyms |= any(o.weight == SYNONYM for o in slot.options)
            i += size
            continue
        term = kept[i]
        i += 1
        if _known(term, index):
            extra = _synonym_options((term.stemmed,))
            with_synonyms |= bool(extra)
            slots.append(Slot(term.word, (Option((term.word,), AS_TYPED, term.is_prefix), *extra)))
            continue
        replacement = _replacement(term, index)
        if replacement is None:
            ignored.append(term.word)
            continue
        corrected[term.word] = " ".join(replacement[0].words)
        with_synonyms |= replacement[0].weight == SYNONYM
        slots.append(Slot(term.word, replacement))
    return Understanding(tuple(slots), corrected, tuple(ignored), with_synonyms, dropped=tuple(optional))


def _filler(term: Term) -> bool:
    return not term.is_prefix and (term.word in FILLER_WORDS or term.word in NATURAL_FILLER)


def _known(term: Term, index: SearchIndex) -> bool:
    if term.is_prefix:
        return index.knows(term.word) or bool(index.completions(term.word, most=1))
    return index.knows(term.word)


def _phrase(terms: Sequence[Term], i: int, index: SearchIndex) -> tuple[Slot, int] | None:
    """Two neighbouring words that are a phrase of the synonyms ("fish tank")
    or one word of the catalog ("cuttle bone"), as one slot."""
    if i + 1 >= len(terms):
        return None
    a, b = terms[i], terms[i + 1]
    typed = f"{a.word} {b.word}"
    as_typed = Option((a.word, b.word), AS_TYPED, b.is_prefix)
    both_known = _known(a, index) and _known(b, index)
    extra = _synonym_options((a.stemmed, b.stemmed))
    if extra and both_known:
        return Slot(typed, (as_typed, *extra)), 2
    joined = a.word + b.word
    if index.knows(joined) or (b.is_prefix and index.completions(joined, most=1)):
        joined_option = Option((joined,), JOINED, b.is_prefix)
        return Slot(typed, (as_typed, joined_option) if both_known else (joined_option,)), 2
    return None


def _synonym_options(stems: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple(Option(phrase, SYNONYM) for phrase in synonyms().get(stems, ()))


def _replacement(term: Term, index: SearchIndex) -> tuple[Option, ...] | None:
    """What an unknown word is searched as: a synonym the catalog knows, the
    two words it is made of, or its nearest words; None: nothing."""
    for phrase in synonyms().get((term.stemmed,), ()):
        if all(index.knows(w) for w in phrase):
            return (Option(phrase, SYNONYM),)
    split = _split(term.word, index)
    if split is not None:
        return (Option(split, JOINED, term.is_prefix),)
    if allowed_typos(term.word) == 0:
        return None
    nearest = corrections(term, index.by_letter.get(term.word[0], ()), most=MAX_CORRECTIONS)
    return tuple(Option((w,), CORRECTED, term.is_prefix) for w in nearest) or None


def _split(word: str, index: SearchIndex) -> tuple[str, str] | None:
    """ "catfood" -> ("cat", "food"): the split whose rarer half most products have."""
    found = [
        (min(index.frequency(word[:n]), index.frequency(word[n:])), word[:n], word[n:])
        for n in range(MIN_SPLIT_PART, len(word) - MIN_SPLIT_PART + 1)
        if index.knows(word[:n]) and index.knows(word[n:])
    ]
    if not found:
        return None
    _, left, right = max(found)
    return left, right


# -- queries ----------------------------------------------------------------------------


def _boosted(query: tantivy.Query, weight: float) -> tantivy.Query:
    return tantivy.Query.boost_query(query, weight)


def word_query(term: Term, index: SearchIndex, weight: float) -> tantivy.Query:
    """One word in any field: as typed, by its stem, or (being typed) completed."""
    s = schema()
    parts: list[tantivy.Query] = []
    # The word being typed also matches every word it starts: a regular
    # expression over the term dictionary ("co" may start hundreds of words).
    completed = re.escape(term.word) + ".*" if term.is_prefix and term.word.isalnum() else None
    for name, field_weight in FIELD_WEIGHTS.items():
        boost = field_weight * weight
        parts.append(_boosted(tantivy.Query.term_query(s, name, term.word), boost * AS_TYPED))
        parts.append(_boosted(tantivy.Query.term_query(s, f"{name}_stem", term.stemmed), boost * STEMMED))
        if completed:
            parts.append(_boosted(tantivy.Query.regex_query(s, name, completed), boost * COMPLETED))
    return tantivy.Query.disjunction_max_query(parts, tie_breaker=TIE_BREAKER)


def option_query(option: Option, index: SearchIndex) -> tantivy.Query:
    words = [word_query(t, index, option.weight) for t in option.terms()]
    if len(words) == 1:
        return words[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in words])


def slot_query(slot: Slot, index: SearchIndex) -> tantivy.Query:
    options = [option_query(o, index) for o in slot.options]
    return options[0] if len(options) == 1 else tantivy.Query.disjunction_max_query(options, tie_breaker=0.0)


def filters(params: SearchParams) -> list[tantivy.Query]:
    """The attribute filters of a search, each a query every result must match."""
    return [q for _, q in named_filters(params)]


def named_filters(params: SearchParams) -> list[tuple[str, tantivy.Query]]:
    s = schema()
    found: list[tuple[str, tantivy.Query]] = []
    if params.species:
        found.append(("species", tantivy.Query.term_query(s, "species_value", params.species.value)))
    if params.category:
        found.append(("category", tantivy.Query.term_query(s, "category_value", params.category.value)))
    if params.brand:
        found.append(("brand", tantivy.Query.term_query(s, "brand_value", slug(params.brand))))
    if params.min_price is not None or params.max_price is not None:
        price = tantivy.Query.range_query(
            s,
            "price",
            tantivy.FieldType.Integer,
            params.min_price if params.min_price is not None else 0,
            params.max_price if params.max_price is not None else 2**62,
        )
        found.append(("price", price))
    if params.in_stock is not None:
        found.append(("in_stock", tantivy.Query.term_query(s, "in_stock", params.in_stock)))
    return found


def combined(
    required: Sequence[tantivy.Query], optional: Sequence[tantivy.Query] = (), constraints: Sequence[tantivy.Query] = ()
) -> tantivy.Query:
    """Every ``required`` and ``constraints`` query; ``optional`` ones rank higher what they match."""
    # Constraints (filters) add the same score to every result: they never reorder it.
    parts = [(tantivy.Occur.Must, q) for q in (*required, *constraints)]
    parts += [(tantivy.Occur.Should, q) for q in optional]
    if not required and not constraints:
        parts.append((tantivy.Occur.Must, tantivy.Query.all_query()))
    return tantivy.Query.boolean_query(parts)


def text_query(understanding: Understanding, index: SearchIndex, constraints: Sequence[tantivy.Query]) -> tantivy.Query:
    return combined(
        [slot_query(s, index) for s in understanding.slots],
        [slot_query(s, index) for s in understanding.dropped],
        constraints,
    )


def relax(understanding: Understanding, index: SearchIndex, constraints: Sequence[tantivy.Query]) -> Understanding:
    """Leave out words, the least informative first, until the rest find something.

    The order: the word most products have goes first; the last word (in
    English the head noun) only when no other can go; attribute words
    ("cat", "food") last of all, since a shopper who names the animal wants
    that animal. Each round tries leaving out each word of the least
    protected kind and keeps the first that finds something; when none
    does, the first of them goes and the next round tries again.
    """
    current = understanding
    while len(current.slots) > 1:
        order = sorted(range(len(current.slots)), key=lambda i: _drop_order(current.slots, i, index))
        kind = _drop_order(current.slots, order[0], index)[:2]
        candidates = [_without(current, i) for i in order if _drop_order(current.slots, i, index)[:2] == kind]
        for candidate in candidates:
            if _count(text_query(candidate, index, constraints), index):
                return candidate
        current = candidates[0]
    return current


def _drop_order(slots: Sequence[Slot], i: int, index: SearchIndex) -> tuple[bool, bool, int]:
    """Sorts the words in the order relaxation leaves them out."""
    words = [w for o in slots[i].options for w in o.words]
    return (
        any(stem(w) in ATTRIBUTE_STEMS for w in words),
        i == len(slots) - 1,
        -max((index.frequency(w) for w in words), default=0),
    )


def _without(understanding: Understanding, i: int) -> Understanding:
    slot = understanding.slots[i]
    return replace(
        understanding,
        slots=understanding.slots[:i] + understanding.slots[i + 1 :],
        ignored=(*understanding.ignored, *slot.typed.split()),
        dropped=(*understanding.dropped, slot),
        corrected={k: v for k, v in understanding.corrected.items() if k not in slot.typed.split()},
    )


def _count(query: tantivy.Query, index: SearchIndex) -> int:
    return int(index.searcher.search(query, limit=1).count)
