"""Search quality benchmark: known-item recall@10 and MRR per kind of query,
for the shop's search and, side by side, a reference full-text engine.

    make bench-quality
    .venv/bin/python -m bench.search_quality --seed 7 --out /tmp/quality.json

The queries are generated from data/products.json with a fixed seed. For each
product, two or three words of its name, in order, as a shopper would type
them, then rewritten by kind:

- exact: the words as they are;
- one typo: one edit (substitution, deletion, insertion or swap of two
  neighbours, never the first letter) in a word of 5 letters or more;
- two typos: two edits in a word of 9 letters or more;
- filler: ordinary words around them ("best ...", "... for my dog");
- plural/singular: one word's number flipped;
- word order: the words reversed;
- synonym: a word replaced by a synonym of chalicelib/search/synonyms.json;
- prefix (typing): the last word cut short, as while typing.

A product the kind cannot apply to (no long word, no synonym) has no query of
that kind. The product searched for is the only right answer: recall@10 is the
share of queries that show it in the first 10 results, MRR the mean of
1 / its rank (0 beyond 10).

The shop's search runs as the search function runs it: the catalog indexed by
the indexer's own functions (chalicelib/search/index.py) and every query
through chalicelib.search.service.search_products (the page's products read
from an in-memory table: quality does not depend on where they are stored).

Natural phrasing and topical queries ("food for my old dog", "catfood") have
many right answers, judged by attributes (TOPICAL): their score is P@10.

The reference is tantivy (a Lucene-class engine) over the same catalog in the
same run: BM25 over name, brand, category, species and description, English
stemming, every word fuzzy within 1 edit (a swap counts once). It is used by
this benchmark only; install it into the virtualenv with

    .venv/bin/python -m pip install tantivy

Without it the reference column is left out, with a message saying so.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.platform.folding import fold
from chalicelib.search.language import STOPWORDS
from chalicelib.search.results import SearchParams
from chalicelib.search.service import search_products
from infra.template import ROOT

KINDS = ["exact", "one typo", "two typos", "filler", "plural/singular", "word order", "synonym", "prefix (typing)"]
TOP = 10
CATALOG = ROOT / "data" / "products.json"
SYNONYMS = ROOT / "chalicelib" / "synonyms.json"
FILLERS = ["best {q}", "{q} for my {pet}", "cheap {q} for my {pet}", "good {q} please", "i need {q}"]
PETS = {"dog": "dog", "cat": "cat", "fish": "fish", "bird": "bird", "small_animal": "pet", "reptile": "pet"}
LETTERS = "abcdefghijklmnopqrstuvwxyz"

Engine = Callable[[str], list[str]]


def name_words(product: dict[str, Any]) -> list[str]:
    """The words of a name a shopper would type: letters only, 3 or more, no stop words."""
    return [w for w in fold(product["name"]).split() if w.isalpha() and len(w) >= 3 and w not in STOPWORDS]


def typo(word: str, rng: random.Random) -> str:
    """One edit of ``word`` that changes it, never on its first letter."""
    while True:
        at = rng.randrange(1, len(word))
        kind = rng.choice(["substitute", "delete", "insert", "swap"])
        if kind == "substitute":
            edited = word[:at] + rng.choice(LETTERS) + word[at + 1 :]
        elif kind == "delete":
            edited = word[:at] + word[at + 1 :]
        elif kind == "insert":
            edited = word[:at] + rng.choice(LETTERS) + word[at:]
        else:
            at = min(at, len(word) - 2)
            edited = word[:at] + word[at + 1] + word[at] + word[at + 2 :] if at >= 1 else word
        if edited != word:
            return edited


def flip_number(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("ch", "sh", "ss", "x")):
        return word + "es"
    return word + "s"


def synonym_map() -> dict[str, list[str]]:
    """Each word or phrase of chalicelib/search/synonyms.json with the others of its group."""
    found: dict[str, list[str]] = defaultdict(list)
    for group in json.loads(SYNONYMS.read_text()):
        for phrase in group:
            found[phrase] += [other for other in group if other != phrase]
    return dict(found)


def queries_for(product: dict[str, Any], rng: random.Random, synonyms: dict[str, list[str]]) -> dict[str, str]:
    """One query per kind that applies to the product."""
    candidates = name_words(product)
    if len(candidates) < 2:
        return {}
    count = min(len(candidates), rng.choice([2, 3]))
    picked = sorted(rng.sample(range(len(candidates)), count))
    chosen = [candidates[i] for i in picked]
    found = {"exact": " ".join(chosen)}
    long_ones = [i for i, w in enumerate(chosen) if len(w) >= 5]
    if long_ones:
        i = rng.choice(long_ones)
        found["one typo"] = " ".join(typo(w, rng) if j == i else w for j, w in enumerate(chosen))
    longer = [i for i, w in enumerate(chosen) if len(w) >= 9]
    if longer:
        i = rng.choice(longer)
        found["two typos"] = " ".join(typo(typo(w, rng), rng) if j == i else w for j, w in enumerate(chosen))
    pet = PETS[product["species"]]
    found["filler"] = rng.choice(FILLERS).format(q=" ".join(chosen), pet=pet)
    i = rng.randrange(len(chosen))
    found["plural/singular"] = " ".join(flip_number(w) if j == i else w for j, w in enumerate(chosen))
    found["word order"] = " ".join(reversed(chosen))
    replaceable = [i for i, w in enumerate(chosen) if w in synonyms]
    if replaceable:
        i = rng.choice(replaceable)
        found["synonym"] = " ".join(rng.choice(synonyms[w]) if j == i else w for j, w in enumerate(chosen))
    last = chosen[-1]
    cut = last[: rng.randint(3, max(3, len(last) - 1))]
    found["prefix (typing)"] = " ".join([*chosen[:-1], cut])
    return found


def generate(products: list[dict[str, Any]], seed: int) -> list[tuple[str, str, str]]:
    """(kind, query, product id) for the whole catalog, the same for a given seed."""
    rng = random.Random(seed)
    synonyms = synonym_map()
    rows = []
    for product in products:
        for kind, query in queries_for(product, rng, synonyms).items():
            rows.append((kind, query, product["id"]))
    return rows


def shop_engine(products: list[dict[str, Any]]) -> tuple[Engine, Callable[[], None]]:
    """The shop's search_products over its own index of the catalog (chalicelib/search/)."""
    import tempfile

    import tantivy

    from bench.search import MemoryTable
    from chalicelib.catalog.product import Product
    from chalicelib.search.index import SearchIndex, build

    catalog = [Product.model_validate(p) for p in products]
    folder = tempfile.mkdtemp(prefix="quality-")
    build(folder, catalog)
    index = SearchIndex(tantivy.Index.open(folder))
    table = MemoryTable({p.id: p for p in catalog})

    def search(query: str) -> list[str]:
        return [p.id for p in search_products(table, index, SearchParams(q=query, limit=TOP)).items]

    return search, lambda: None


