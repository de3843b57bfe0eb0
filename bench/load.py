"""The local stack under a mixed load of concurrent clients.

    make bench-load        # .venv/bin/python -m bench.load --clients 32 --seconds 60

Starts the shop as `make run` does (its own process, free loopback ports, a
fresh data directory), then runs ``--clients`` clients for ``--seconds``, each
sending one request after another: 80 % searches (GET /products with words,
filters and sorts), 15 % product pages (GET /products/{id}) and 5 % purchases
(POST /orders by the demo shopper, one or two units of one of a few products
made scarce for the run, each with a new Idempotency-Key).

It passes when there was no connection error and no 5xx, and afterwards no
product was oversold: every order that was accepted (201) is in the shopper's
orders with the lines that were asked for, and each product's stock is its
starting stock minus what those orders bought. Prints throughput and p50/p99
latency per kind of request; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

from chalicelib.platform.config import local_stack_file
from infra.template import ROOT
from tests.support.ports import free_port

from .common import percentile

SHARES = (("search", 80), ("product", 15), ("purchase", 5))
SCARCE_PRODUCTS, SCARCE_STOCK = 3, 4  # purchases compete for these 12 units: some sell out
SEARCHES = (
    {"q": "salmon"},
    {"q": "cat"},
    {"q": "dog toy"},
    {"q": "catnip"},
    {"q": "tre"},
    {"q": "bed", "sort": "price_asc"},
    {"species": "dog", "category": "toys"},
    {"category": "food", "in_stock": "true", "sort": "price_desc"},
    {"q": "chew", "max_price": "2000"},
    {"brand": "Barkwell", "sort": "name"},
)
ADDRESS = {"name": "Load Tester", "line1": "1 Loop Road", "city": "Localhost", "postal_code": "127", "country": "US"}
STARTUP_TIMEOUT_S = 300


@dataclass
class Tally:
    """What one client saw."""

    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    connection_errors: list[str] = field(default_factory=list)
    accepted: dict[str, dict[str, int]] = field(default_factory=dict)  # order id -> product id -> quantity


@dataclass
class Shop:
    api: str
    shopper: dict[str, str]
    admin: dict[str, str]
    product_ids: list[str]
    scarce: list[str]


# -- the stack ------------------------------------------------------------------
def start_stack(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update({name: str(free_port()) for name in ("API_PORT", "WEB_PORT", "AWS_PORT")})
    env["LOCAL_DATA_DIR"] = str(data_dir)
    env["LOCAL_PHOTOS"] = "0"  # the load is the shop's, not the seeded photos being made
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.local_stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if "Press Ctrl-C to stop" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT_S) or process.poll() is not None:
        process.kill()
        raise SystemExit("the local stack did not start")
    return process, env


def stop_stack(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def bearer(data_dir: Path, email: str, password: str) -> dict[str, str]:
    """Sign in as the SPA does, with the user pool the stack wrote to its stack file."""
    auth = json.loads(local_stack_file({"LOCAL_DATA_DIR": str(data_dir)}).read_text())["auth"]
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=auth["endpoint"],
        region_name=auth["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # moto accepts any; never real AWS
    )
    result = cognito.initiate_auth(
        ClientId=auth["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return {"Authorization": "Bearer " + result["AuthenticationResult"]["AccessToken"]}


def prepare(api: str, data_dir: Path) -> Shop:
    admin = bearer(data_dir, "admin@example.com", "Admin-pass-1")
    shopper = bearer(data_dir, "shopper@example.com", "Shopper-pass-1")
    listed = requests.get(f"{api}/products", params={"limit": 100}, timeout=60).json()["items"]
    scarce = []
    for n in range(SCARCE_PRODUCTS):
        product = {
            "name": f"Load Test Limited Edition Bowl {n}",
            "description": "Few of them: buyers compete for the last ones.",
            "species": "dog",
            "category": "accessories",
            "brand": "Loadtest",
            "price_cents": 1000 + n,
            "stock": SCARCE_STOCK,
        }
        created = requests.post(f"{api}/products", json=product, headers=admin, timeout=60)
        created.raise_for_status()
        scarce.append(created.json()["id"])
    return Shop(api, shopper, admin, [p["id"] for p in listed], scarce)


# -- the clients ------------------------------------------------------------------
def run_client(shop: Shop, seed: int, until: float, tally: Tally) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*SHARES, strict=True)
    with requests.Session() as session:
        while time.monotonic() < until:
            kind = rng.choices(kinds, weights)[0]
            method, url, options, lines = request_for(kind, shop, rng)
            started = time.perf_counter()
            try:
                response = session.request(method, url, timeout=60, **options)
            except requests.ConnectionError as exc:
                tally.connection_errors.append(f"{kind}: {exc}")
                continue
            tally.latencies_ms[kind].append((time.perf_counter() - started) * 1000)
            tally.statuses[(kind, response.status_code)] += 1
            if kind == "purchase" and response.status_code == 201:
                tally.accepted[response.json()["id"]] = lines


def request_for(kind: str, shop: Shop, rng: random.Random) -> tuple[str, str, dict[str, Any], dict[str, int]]:
    if kind == "search":
        return "GET", f"{shop.api}/products", {"params": rng.choice(SEARCHES)}, {}
    if kind == "product":
        return "GET", f"{shop.api}/products/{rng.choice(shop.product_ids)}", {}, {}
    product_id, quantity = rng.choice(shop.scarce), rng.randint(1, 2)
    body = {"items": [{"product_id": product_id, "quantity": quantity}], "shipping_address": ADDRESS}
    headers = {**shop.shopper, "Idempotency-Key": uuid.uuid4().hex}
    return "POST", f"{shop.api}/orders", {"json": body, "headers": headers}, {product_id: quantity}


# -- the checks afterwards --------------------------------------------------------------
def shoppers_orders(shop: Shop) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{shop.api}/orders", params=params, headers=shop.shopper, timeout=60).json()
        found.update({order["id"]: order for order in page["items"]})
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def consistency_problems(shop: Shop, accepted: dict[str, dict[str, int]]) -> list[str]:
    problems = []
    listed = shoppers_orders(shop)
    bought: Counter[str] = Counter()
    for order_id, lines in accepted.items():
        order = listed.get(order_id)
        if order is None:
            problems.append(f"accepted order {order_id} is not in the shopper's orders")
            continue
        if {line["product_id"]: line["quantity"] for line in order["items"]} != lines:
            problems.append(f"order {order_id} holds {order['items']}, not {lines}")
        bought.update(lines)
    for product_id in shop.scarce:
        stock = requests.get(f"{shop.api}/products/{product_id}", timeout=60).json()["stock"]
        if stock < 0 or stock != SCARCE_STOCK - bought[product_id]:
            problems.append(f"{product_id}: stock {stock}, but {SCARCE_STOCK} - {bought[product_id]} bought")
    return problems


def report(tallies: list[Tally], seconds: float, clients: int, problems: list[str]) -> bool:
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[tuple[str, int]] = Counter()
    errors = [error for tally in tallies for error in tally.connection_errors]
    for tally in tallies:
        statuses.update(tally.statuses)
        for kind, samples in tally.latencies_ms.items():
            latencies[kind].extend(samples)
    every = [sample for samples in latencies.values() for sample in samples]
    server_errors = sum(count for (_, status), count in statuses.items() if status >= 500)
    print(f"{clients} clients for {seconds:.0f} s: {len(every)} requests, {len(every) / seconds:.1f} requests/s")
    print("| requests | count | per second | p50 ms | p99 ms | statuses |")
    print("|---|---|---|---|---|---|")
    for kind, samples in [*sorted(latencies.items()), ("all", every)]:
        if not samples:
            continue
        counted = Counter({status: n for (k, status), n in statuses.items() if k == kind})
        if kind == "all":
            counted = Counter(status for (_, status), n in statuses.items() for _ in range(n))
        seen = ", ".join(f"{status}: {n}" for status, n in sorted(counted.items()))
        line = f"| {kind} | {len(samples)} | {len(samples) / seconds:.1f} | {percentile(samples, 50):.0f}"
        print(f"{line} | {percentile(samples, 99):.0f} | {seen} |")
    accepted = sum(len(tally.accepted) for tally in tallies)
    print(f"connection errors: {len(errors)}; 5xx: {server_errors}; orders accepted: {accepted}")
    for problem in [*errors[:5], *problems]:
        print("  " + problem)
    print("consistent: stock and orders agree" if not problems else f"NOT consistent: {len(problems)} problems")
    return not errors and not server_errors and not problems and bool(every)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="petstore-load-") as data:
        data_dir = Path(data)
        process, env = start_stack(data_dir)
        try:
            shop = prepare(f"http://127.0.0.1:{env['API_PORT']}", data_dir)
            tallies = [Tally() for _ in range(args.clients)]
            started = time.monotonic()
            until = started + args.seconds
            clients = [
                threading.Thread(target=run_client, args=(shop, n, until, tallies[n]), daemon=True)
                for n in range(args.clients)
            ]
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            elapsed = time.monotonic() - started  # the last requests end after ``until``
            accepted = {order: lines for tally in tallies for order, lines in tally.accepted.items()}
            passed = report(tallies, elapsed, args.clients, consistency_problems(shop, accepted))
        finally:
            stop_stack(process)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
