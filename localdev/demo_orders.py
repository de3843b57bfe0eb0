"""A short order history for the demo shopper, placed through the shop's API.

A fresh `make run` has sold nothing: every product ties at 0 units, so the
front page (best selling first) opens alphabetically and the Best sellers
section is empty. So the local stack places, in the background once the API
is up, a few orders as the demo shopper would: signed in to the user pool
(USER_PASSWORD_AUTH, as the SPA does), then ``POST /orders`` on the local
API with the shopper's token, a JSON body like the SPA's checkout
(frontend/js/checkout.js) and an ``Idempotency-Key``. The order events
handler (the stream pump) then moves the sales counters and the indexer
reindexes the units sold, as for any order.

The plan (``plan_orders``) is deterministic, from data/products.json alone:
``len(UNITS)`` products, spread across species and categories, each with
seed stock enough to sell its units and stay above the low-stock threshold,
sell ``UNITS`` units (all different: the ranking is clear) over ``ORDERS``
orders of two or three lines each.

Once per data dir: each order placed (or skipped: its products gone or
short) is written down in ``<data dir>/demo-orders.jsonl`` after its answer,
and an order written down is never sent again. An order sent but not yet
written down (a crash in between) is sent again at the next start with the
same key (``local-demo-NN``) and body: the API replays it instead of
placing a second one. LOCAL_DEMO_ORDERS=0 places none.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from chalicelib.catalog.product import ProductFields
from chalicelib.orders.follow_ups import LOW_STOCK_THRESHOLD

logger = logging.getLogger(__name__)

UNITS = (12, 10, 9, 8, 7, 6, 5, 4, 3, 2)  # units sold per planned product, the best seller first
ORDERS = 12
MAX_LINE_QUANTITY = 3
SHIPPING_ADDRESS = {
    "name": "Sam Shopper",
    "line1": "12 Example Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
REQUEST_TIMEOUT_S = 30


@dataclass(frozen=True)
class DemoOrder:
    key: str  # the Idempotency-Key
    lines: tuple[tuple[str, int], ...]  # (product id, quantity)


def pick_products(catalog: Sequence[ProductFields], units: Sequence[int] = UNITS) -> list[tuple[str, ProductFields]]:
    """One product per entry of ``units``: species in turn, each time a category not used yet
    (any other product once they are), the first by id with seed stock to spare."""
    by_species: dict[str, list[tuple[str, ProductFields]]] = {}
    identified = [(str(pid), p) for p in catalog if (pid := getattr(p, "id", None))]  # the seed file's have ids
    for product_id, product in sorted(identified, key=lambda found: found[0]):
        by_species.setdefault(str(product.species), []).append((product_id, product))
    species = sorted(by_species)
    picked: list[tuple[str, ProductFields]] = []
    used_categories: set[tuple[str, str]] = set()
    turn = 0
    while len(picked) < len(units) and turn < len(units) * max(1, len(species)) * 4:
        kind = species[turn % len(species)]
        turn += 1
        wanted = units[len(picked)]
        fits = [f for f in by_species[kind] if f not in picked and f[1].stock >= wanted + LOW_STOCK_THRESHOLD]
        fresh = [f for f in fits if (kind, str(f[1].category)) not in used_categories]
        if fresh or fits:
            choice = (fresh or fits)[0]
            picked.append(choice)
            used_categories.add((kind, str(choice[1].category)))
    return picked


def plan_orders(
    catalog: Sequence[ProductFields], units: Sequence[int] = UNITS, orders: int = ORDERS
) -> list[DemoOrder]:
    """The demo orders: each picked product's units split into lines of at most
    ``MAX_LINE_QUANTITY`` (3, 1, 2, ...), dealt in turn to the orders (a product is on an order once)."""
    picked = pick_products(catalog, units)
    lines: list[list[tuple[str, int]]] = [[] for _ in range(orders)]
    dealt = 0
    for (product_id, _), total in zip(picked, units, strict=False):
        left = total
        while left:
            quantity = min(left, MAX_LINE_QUANTITY)
            lines[dealt % orders].append((product_id, quantity))
            dealt += 1
            left -= quantity
    return [DemoOrder(f"local-demo-{n:02d}", tuple(found)) for n, found in enumerate(lines, 1) if found]


def expected_best_sellers(plan: Sequence[DemoOrder]) -> list[tuple[str, int]]:
    """(product id, units sold) once every order of ``plan`` is placed, the most units first."""
    units: dict[str, int] = {}
    for order in plan:
        for product_id, quantity in order.lines:
            units[product_id] = units.get(product_id, 0) + quantity
    return sorted(units.items(), key=lambda item: -item[1])


class DemoOrders:
    """Places ``plan`` as ``email`` through the API at ``api_url``, in a background thread."""

    def __init__(
        self,
        plan: Sequence[DemoOrder],
        api_url: str,
        auth: dict[str, str],
        email: str,
        password: str,
        record_file: Path,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self.plan, self.api_url, self.auth = list(plan), api_url.rstrip("/"), auth
        self.email, self.password, self.record_file = email, password, record_file
        self.out = out or functools.partial(print, flush=True)  # progress, under the banner
        self.placed = 0
        self.replayed = 0
        self.skipped = 0
        self.done = threading.Event()  # the run ended (all placed, nothing to do, or given up)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DemoOrders:
        self._thread = threading.Thread(target=self._run, daemon=True, name="demo-orders")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=REQUEST_TIMEOUT_S)

    def todo(self) -> list[DemoOrder]:
        recorded = self._recorded()
        return [order for order in self.plan if order.key not in recorded]

    def _run(self) -> None:
        try:
            self._place_all()
        except Exception:
            logger.exception("demo orders: could not place them (the next start tries again)")
        finally:
            self.done.set()

    def _place_all(self) -> None:
        started = time.monotonic()
        todo = self.todo()
        if not todo:
            self.out(f"demo orders: none to place ({len(self.plan)} placed before, {self.record_file.name})")
            return
        self.out(f"demo orders: placing {len(todo)} for {self.email} in the background (LOCAL_DEMO_ORDERS=0 to skip)")
        headers = {"Authorization": "Bearer " + self._sign_in()}
        for order in todo:
            if self._stop.is_set():
                return
            lines = [(pid, qty) for pid, qty in order.lines if self._available(pid, qty)]
            if not lines:
                self.skipped += 1
                self._record(order.key, None)
                continue
            body = {
                "items": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
                "shipping_address": SHIPPING_ADDRESS,
            }
            status, answer, replayed = self._post(body, {**headers, "Idempotency-Key": order.key})
            if status == 201:
                self.placed += 1
                self.replayed += replayed
                self._record(order.key, str(answer["id"]))
            elif status in (400, 409):  # short meanwhile, or a product gone: this one is left out for good
                logger.warning("demo orders: %s refused (%s): %s", order.key, status, answer)
                self.skipped += 1
                self._record(order.key, None)
            else:
                raise RuntimeError(f"POST /orders answered {status}: {answer}")
        replays = f", {self.replayed} of them replayed" if self.replayed else ""
        skips = f", {self.skipped} left out (products gone or short)" if self.skipped else ""
        self.out(
            f"demo orders: {self.placed} placed in {time.monotonic() - started:.1f} s{replays}{skips}; "
            f"best sellers: {self.api_url}/products/best-sellers"
        )

    def _sign_in(self) -> str:
        cognito = boto3.session.Session().client(
            "cognito-idp", endpoint_url=self.auth["endpoint"], region_name=self.auth["region"]
        )
        result = cognito.initiate_auth(
            ClientId=self.auth["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": self.email, "PASSWORD": self.password},
        )
        return str(result["AuthenticationResult"]["AccessToken"])

    def _available(self, product_id: str, quantity: int) -> bool:
        """Still in the catalog, with ``quantity`` in stock (GET /products/{id})."""
        status, product, _ = self._call("GET", f"/products/{product_id}", None, {})
        if status == 404:
            return False
        if status != 200:
            raise RuntimeError(f"GET /products/{product_id} answered {status}: {product}")
        return int(product.get("stock", 0)) >= quantity

    def _post(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any, bool]:
        return self._call("POST", "/orders", body, {**headers, "Content-Type": "application/json"})

    def _call(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any, bool]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api_url + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310  # nosec B310
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                return response.status, json.loads(response.read() or b"null"), replayed
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read() or b"null")
            except ValueError:
                answer = None
            return exc.code, answer, False

    def _recorded(self) -> set[str]:
        """The keys of the orders placed or left out here before (a line cut short by a crash is left out)."""
        found: set[str] = set()
        if self.record_file.exists():
            for line in self.record_file.read_text().splitlines():
                try:
                    found.add(str(json.loads(line)["key"]))
                except (ValueError, KeyError, TypeError):
                    continue
        return found

    def _record(self, key: str, order_id: str | None) -> None:
        self.record_file.parent.mkdir(parents=True, exist_ok=True)
        line = "\n" + json.dumps({"key": key, "order_id": order_id})
        with os.fdopen(os.open(self.record_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "w") as out:
            out.write(line)
