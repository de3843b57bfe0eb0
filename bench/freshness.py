"""Freshness and write throughput of the local stack, as `make run` runs it.

    make bench-freshness                     # 10 edits, an import of 2,000 products
    python -m bench.freshness --edits 20 --import-size 5000

A fresh local stack is started on free ports (embedded AWS, API, the two
stream pumps), then:

- first start: from nothing to serving, seeded and indexed;
- freshness: a product's name is edited in the table (one UpdateItem, as the
  admin API does) and GET /products over HTTP is asked every 20 ms until it
  finds the new name: the stream pump, the indexer's new version and the
  search's refresh, end to end;
- import: N generated products through the import command's own function
  (BatchWriteItem, 25 a request), products a second, then how long until the
  index holds them all;
- latency: bench/search.py's query mix over HTTP on the grown catalog (p50,
  p99): chalice local, the real app, the page read from moto.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import requests

from bench.common import percentile
from bench.search import QUERIES
from chalicelib.catalog.product import ProductIn, ProductUpdate
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.catalog.products import import_products, update_product
from localdev.generate_catalog import generate
from localdev.local_stack import LocalStack
from tests.support.ports import free_port


def wait_for(api: str, q: str, wanted: str, timeout_s: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        found = requests.get(f"{api}/products", params={"q": q, "limit": 5}, timeout=30).json()
        if any(p["id"] == wanted for p in found.get("items", [])):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise SystemExit(f"{wanted} was still not found by {q!r} after {timeout_s} s")


def http_latency(api: str, rounds: int) -> None:
    """bench/search.py's query mix over HTTP (chalice local, the real app, moto's BatchGetItem)."""
    latencies: list[float] = []
    session = requests.Session()
    for _ in range(rounds):
        for params in QUERIES:
            started = time.perf_counter()
            response = session.get(f"{api}/products", params=params, timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    total = requests.get(f"{api}/products", params={"limit": 1}, timeout=30).json()["facets"]["counted"]
    print(
        f"GET /products over local HTTP, {total} products, {len(latencies)} requests: "
        f"p50 {statistics.median(latencies):.0f} ms, p99 {percentile(latencies, 99):.0f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--import-size", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the query mix over HTTP")
    args = parser.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    started = time.perf_counter()
    stack = LocalStack(free_port(), free_port(), free_port(), data_dir=data, serve_web=False).start()
    print(f"first start (seeded, indexed, serving): {time.perf_counter() - started:.1f} s")
    try:
        table = boto3.resource("dynamodb").Table(stack.table_name)
        ids = [item["id"] for item in table.scan(ProjectionExpression="id", Limit=args.edits * 3)["Items"]]
        delays = []
        for product_id in ids[: args.edits]:
            current = requests.get(f"{stack.api_url}/products/{product_id}", timeout=30).json()
            word = "zq" + uuid.uuid4().hex[:8]
            fields = {k: v for k, v in current.items() if k in ProductUpdate.model_fields and k != "stock"}
            changed = ProductUpdate.model_validate({**fields, "name": f"{word} Edited"})
            update_product(DynamoProductStore(table), product_id, changed)
            delays.append(wait_for(stack.api_url, f"{word} ", product_id))
        print(
            f"edit -> searchable over HTTP, {len(delays)} edits: median {statistics.median(delays) * 1000:.0f} ms, "
            f"max {max(delays) * 1000:.0f} ms"
        )
        products = [ProductIn.model_validate(p) for p in generate(args.import_size, seed=11)]
        started = time.perf_counter()
        written = import_products(DynamoProductStore(table), products)
        took = time.perf_counter() - started
        print(f"import: {written} products in {took:.1f} s, {written / took:.0f} products/s")
        last = products[-1]
        assert last.id, "generated products carry their id"
        indexed = wait_for(stack.api_url, last.name + " ", last.id, timeout_s=300)
        print(f"... and all of them searchable {indexed:.1f} s after the import ended")
        http_latency(stack.api_url, args.rounds)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
