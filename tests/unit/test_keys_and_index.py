from chalicelib import keys
from chalicelib.catalog import MAX_INDEX_ENTRIES, index_entries
from chalicelib.models import Product
from chalicelib.text import parse_query, words


def make_product(**overrides: object) -> Product:
    fields: dict[str, object] = {
        "id": "barkwell-salmon-bites",
        "name": "Salmon Bites for Puppies",
        "description": "Soft training treats made with wild salmon.",
        "species": "dog",
        "category": "treats",
        "brand": "Barkwell",
        "price_cents": 899,
        "stock": 12,
    }
    fields.update(overrides)
    return Product.model_validate(fields)


def test_product_key_has_entity_prefix() -> None:
    assert keys.product_key("p-1") == {"PK": "PRODUCT#p-1", "SK": "PRODUCT"}


def test_higher_scores_sort_first() -> None:
    assert keys.index_entry_sk(3, "b", "x") < keys.index_entry_sk(1, "a", "x")


def test_a_product_is_listed_under_all_its_attributes_and_word_prefixes() -> None:
    pks = {e["PK"] for e in index_entries(make_product())}
    assert {
        keys.all_products_pk(),
        keys.attribute_pk("species", "dog"),
        keys.attribute_pk("category", "treats"),
        keys.attribute_pk("brand", "barkwell"),
        keys.word_pk("sal"),
        keys.word_pk("pup"),
        keys.word_pk("wil"),
    } <= pks


def test_entries_carry_what_queries_filter_and_sort_on() -> None:
    entry = index_entries(make_product(stock=0))[0]
    assert entry["price"] == 899
    assert entry["in_stock"] is False
    assert entry["brand"] == "barkwell"
    assert " salmon " in entry["text"]
    assert entry["name_key"] == "salmon bites for puppies"


def test_word_entries_are_keyed_by_term_then_score() -> None:
    entries = {e.get("term"): e for e in index_entries(make_product())}
    salmon, wild = entries["salmon"], entries["wild"]
    assert salmon["PK"] == keys.word_pk("sal") and salmon["SK"].startswith("salmon#6#")  # name: score 3
    assert wild["SK"].startswith("wild#8#")  # description: score 1
    assert entries["puppies"]["terms_here"] == ["puppi", "puppies"]


def test_a_long_description_is_capped_to_fit_one_transaction() -> None:
    description = " ".join(f"{a}{b}word" for a in "abcdefghij" for b in "abcdefghij")
    entries = index_entries(make_product(description=description))
    assert len(entries) == MAX_INDEX_ENTRIES
    # the name's stems are never the ones dropped
    assert {"salmon", "bite", "puppi", "barkwel"} <= {e.get("term") for e in entries}
    # a term without an entry is not in the text the filters test either
    terms = {e["term"] for e in entries if "term" in e}
    assert all(set(e["text"].split()) == terms for e in entries)


def test_a_capped_index_keeps_every_stem_so_each_word_typed_whole_still_finds_the_product() -> None:
    # 34 stems ("aawalk"...), 68 terms with the words as written ("aawalks"...)
    description = " ".join(f"{a}{b}walks" for a in "abcdefgh" for b in "abcd")
    product = make_product(description=description)
    entries = index_entries(product)
    assert len(entries) == MAX_INDEX_ENTRIES
    for word in words(description + " " + product.name):
        (term,) = parse_query(word + " ")
        assert any(
            e["PK"] == keys.word_pk(term.index_prefix or "") and e["SK"].startswith(term.key_prefix + "#")
            for e in entries
        ), word
