"""Search benchmark: the tantivy index at several catalog sizes, in process,
beside a baseline measured in the same run (a brute-force scan of the same
products in Python: every product's words tested against every query word).

    make bench                                  # 1k, 10k, 50k and 200k products
    make bench BENCH_ARGS="--sizes 1000 5000"   # quicker

For each size, N generated products (localdev/generate_catalog.py) are indexed
by the functions the indexer uses (chalicelib/search/index.py): build time,
size on disk, the time to open it and answer a first, corrected search (what
a search container pays once at cold start, S3 download aside; the download
is in `make bench-coldstart`'s first request), then a fixed mix of
queries through ``search_products`` (understanding, ranking over the whole
result, exact facets; the page's products read from an in-memory table, so
the figures are the engine's, not moto's): p50 and p99 per query, and the
same mix through the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import tantivy

from bench.common import percentile
from chalicelib.catalog.product import Product
from chalicelib.platform.folding import fold
from chalicelib.search.index import SearchIndex, build
from chalicelib.search.language import parse_query, stem, words
from chalicelib.search.results import SearchParams
from chalicelib.search.service import search_products
from localdev.generate_catalog import generate

QUERIES: tuple[dict[str, Any], ...] = (
    {"q": "dog food"},
    {"q": "food for my old dog"},
    {"q": "salmn treats"},
    {"q": "pupp"},
    {"q": "catfood"},
    {"q": "cat toy", "sort": "price_asc"},
    {"q": "bed", "species": "dog", "in_stock": True},
    {"category": "toys", "sort": "name"},
    {"q": "organic chicken", "max_price": 3000},
    {},
)
ROUNDS = 20


class MemoryTable:
    """What search_products needs of the table: BatchGetItem of a page."""

    name = "bench"

    def __init__(self, products: dict[str, Product]) -> None:
        self.products = products
        self.meta = self
        self.client = self

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        keys = RequestItems[self.name]["Keys"]
        found = [self.products[k["PK"].removeprefix("PRODUCT#")] for k in keys]
        return {"Responses": {self.name: [{**p.model_dump(mode="json"), "PK": f"PRODUCT#{p.id}"} for p in found]}}


def baseline(products: list[Product], params: dict[str, Any]) -> int:
    """Every product tested against every word: what a search without an index costs."""
    terms = parse_query(params.get("q", ""))
    hits = 0
    for p in products:
        text = set(words(" ".join((p.name, p.brand, p.category.value, p.species.value, p.description))))
        stems = {stem(w) for w in text}
        if all(t.stemmed in stems or any(w.startswith(t.word) for w in text) for t in terms):
            hits += 1
    return hits


def measure(size: int) -> dict[str, float]:
    products = [Product.model_validate(p) for p in generate(size)]
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{size}-"))
    started = time.perf_counter()
    build(str(folder), products)
    built_s = time.perf_counter() - started
    size_mb = sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6
    table = MemoryTable({p.id: p for p in products})
    started = time.perf_counter()
    index = SearchIndex(tantivy.Index.open(str(folder)))
    open_ms = (time.perf_counter() - started) * 1000
    # A cold container's first search: a corrected query reads the whole vocabulary once.
    search_products(table, index, SearchParams(q="salmn treats"))
    first_ms = (time.perf_counter() - started) * 1000
    latencies: list[float] = []
    for _ in range(ROUNDS):
        for params in QUERIES:
            started = time.perf_counter()
            search_products(table, index, SearchParams.model_validate(params))
            latencies.append((time.perf_counter() - started) * 1000)
    base: list[float] = []
    for params in QUERIES[:3]:
        started = time.perf_counter()
        baseline(products, params)
        base.append((time.perf_counter() - started) * 1000)
    return {
        "build_s": built_s,
        "size_mb": size_mb,
        "open_ms": open_ms,
        "first_ms": first_ms,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 99),
        "baseline_ms": statistics.median(base),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000, 200000])
    args = parser.parse_args(argv)
    print(f"{len(QUERIES)} queries x {ROUNDS} rounds through search_products (facets included)")
    print("| products | build | index size | open | open + first search | p50 | p99 | brute-force scan (p50) | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        m = measure(size)
        print(
            f"| {size:,} | {m['build_s']:.2f} s | {m['size_mb']:.1f} MB | {m['open_ms']:.1f} ms | "
            f"{m['first_ms']:.0f} ms | "
            f"{m['p50_ms']:.1f} ms | {m['p99_ms']:.1f} ms | {m['baseline_ms']:.0f} ms | "
            f"{m['baseline_ms'] / m['p50_ms']:.0f}x |",
            flush=True,
        )


if __name__ == "__main__":
    fold("")  # the stemmer loads before anything is timed
    main()
