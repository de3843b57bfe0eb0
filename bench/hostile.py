"""A hostile client against a fresh local stack: what it tried, and what failed, by kind.

    make bench-hostile                        # every family, about a minute
    python -m bench.hostile --fuzz 500        # more fuzzed requests

Loopback only: the stack is started on free ports in this process (embedded
AWS, API, SPA server, both stream pumps), and every request goes to it.
Bounded: each family makes a fixed number of requests. A failure is a case
whose answer is not what the shop promises (README, docs/auth.md); the run
exits non-zero if there is any.

Families:
- forged tokens: unsigned, HS256 with the public key, expired, another
  issuer or client, an ID token, an unknown key, tampered claims, an empty or
  blank `sub` (401), a group named `staff,admin` (403 on admin routes);
- fuzzed requests: random query strings on GET /products, random bodies on
  POST /orders and PUT /products/{id}: never a 5xx;
- races: buyers racing for the last units (never oversold), replays of one
  idempotency key (one order), admin edits racing buyers (every edit lands,
  no purchase lost), a cancel twice (stock back once);
- the truth of the order events: refused purchases send no mail and count
  no sale;
- raw HTTP: a bad Content-Length, HTTP/0.9, a body that never arrives: a
  400 or a closed connection, never a hang or a 5xx;
- origins: the embedded AWS refuses another origin's preflight and its data
  dump; every gateway 401/403 carries nosniff and no-store.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import string
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import jwt
import requests

from localdev.local_stack import LocalStack
from localdev.resources import DEMO_USERS
from tests.support.keys import SigningKey, claims, hs256_with_public_key, tamper, unsigned
from tests.support.ports import free_port

ADDRESS = {"name": "Ada", "line1": "1 Lane", "city": "Town", "postal_code": "1234", "country": "US"}
EVIL = "http://evil.example"


class Probe:
    def __init__(self, stack: LocalStack) -> None:
        self.stack, self.api, self.aws = stack, stack.api_url, stack.aws_url
        self.tried: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def check(self, family: str, ok: bool, what: str) -> None:
        self.tried[family] += 1
        if not ok:
            self.failed[family] += 1
            self.examples.setdefault(family, what)

    # -- tokens -------------------------------------------------------------------------
    def token(self, email: str, password: str, kind: str = "AccessToken") -> str:
        pool = self.stack.pool
        found = boto3.client("cognito-idp").initiate_auth(
            ClientId=pool["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
        return str(found[kind])

    def moto_signed(self, **extra: Any) -> str:
        import gzip

        import moto

        path = Path(moto.__file__).parent / "cognitoidp" / "resources" / "jwks-private.json.gz"
        with gzip.open(path) as file:
            private = json.loads(file.read())
        issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{self.stack.pool['user_pool_id']}"
        body = claims(issuer, **{"token_use": "access", "client_id": self.stack.pool["client_id"], **extra})
        return jwt.encode(body, jwt.PyJWK.from_dict(private).key, algorithm="RS256", headers={"kid": private["kid"]})

    def forged_tokens(self) -> None:
        shopper = self.token(DEMO_USERS[0][0], DEMO_USERS[0][1])
        now = int(time.time())
        issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{self.stack.pool['user_pool_id']}"
        stranger = SigningKey.generate("stranger")
        refused = {
            "no bearer": shopper,
            "garbled": "Bearer a.b.c",
            "alg none": "Bearer " + unsigned(claims(issuer, token_use="access"), "x"),
            "hs256 confusion": "Bearer " + hs256_with_public_key(claims(issuer), stranger),
            "expired": "Bearer " + self.moto_signed(exp=now - 600, iat=now - 4000),
            "future nbf": "Bearer " + self.moto_signed(nbf=now + 900),
            "other issuer": "Bearer " + jwt.encode(claims("https://evil.example"), "k" * 32, algorithm="HS256"),
            "other client": "Bearer " + self.moto_signed(client_id="someone-else"),
            "id token": "Bearer " + self.token(DEMO_USERS[0][0], DEMO_USERS[0][1], "IdToken"),
            "unknown key": "Bearer " + stranger.sign(claims(issuer, token_use="access")),
            "tampered": "Bearer " + tamper(shopper, **{"cognito:groups": ["admin"]}),
            "empty sub": "Bearer " + self.moto_signed(sub=""),
            "blank sub": "Bearer " + self.moto_signed(sub="   "),
            "oversized": "Bearer " + "a" * 9000,
        }
        for name, header in refused.items():
            for method, path in (("GET", "/me"), ("POST", "/products"), ("GET", "/orders")):
                answer = requests.request(method, self.api + path, headers={"Authorization": header}, timeout=30)
                self.check("forged tokens", answer.status_code == 401, f"{name} {method} {path}: {answer.status_code}")
                self.headers_of_refusal(answer, f"{name} {method} {path}")
        for method, path in (("GET", "/no-such-route"), ("DELETE", "/health")):  # API Gateway's own 403
            answer = requests.request(method, self.api + path, timeout=30)
            self.check("forged tokens", answer.status_code == 403, f"{method} {path}: {answer.status_code}")
            self.headers_of_refusal(answer, f"{method} {path}")
        comma = {"Authorization": "Bearer " + self.moto_signed(sub="comma", **{"cognito:groups": ["staff,admin"]})}
        answer = requests.post(self.api + "/products", headers=comma, json={}, timeout=30)
        self.check(
            "forged tokens", answer.status_code == 403, f"group 'staff,admin' POST /products: {answer.status_code}"
        )

    def headers_of_refusal(self, answer: requests.Response, what: str) -> None:
        ok = answer.headers.get("X-Content-Type-Options") == "nosniff" and "no-store" in answer.headers.get(
            "Cache-Control", ""
        )
        self.check("origins and headers", ok, f"{what}: headers {dict(answer.headers)}")

    # -- fuzz ---------------------------------------------------------------------------
    def fuzz(self, count: int, rng: random.Random) -> None:
        admin = {"Authorization": "Bearer " + self.token(DEMO_USERS[1][0], DEMO_USERS[1][1])}
        shopper = {"Authorization": "Bearer " + self.token(DEMO_USERS[0][0], DEMO_USERS[0][1])}
        product = requests.get(self.api + "/products", params={"limit": 1}, timeout=30).json()["items"][0]["id"]
        names = ["q", "species", "category", "brand", "min_price", "max_price", "in_stock", "sort", "limit", "cursor"]
        for _ in range(count):
            params = {rng.choice([*names, "zz"]): noise(rng) for _ in range(rng.randint(1, 4))}
            answer = requests.get(self.api + "/products", params=params, timeout=30)
            self.check("fuzzed requests", answer.status_code < 500, f"GET /products {params}: {answer.status_code}")
        for _ in range(count // 4):
            body = random_json(rng)
            headers = {**shopper, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
            answer = requests.post(self.api + "/orders", headers=headers, data=body, timeout=30)
            self.check("fuzzed requests", answer.status_code < 500, f"POST /orders {body[:80]!r}: {answer.status_code}")
            answer = requests.put(
                f"{self.api}/products/{product}", headers={**admin, "Content-Type": "application/json"}, data=body
            )
            self.check("fuzzed requests", answer.status_code < 500, f"PUT {body[:80]!r}: {answer.status_code}")

    # -- races --------------------------------------------------------------------------
    def races(self) -> None:
        admin = {"Authorization": "Bearer " + self.token(DEMO_USERS[1][0], DEMO_USERS[1][1])}
        shopper = {"Authorization": "Bearer " + self.token(DEMO_USERS[0][0], DEMO_USERS[0][1])}
        made = self.product(admin, "Hostile Race Chew", stock=5, price_cents=500)
        pid = made["id"]
        cart = {"items": [{"product_id": pid, "quantity": 1}], "shipping_address": ADDRESS}
        buys = concurrently(20, lambda n: self.buy(shopper, cart, uuid.uuid4().hex).status_code)
        stock = requests.get(f"{self.api}/products/{pid}", timeout=30).json()["stock"]
        self.check(
            "races", buys.count(201) == 5 and stock == 0, f"20 buyers for 5 units: {Counter(buys)}, stock {stock}"
        )
        self.restock(admin, pid, 30)
        key = uuid.uuid4().hex
        replays = concurrently(15, lambda n: self.buy(shopper, cart, key).json().get("id"))
        self.check("races", len(set(replays)) == 1 and None not in replays, f"15 replays of a key: {set(replays)}")
        edits = concurrently(
            20,
            lambda n: (
                self.buy(shopper, cart, uuid.uuid4().hex).status_code
                if n >= 5
                else requests.put(
                    f"{self.api}/products/{pid}",
                    headers=admin,
                    json={
                        **{k: made[k] for k in ("description", "species", "category", "brand", "price_cents")},
                        "name": f"Hostile Race Chew {n}",
                    },
                    timeout=30,
                ).status_code
            ),
        )
        self.check("races", edits[:5] == [200] * 5 and edits[5:] == [201] * 15, f"5 edits racing 15 buyers: {edits}")
        order = self.buy(shopper, cart, uuid.uuid4().hex).json()
        before = requests.get(f"{self.api}/products/{pid}", timeout=30).json()["stock"]
        cancels = concurrently(
            5,
            lambda n: requests.post(f"{self.api}/orders/{order['id']}/cancel", headers=shopper, timeout=30).status_code,
        )
        after = requests.get(f"{self.api}/products/{pid}", timeout=30).json()["stock"]
        self.check("races", sorted(cancels) == [200, 409, 409, 409, 409] and after == before + 1, f"{cancels} {after}")
        self.events_tell_the_truth(admin, shopper)

    def product(self, admin: dict[str, str], name: str, stock: int, price_cents: int) -> dict[str, Any]:
        """A product made for one family, over the API as an admin makes it."""
        fields = {"description": "Made by bench/hostile.py.", "species": "dog", "category": "toys", "brand": "Probe"}
        body = {**fields, "name": name, "stock": stock, "price_cents": price_cents}
        return dict(requests.post(self.api + "/products", headers=admin, json=body, timeout=30).json())

    def buy(self, headers: dict[str, str], cart: dict[str, Any], key: str) -> requests.Response:
        return requests.post(f"{self.api}/orders", headers={**headers, "Idempotency-Key": key}, json=cart, timeout=60)

    def restock(self, admin: dict[str, str], pid: str, change: int) -> None:
        requests.post(f"{self.api}/products/{pid}/stock", headers=admin, json={"change": change}, timeout=30)

    def events_tell_the_truth(self, admin: dict[str, str], shopper: dict[str, str]) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        made = self.product(admin, "Hostile Last Unit", stock=1, price_cents=300)
        cart = {"items": [{"product_id": made["id"], "quantity": 1}], "shipping_address": ADDRESS}

        def mails() -> int:  # confirmations of this product's orders
            found = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
            return sum("Hostile Last Unit" in json.dumps(vars(m), default=str) for m in found)

        outcomes = concurrently(6, lambda n: self.buy(shopper, cart, uuid.uuid4().hex).status_code)
        table = boto3.resource("dynamodb").Table(self.stack.table_name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the order events handled the one order
            sales = table.get_item(Key={"PK": f"PRODUCT#{made['id']}", "SK": "SALES"}).get("Item", {})
            if sales:
                break
            time.sleep(0.1)
        # Refused purchases' records, if the embedded AWS emitted any, come right after: give them a moment.
        self.stack.order_events.wait_until(lambda: False, timeout_s=2)
        sent = mails()
        units = int(sales.get("units_sold", 0))
        self.check(
            "order events",
            outcomes.count(201) == 1 and sent == 1 and units == 1,
            f"6 buyers for 1 unit: {Counter(outcomes)}, {sent} mails, units_sold {units}",
        )

    # -- raw HTTP and origins -------------------------------------------------------------
    def raw_http(self) -> None:
        port = int(self.api.rsplit(":", 1)[1])
        cases = {
            "bad Content-Length": b"POST /products HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
            "negative Content-Length": b"POST /products HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            "HTTP/0.9": b"GET /products\r\n",
            "body never arrives": b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        }
        for name, raw in cases.items():
            answer = exchange(port, raw, timeout_s=30)
            ok = answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.0 400", b"HTTP/1.1 408"))
            self.check("raw http", ok, f"{name}: {answer[:60]!r}")

    def origins(self) -> None:
        preflight = requests.options(
            f"{self.aws}/",
            headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
            timeout=30,
        )
        self.check(
            "origins and headers",
            preflight.headers.get("Access-Control-Allow-Origin") not in ("*", EVIL),
            f"embedded AWS preflight from {EVIL}: {preflight.headers.get('Access-Control-Allow-Origin')}",
        )
        dump = requests.get(f"{self.aws}/moto-api/data.json", headers={"Origin": EVIL}, timeout=30)
        self.check(
            "origins and headers", dump.status_code == 403, f"moto-api/data.json from {EVIL}: {dump.status_code}"
        )


def noise(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randint(-(10**15), 10**15))
    if kind == 1:
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 50)))
    if kind == 2:
        return "".join(chr(rng.randint(0x80, 0x2FFF)) for _ in range(rng.randint(1, 20)))
    if kind == 3:
        return rng.choice(["true", "false", "dog", "price_asc", "", "null", "0", "[]"])
    if kind == 4:
        return "x" * rng.randint(150, 3000)
    return "\u202e\u0000\ufeff" + rng.choice(string.ascii_letters)


def random_json(rng: random.Random) -> str:
    choices: list[Callable[[], Any]] = [
        lambda: {"items": [{"product_id": noise(rng), "quantity": rng.randint(-5, 500)}], "shipping_address": ADDRESS},
        lambda: {"items": "nope", "shipping_address": None},
        lambda: {"name": noise(rng), "price_cents": noise(rng)},
        lambda: [1, 2, 3],
        lambda: {"a": {"b": {"c": [None] * 50}}},
    ]
    if rng.random() < 0.2:
        return noise(rng)
    return json.dumps(rng.choice(choices)())


def concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = work(n)
        except Exception as exc:
            results[n] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def exchange(port: int, raw: bytes, timeout_s: float) -> bytes:
    """What the server answers to ``raw`` before it closes (b"" if it closes at once)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as conn:
        conn.sendall(raw)
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except TimeoutError:
            return b"HUNG"
        except ConnectionResetError:
            pass
        return received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--fuzz", type=int, default=200, help="fuzzed GET /products requests (and a quarter as many bodies)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    stack = LocalStack(free_port(), free_port(), free_port(), data_dir=data).start()
    probe = Probe(stack)
    started = time.perf_counter()
    try:
        probe.forged_tokens()
        probe.fuzz(args.fuzz, random.Random(args.seed))
        probe.races()
        probe.raw_http()
        probe.origins()
    finally:
        stack.stop()
    took = time.perf_counter() - started
    print(f"{sum(probe.tried.values())} cases in {took:.0f} s against a fresh local stack (loopback)\n")
    print("| family | cases | failures |\n|---|---:|---:|")
    for family in probe.tried:
        print(f"| {family} | {probe.tried[family]} | {probe.failed[family]} |")
    for family, example in probe.examples.items():
        print(f"\nfirst failure of {family}: {example}")
    return 1 if probe.failed else 0


if __name__ == "__main__":
    sys.exit(main())
