"""Purchase cost: latency and DynamoDB requests per order on the local stack.

    make bench-purchase

Places N orders of 1-3 lines, one after another, through
``chalicelib.orders.place_order`` against moto's server on loopback (boto3
over HTTP, as the app runs), counting every DynamoDB call. Target: one read
batch (BatchGetItem) and one transaction (TransactWriteItems) per order; a
replay of the same Idempotency-Key is measured too. Latency is moto's.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from collections import Counter

import boto3

from chalicelib.catalog.product import ProductIn
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.catalog.products import import_products
from chalicelib.orders.checkout import place_order
from chalicelib.orders.order import OrderIn
from chalicelib.orders.order_table import DynamoOrderStore
from localdev.generate_catalog import generate
from localdev.resources import create_table, fake_aws_environment, start_embedded_aws
from tests.support.ports import free_port

from .common import percentile

ADDRESS = {"name": "Bench Buyer", "line1": "1 Loop", "city": "Localhost", "postal_code": "127", "country": "US"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--products", type=int, default=1000)
    args = parser.parse_args(argv)

    port = free_port()
    server = start_embedded_aws(port)
    os.environ.update(fake_aws_environment(f"http://127.0.0.1:{port}"))
    try:
        create_table(boto3.client("dynamodb"), "petstore-bench-orders")
        session = boto3.session.Session()
        calls: Counter[str] = Counter()
        session.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
        table = session.resource("dynamodb").Table("petstore-bench-orders")
        products = [ProductIn.model_validate({**p, "stock": 100_000}) for p in generate(args.products)]
        import_products(DynamoProductStore(table), products)
        calls.clear()
        rng = random.Random(7)
        latencies: list[float] = []
        last: tuple[str, OrderIn] | None = None
        for n in range(args.orders):
            lines = rng.sample(products, rng.randint(1, 3))
            body = OrderIn.model_validate(
                {
                    "items": [{"product_id": p.id, "quantity": rng.randint(1, 3)} for p in lines],
                    "shipping_address": ADDRESS,
                }
            )
            key = uuid.uuid4().hex
            started = time.perf_counter()
            place_order(DynamoOrderStore(table), f"bench-user-{n % 20}", key, body)
            latencies.append((time.perf_counter() - started) * 1000)
            last = (key, body)
        placed = Counter(calls)
        calls.clear()
        assert last is not None
        replay_ms = []
        for _ in range(50):
            started = time.perf_counter()
            place_order(DynamoOrderStore(table), f"bench-user-{(args.orders - 1) % 20}", *last)
            replay_ms.append((time.perf_counter() - started) * 1000)
        replayed = Counter(calls)
    finally:
        server.stop()

    print(f"{args.orders} orders, 1-3 lines each, {args.products:,} products")
    print("| | p50 ms | p99 ms | DynamoDB requests per order |")
    print("|---|---|---|---|")
    per_order = ", ".join(f"{op} {count / args.orders:g}" for op, count in sorted(placed.items()))
    per_replay = ", ".join(f"{op} {count / 50:g}" for op, count in sorted(replayed.items()))
    print(f"| new order | {statistics.median(latencies):.1f} | {percentile(latencies, 99):.1f} | {per_order} |")
    replay = f"{statistics.median(replay_ms):.1f} | {percentile(replay_ms, 99):.1f}"
    print(f"| replay (same key and body) | {replay} | {per_replay} |")


if __name__ == "__main__":
    main()