# Natural phrasing and topical queries, each with what a right answer is: P@10
# is the share of the first 10 results (or of all right answers, if fewer)
# that are right.
def _has(*words: str) -> Callable[[dict[str, Any]], bool]:
    return lambda p: any(w in fold(p["name"] + " " + p["description"]) for w in words)


TOPICAL: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("food for my old dog", lambda p: p["species"] == "dog" and p["category"] == "food"),
    ("what can my puppy chew on", lambda p: p["species"] == "dog" and _has("chew")(p)),
    ("something to keep my cat busy", lambda p: p["species"] == "cat" and p["category"] == "toys"),
    ("small cat bowl", lambda p: p["species"] == "cat" and _has("bowl")(p)),
    ("stop my cat getting hairballs", _has("hairball")),
    ("a comfy bed for my dog", lambda p: p["species"] == "dog" and p["category"] == "beds"),
    ("toys for my parrot", lambda p: p["species"] == "bird" and p["category"] == "toys"),
    ("a tank for my fish", lambda p: p["species"] == "fish" and p["category"] == "habitats"),
    ("treats to train my puppy", lambda p: p["species"] == "dog" and p["category"] == "treats"),
    ("shampoo for my dog", lambda p: p["species"] == "dog" and p["category"] == "grooming"),
    ("hay for my rabbit", lambda p: p["species"] == "small_animal" and _has("hay")(p)),
    ("heat lamp for my lizard", lambda p: p["species"] == "reptile" and _has("heat", "lamp", "basking")(p)),
    ("cat food", lambda p: p["species"] == "cat" and p["category"] == "food"),
    ("dog toys", lambda p: p["species"] == "dog" and p["category"] == "toys"),
    ("catfood", lambda p: p["species"] == "cat" and p["category"] == "food"),
    ("dogbed", lambda p: p["species"] == "dog" and p["category"] == "beds"),
]


def precision(engine: Engine, products: list[dict[str, Any]]) -> float:
    """Mean P@10 over the topical queries."""
    right = {q: {p["id"] for p in products if is_right(p)} for q, is_right in TOPICAL}
    scores = [len(set(engine(q)[:TOP]) & right[q]) / min(TOP, len(right[q])) for q, _ in TOPICAL]
    return sum(scores) / len(scores)


