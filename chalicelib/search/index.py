"""The search index: its tantivy schema, a product as a document, and the
index as a searcher holds it in memory.

Text is analysed here, in Python, with the same functions a query goes
through (chalicelib/search/language.py: folded case and accents, stop words, Snowball
stems), and handed to tantivy already split on spaces, so the index and the
query can never disagree on what a word is. Each text field is indexed twice:
as typed (``name``) and stemmed (``name_stem``), so a word matched as typed
outranks one matched by its stem. ``words`` holds every word of a product
once: the index's vocabulary, which typo correction, prefix expansion and
relaxation read (no vocabulary lives in the table).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, Final

import tantivy

from chalicelib.catalog.product import Product
from chalicelib.search.language import name_key, slug, stem, words

# A word found in the name counts more than one found in the description.
FIELD_WEIGHTS: Final = {"name": 3.0, "brand": 2.0, "category": 2.0, "species": 2.0, "description": 1.0}
FACETS: Final = ("species", "category", "brand")
# What the index holds of a product besides its text: a change to anything
# else (the stock, by purchases, except when it reaches or leaves zero) does
# not touch the index.
INDEXED_ATTRIBUTES: Final = ("name", "brand", "category", "species", "description", "price_cents")


@cache
def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, fast=True, tokenizer_name="raw")
    for name in FIELD_WEIGHTS:
        builder.add_text_field(name, tokenizer_name="whitespace")
        builder.add_text_field(f"{name}_stem", tokenizer_name="whitespace")
    builder.add_text_field("words", tokenizer_name="whitespace", index_option="freq")
    for name in FACETS:
        builder.add_text_field(f"{name}_value", fast=True, tokenizer_name="raw")
    builder.add_text_field("name_key", fast=True, tokenizer_name="raw")
    builder.add_integer_field("price", indexed=True, fast=True)
    builder.add_boolean_field("in_stock", indexed=True, fast=True)
    return builder.build()


def texts(product: Product) -> dict[str, str]:
    """A product's searchable text, field by field."""
    return {
        "name": product.name,
        "brand": product.brand,
        "category": product.category.value,
        "species": product.species.value.replace("_", " "),
        "description": product.description,
    }


def document(product: Product) -> tantivy.Document:
    fields: dict[str, Any] = {"id": product.id}
    everything: set[str] = set()
    for name, text in texts(product).items():
        found = words(text)
        everything.update(found)
        fields[name] = " ".join(found)
        fields[f"{name}_stem"] = " ".join(stem(w) for w in found)
    fields["words"] = " ".join(sorted(everything))
    fields["species_value"] = product.species.value
    fields["category_value"] = product.category.value
    fields["brand_value"] = slug(product.brand)
    fields["name_key"] = name_key(product.name)
    fields["price"] = product.price_cents
    fields["in_stock"] = product.stock > 0
    return tantivy.Document(**fields)


def index_state(product: dict[str, Any]) -> tuple[Any, ...]:
    """What of a product item the index reflects: a change elsewhere needs no update."""
    return (*(product.get(name) for name in INDEXED_ATTRIBUTES), int(product.get("stock", 0)) > 0)


@dataclass
class SearchIndex:
    """One version of the index, opened; what a query needs of its vocabulary."""

    index: tantivy.Index
    version: int = 0
    searcher: Any = field(init=False)

    def __post_init__(self) -> None:
        self.index.reload()
        self.searcher = self.index.searcher()

    @cached_property
    def vocabulary(self) -> dict[str, int]:
        """Every word of the catalog, with how many products hold it."""
        return dict(self.searcher.terms_with_prefix("words", ""))

    @cached_property
    def stems(self) -> set[str]:
        return {stem(word) for word in self.vocabulary}

    @cached_property
    def by_letter(self) -> dict[str, list[str]]:
        """The vocabulary by first letter: corrections are looked for there
        (a typo on the first letter counts as two, as in Meilisearch)."""
        found: dict[str, list[str]] = {}
        for word in sorted(self.vocabulary):
            found.setdefault(word[0], []).append(word)
        return found

    def knows(self, word: str) -> bool:
        """Whether some product has this word (as typed or by its stem)."""
        return word in self.vocabulary or stem(word) in self.stems

    def frequency(self, word: str) -> int:
        """How many products hold the word (as typed; else its stem's best form)."""
        found = self.vocabulary.get(word)
        if found is not None:
            return found
        target = stem(word)
        return max((n for w, n in self.vocabulary.items() if w.startswith(target[:3]) and stem(w) == target), default=0)

    def completions(self, prefix: str, most: int = 50) -> list[str]:
        """The catalog's words that start with ``prefix``, the most frequent first."""
        return [word for word, _ in self.searcher.terms_with_prefix("words", prefix, limit=most)]

    @property
    def size(self) -> int:
        return int(self.searcher.num_docs)


def build(directory: str, products: Iterable[Product]) -> int:
    """Write a new index of ``products`` in ``directory``; returns how many."""
    index = tantivy.Index(schema(), path=directory)
    writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
    count = 0
    for product in products:
        writer.add_document(document(product))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


WRITER_HEAP_BYTES: Final = 50_000_000  # tantivy's writer buffers this much before it flushes a segment
