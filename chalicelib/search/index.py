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

from collections.abc import Iterable, Mapping
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
# The fields of the schema below, as versions of the index carry them: a
# version written with another schema is rebuilt, never updated in place
# (chalicelib/search/indexing.py), and a search on it sorts without what it
# lacks. Move it on with every change of ``schema()``.
SCHEMA_VERSION: Final = 2  # 2: units_sold and best_selling_key
# The units a product has sold, in the sort key: at most 12 digits.
MAX_UNITS: Final = 10**12 - 1


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
    # From the product's sales counters (PRODUCT#<id> / SALES): the best sellers.
    builder.add_integer_field("units_sold", stored=True, indexed=True, fast=True)
    builder.add_text_field("best_selling_key", fast=True, tokenizer_name="raw")
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


def document(product: Product, units_sold: int = 0) -> tantivy.Document:
    """A product as the index holds it, with the units it has sold (its counters)."""
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
    units = min(max(units_sold, 0), MAX_UNITS)
    fields["units_sold"] = units
    fields["best_selling_key"] = best_selling_key(units, fields["name_key"], product.id)
    return tantivy.Document(**fields)


def best_selling_key(units_sold: int, name_key: str, product_id: str) -> str:
    """Sorts ascending as best selling: the most units first, then by name, then
    by id, so every product has its one place (tantivy sorts by one field;
    a tie on it would be broken by where the document happens to be stored).
    The separator sorts below every character of a name: "abc" before "abc d"."""
    return f"{MAX_UNITS - units_sold:012d}\x00{name_key}\x00{product_id}"


def index_state(product: dict[str, Any]) -> tuple[Any, ...]:
    """What of a product item the index reflects: a change elsewhere needs no update."""
    return (*(product.get(name) for name in INDEXED_ATTRIBUTES), int(product.get("stock", 0)) > 0)


@dataclass
class SearchIndex:
    """One version of the index, opened; what a query needs of its vocabulary."""

    index: tantivy.Index
    version: int = 0
    schema_version: int = SCHEMA_VERSION  # of the version opened: an older one may lack fields
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
    def knows_sales(self) -> bool:
        """Whether this version holds the products' units sold (versions before them do not)."""
        return self.schema_version >= SCHEMA_VERSION

    @property
    def size(self) -> int:
        return int(self.searcher.num_docs)


def build(directory: str, products: Iterable[Product], units_sold: Mapping[str, int] | None = None) -> int:
    """Write a new index of ``products`` in ``directory``, with each one's
    units sold (by id; none: 0); returns how many."""
    sold = units_sold or {}
    index = tantivy.Index(schema(), path=directory)
    writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
    count = 0
    for product in products:
        writer.add_document(document(product, sold.get(product.id, 0)))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


WRITER_HEAP_BYTES: Final = 50_000_000  # tantivy's writer buffers this much before it flushes a segment