def reference_engine(products: list[dict[str, Any]]) -> Engine | None:
    """tantivy over the same products, or None when it is not installed."""
    try:
        import tantivy
    except ImportError:
        return None
    fields = ["name", "brand", "category", "species", "description"]
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for field in fields:
        builder.add_text_field(field, tokenizer_name="en_stem")
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer()
    for p in products:
        doc = {f: p[f].replace("_", " ") for f in fields}
        writer.add_document(tantivy.Document(id=p["id"], **doc))
    writer.commit()
    index.reload()
    searcher = index.searcher()
    fuzzy = {field: (False, 1, True) for field in fields}

    def search(query: str) -> list[str]:
        text = fold(query)
        if not text:
            return []
        parsed = index.parse_query(text, fields, fuzzy_fields=fuzzy)
        hits = searcher.search(parsed, TOP).hits
        return [searcher.doc(address)["id"][0] for _, address in hits]

    return search


def score(engine: Engine, rows: list[tuple[str, str, str]]) -> dict[str, dict[str, float]]:
    """recall@10 and MRR per kind."""
    ranks: dict[str, list[int | None]] = defaultdict(list)
    for kind, query, product_id in rows:
        found = engine(query)[:TOP]
        ranks[kind].append(found.index(product_id) + 1 if product_id in found else None)
    return {
        kind: {
            "queries": len(r),
            "recall_at_10": sum(x is not None for x in r) / len(r),
            "mrr": sum(1 / x for x in r if x is not None) / len(r),
        }
        for kind, r in ranks.items()
    }


def report(shop: dict[str, dict[str, float]], reference: dict[str, dict[str, float]] | None) -> str:
    header = "| kind | queries | shop recall@10 | shop MRR |"
    header += " reference recall@10 | reference MRR |" if reference else ""
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for kind in KINDS:
        if kind not in shop or "recall_at_10" not in shop[kind]:
            continue
        s = shop[kind]
        line = f"| {kind} | {s['queries']:.0f} | {s['recall_at_10']:.3f} | {s['mrr']:.3f} |"
        if reference:
            r = reference[kind]
            line += f" {r['recall_at_10']:.3f} | {r['mrr']:.3f} |"
        lines.append(line)
    return "\n".join(lines)


def misses(engine: Engine, rows: list[tuple[str, str, str]], kind: str, show: int) -> list[str]:
    return [f"  {q!r} -> {pid}" for k, q, pid in rows if k == kind and pid not in engine(q)[:TOP]][:show]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--every", type=int, default=1, help="queries of every Nth product only (quicker)")
    parser.add_argument("--show-misses", type=int, default=0, help="print up to N missed queries per kind")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "search_quality.json")
    args = parser.parse_args(argv)

    products = json.loads(CATALOG.read_text())
    rows = generate(products, args.seed)
    searched = {p["id"] for p in products[:: args.every]}
    rows = [row for row in rows if row[2] in searched]
    reference = reference_engine(products)
    if reference is None:
        print(
            "tantivy is not installed: the reference column is left out "
            "(.venv/bin/python -m pip install tantivy to add it)",
            file=sys.stderr,
        )
    shop, stop = shop_engine(products)
    try:
        shop_scores = score(shop, rows)
        shop_scores["natural phrasing and topical (P@10)"] = {
            "queries": len(TOPICAL),
            "p_at_10": precision(shop, products),
        }
        if args.show_misses:
            for kind in KINDS:
                print(f"{kind}:", *misses(shop, rows, kind, args.show_misses), sep="\n")
    finally:
        stop()
    reference_scores = score(reference, rows) if reference else None
    if reference and reference_scores is not None:
        reference_scores["natural phrasing and topical (P@10)"] = {
            "queries": len(TOPICAL),
            "p_at_10": precision(reference, products),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seed": args.seed, "shop": shop_scores, "reference": reference_scores}, indent=1))
    print(f"{len(products)} products, {len(rows)} queries, seed {args.seed}\n")
    print(report(shop_scores, reference_scores))
    natural = "natural phrasing and topical (P@10)"
    line = f"\n{natural}: shop {shop_scores[natural]['p_at_10']:.2f}"
    if reference_scores:
        line += f", reference {reference_scores[natural]['p_at_10']:.2f}"
    print(line + f" ({len(TOPICAL)} queries)")


if __name__ == "__main__":
    main()
