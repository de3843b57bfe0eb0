"""Search benchmark: DynamoDB items read and latency per query, at several
catalog sizes, side by side with a Scan-with-contains baseline.

    make bench                                  # 1k, 10k and 50k products
    make bench BENCH_ARGS="--sizes 1000 5000"   # quicker

For each size, N generated products (scripts/generate_catalog.py) go into the
embedded AWS of the local stack (moto's server on loopback): once as the shop
stores them (products + search index, chalicelib/catalog.py), and once as a
naive sample would (one item per product, searched with a Scan and
`contains`). Then a fixed mix of queries runs through boto3 over HTTP:
`chalicelib.search.search_products` for the shop, a paginated Scan for the
baseline, which has to read every item to rank and page its results.

"Items read" counts what DynamoDB evaluates (Query/Scan ScannedCount, plus
the products fetched by BatchGetItem), as moto's consumed capacity is partial.
It is the mean per page over the first pages of each query that more pages
follow (--pages, 5; a last page reads only what is left):
what one page costs is a random draw (how far down its list a page's
matches happen to lie; for a filter that passes 1 entry in 6, one page's
read varies by about a fifth either way), so a single page at each size
would compare draws, not costs. The first page alone is in the raw figures.
Latency is measured on moto, whose Query walks every item of the table: it
shows moto's cost, not DynamoDB's, which answers a Query from one partition.

To keep the setup short, bulk loading writes the items (built by the same
functions the import command uses) straight into the embedded DynamoDB's
memory instead of through 50,000 BatchWriteItem calls; every measured query
goes through boto3 and HTTP like the app's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr
from boto3.dynamodb.types import TypeSerializer
from tqdm import tqdm

from chalicelib.catalog import index_entries, product_item, product_words, vocabulary_items
from chalicelib.models import Product, SearchParams
from chalicelib.search import search_products
from chalicelib.text import fold
from scripts.generate_catalog import generate
from scripts.resources import ROOT, create_table, fake_aws_environment, start_embedded_aws
from tests.conftest import free_port

from .common import percentile

# (label, parameters, rare): the mix every size runs. All but the rare ones
# match more than a page at 1k, so their cost is the cost of filling a page.
QUERIES: list[tuple[str, dict[str, Any], bool]] = [
    ("one word", {"q": "salmon "}, False),
    ("one common word", {"q": "dog "}, False),
    ("multi-word", {"q": "easy clean dog "}, False),
    ("multi-word, long", {"q": "vet approved formula minerals "}, False),
    ("prefix (typing)", {"q": "hamst"}, False),
    ("words + prefix", {"q": "easy cl"}, False),
    ("filter only", {"species": "cat", "in_stock": True}, False),
    ("filter only, by price", {"sort": "price_asc", "min_price": 1000, "max_price": 2000}, False),
    ("brand, by name", {"brand": "Barkwell", "sort": "name"}, False),
    ("text + filters", {"q": "bed ", "in_stock": True, "max_price": 15000}, False),
    ("text + filters, by price", {"q": "bed ", "max_price": 5000, "sort": "price_desc"}, False),
    ("corrected (1 typo)", {"q": "salmn "}, False),
    ("corrected (2 typos)", {"q": "waterporf "}, False),
    ("corrected, typing", {"q": "orthopdi"}, False),
    ("filler + typo", {"q": "i need salmn please "}, False),
    ("unknown word dropped", {"q": "zebra leash "}, False),
    ("word alone, with synonyms", {"q": "kitten "}, False),
    ("word + a word with synonyms", {"q": "easy dog "}, False),
    ("rare: 3 words, 1 in 1,000", {"q": "chicken puppy treats "}, True),
    ("rare: corrected, 2 words, 1 in 200", {"q": "orthopdic bed "}, True),
    ("rare: relaxed, never together", {"q": "hammock shampoo "}, True),
]
PAGE = 24
PAGES = 5


def load_direct(table_name: str, products: list[Product], with_index: bool) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    serialize = TypeSerializer().serialize
    vocabulary: set[str] = set()
    for product in tqdm(products, desc=f"loading {table_name}", unit="product", leave=False):
        entries = index_entries(product) if with_index else []
        items = [product_item(product, entries), *entries] if with_index else [_baseline_item(product)]
        vocabulary |= product_words(product) if with_index else set()
        for item in items:
            backend.put_item(table_name, {k: serialize(v) for k, v in item.items()})
    for item in vocabulary_items(vocabulary):
        backend.put_item(table_name, {k: serialize(v) for k, v in item.items()})


def _baseline_item(product: Product) -> dict[str, Any]:
    """What a naive sample stores: the product, with a lower-cased search text."""
    data = product.model_dump(mode="json", exclude_none=True)
    return {
        "PK": f"PRODUCT#{product.id}",
        "SK": "PRODUCT",
        **data,
        "search_text": fold(f"{product.name} {product.description} {product.brand}"),
    }


def baseline_search(table: Any, params: dict[str, Any]) -> int:
    """Scan with contains(): every item is read, whatever the page size."""
    conditions = [Attr("search_text").contains(word) for word in fold(params.get("q", "")).split()]
    for name in ("species", "category", "brand"):
        if name in params:
            conditions.append(Attr(name).eq(params[name]))
    if "min_price" in params:
        conditions.append(Attr("price_cents").gte(params["min_price"]))
    if "max_price" in params:
        conditions.append(Attr("price_cents").lte(params["max_price"]))
    if params.get("in_stock"):
        conditions.append(Attr("stock").gt(0))
    kwargs: dict[str, Any] = {}
    if conditions:
        expression = conditions[0]
        for condition in conditions[1:]:
            expression = expression & condition
        kwargs["FilterExpression"] = expression
    read = 0
    while True:
        response = table.scan(**kwargs)
        read += int(response["ScannedCount"])
        if "LastEvaluatedKey" not in response:
            return read
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def pages_read(table: Any, search: SearchParams, pages: int) -> list[int]:
    """Items read by each of the first ``pages`` pages of a search that more
    pages follow: the last page of a search is as short as what is left, so
    it would make a small catalog look cheaper. A search of one page counts
    that page."""
    reads = []
    for _ in range(pages):
        result = search_products(table, search)
        if result.next_cursor is None:
            return reads or [result.items_read]
        reads.append(result.items_read)
        search = search.model_copy(update={"cursor": result.next_cursor})
    return reads


def run_size(size: int, repeats: int, pages: int = PAGES) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    resource = boto3.resource("dynamodb")
    shop_name, base_name = f"petstore-bench-{size}", f"petstore-baseline-{size}"
    create_table(client, shop_name)
    client.create_table(
        TableName=base_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    )
    products = [Product.model_validate(p) for p in generate(size)]
    load_direct(shop_name, products, with_index=True)
    load_direct(base_name, products, with_index=False)
    shop, base = resource.Table(shop_name), resource.Table(base_name)
    rows = []
    for label, params, _ in QUERIES:
        search = SearchParams.model_validate({**params, "limit": PAGE})
        latencies, read, requests, found = [], 0, 0, 0
        for _ in range(repeats):
            started = time.perf_counter()
            result = search_products(shop, search)
            latencies.append((time.perf_counter() - started) * 1000)
            first, requests, found = result.items_read, result.requests, len(result.items)
        per_page = pages_read(shop, search, pages)
        read = round(statistics.mean(per_page))
        started = time.perf_counter()
        base_read = baseline_search(base, params)
        base_ms = (time.perf_counter() - started) * 1000
        rows.append(
            {
                "size": size,
                "query": label,
                "params": params,
                "found": found,
                "items_read": read,  # mean per page over the first pages
                "items_read_per_page": per_page,
                "first_page_items_read": first,
                "requests": requests,
                "p50_ms": statistics.median(latencies),
                "p99_ms": percentile(latencies, 99),
                "baseline_items_read": base_read,
                "baseline_ms": base_ms,
            }
        )
        print(
            f"  {size:>6} {label:<26} read {read:>5} a page over {len(per_page)} (first {first}, "
            f"{requests} calls, {found:>2} found)  "
            f"p50 {rows[-1]['p50_ms']:7.1f} ms  p99 {rows[-1]['p99_ms']:7.1f} ms  | "
            f"baseline read {base_read:>6} in {base_ms:8.1f} ms",
            flush=True,
        )
    client.delete_table(TableName=shop_name)
    client.delete_table(TableName=base_name)
    return rows


def report(rows: list[dict[str, Any]], sizes: list[int]) -> str:
    small, large = min(sizes), max(sizes)
    lines = [
        "| query | "
        + " | ".join(f"items read a page @{s:,}" for s in sizes)
        + f" | flat ({large:,}/{small:,}) | Scan baseline @{large:,} | baseline / shop @{large:,} "
        + f"| p50 / p99 ms @{large:,} (moto) |",
        "|---" * (len(sizes) + 5) + "|",
    ]
    by = {(r["size"], r["query"]): r for r in rows}
    worst_flat, worst_ratio = 0.0, float("inf")
    for label, _, rare in QUERIES:
        reads = [by[(s, label)]["items_read"] for s in sizes]
        big = by[(large, label)]
        flat = reads[-1] / max(reads[0], 1)
        ratio = big["baseline_items_read"] / max(big["items_read"], 1)
        if not rare:
            worst_flat, worst_ratio = max(worst_flat, flat), min(worst_ratio, ratio)
        lines.append(
            f"| {label} | "
            + " | ".join(str(r) for r in reads)
            + f" | {flat:.2f}x | {big['baseline_items_read']:,} | {ratio:,.0f}x "
            + f"| {big['p50_ms']:.0f} / {big['p99_ms']:.0f} |"
        )
    lines.append("")
    lines.append(
        f"Worst flatness {worst_flat:.2f}x (target <= 1.5x); "
        f"fewest times fewer items than the baseline at {large:,}: {worst_ratio:,.0f}x (target >= 100x)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each query")
    parser.add_argument("--pages", type=int, default=PAGES, help="pages of each query its items read are averaged over")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "search.json")
    args = parser.parse_args(argv)

    port = free_port()
    server = start_embedded_aws(port)
    os.environ.update(fake_aws_environment(f"http://127.0.0.1:{port}"))
    rows: list[dict[str, Any]] = []
    try:
        for size in args.sizes:
            print(f"catalog of {size:,} products", flush=True)
            rows += run_size(size, args.repeats, args.pages)
    finally:
        server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    print()
    print(report(rows, args.sizes))
    print(f"\nraw figures: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
