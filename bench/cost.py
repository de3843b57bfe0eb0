"""Warm duration and DynamoDB work per request of each function, for docs/cost.md.

    make bench-cost      # .venv/bin/python -m bench.cost [--runs 30]

The app runs as in the functional tests: Chalice's test client, the real
authorizer, against moto's server on loopback with the seeded catalog. Each
route is called once to warm up, then ``--runs`` times; its median duration
is what a warm Lambda would bill (moto's latency stands in for DynamoDB's, so
Lambda's own figures will differ: read them as an upper bound for DynamoDB
calls, which answer in single milliseconds). boto3 event hooks count the
DynamoDB requests and the items each reads and writes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
from chalice.test import Client

from infra.import_catalog import load, read_catalog
from infra.template import ROOT
from localdev import gateway
from localdev.resources import (
    DEMO_USERS,
    create_demo_users,
    create_search_index_bucket,
    create_table,
    create_user_pool,
    fake_aws_environment,
    local_auth_environment,
    local_stage_environment,
    rebuild_search_index,
    start_embedded_aws,
)
from tests.support.ports import free_port

ADDRESS = {"name": "Bench Buyer", "line1": "1 Loop", "city": "Localhost", "postal_code": "127", "country": "US"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


class DynamoWork:
    """Requests, items read and items written, from boto3's request and response events."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.read = 0
        self.written = 0  # write request units: a transaction's item counts twice

    def before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.requests[model.name] += 1
        if model.name == "TransactWriteItems":
            self.written += 2 * len(params["TransactItems"])
        elif model.name in WRITES:
            self.written += 1
        elif model.name == "GetItem":
            self.read += 1
        elif model.name == "BatchGetItem":
            self.read += sum(len(r["Keys"]) for r in params["RequestItems"].values())

    def after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "Query":
            self.read += int(parsed.get("ScannedCount", 0))


def measure(call: Callable[[], Any], runs: int, work: DynamoWork) -> dict[str, Any]:
    call()  # warm
    before = (Counter(work.requests), work.read, work.written)
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(durations), 1),
        "requests": {k: (v - before[0][k]) / runs for k, v in work.requests.items() if v - before[0][k]},
        "items_read": (work.read - before[1]) / runs,
        "units_written": (work.written - before[2]) / runs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    port = free_port()
    server = start_embedded_aws(port)
    url = f"http://127.0.0.1:{port}"
    os.environ.update({**fake_aws_environment(url), "LOG_FORMAT": "json"})
    try:
        results = run_routes(url, args.runs)
    finally:
        server.stop()
    print(json.dumps(results, indent=2))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "cost.json").write_text(json.dumps(results, indent=2) + "\n")


def run_routes(url: str, runs: int) -> dict[str, Any]:
    boto3.setup_default_session()
    work = DynamoWork()
    boto3.DEFAULT_SESSION.events.register("provide-client-params.dynamodb", work.before)  # type: ignore[union-attr]
    boto3.DEFAULT_SESSION.events.register("after-call.dynamodb", work.after)  # type: ignore[union-attr]
    create_table(boto3.client("dynamodb"), "petstore-local")
    load(boto3.resource("dynamodb").Table("petstore-local"), read_catalog(ROOT / "data" / "products.json"), False)
    search_env = local_stage_environment()  # the search index, built from the table as the local stack does
    os.environ.update({k: v for k, v in search_env.items() if k.startswith("SEARCH_")})
    create_search_index_bucket(boto3.client("s3"), search_env["SEARCH_INDEX_BUCKET"])
    rebuild_search_index("petstore-local", search_env["SEARCH_INDEX_BUCKET"])
    cognito = boto3.client("cognito-idp")
    pool = create_user_pool(cognito, "petstore-local")
    create_demo_users(cognito, pool["user_pool_id"])
    email, password, _ = DEMO_USERS[0]
    token = cognito.initiate_auth(
        ClientId=pool["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]["AccessToken"]
    os.environ.update(local_auth_environment(url, pool))
    from app import app

    gateway.install()
    auth = {"Authorization": f"Bearer {token}"}
    with Client(app, stage_name="local") as client:
        product = client.http.get("/products?limit=1").json_body["items"][0]["id"]
        order = json.dumps({"items": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS})
        routes: dict[str, Callable[[], Any]] = {
            "search: GET /products?q=dog": lambda: client.http.get("/products?q=dog"),
            "search: GET /products (browse)": lambda: client.http.get("/products"),
            "search: GET /products/{id}": lambda: client.http.get(f"/products/{product}"),
            "purchase: POST /orders": lambda: client.http.post(
                "/orders", headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, body=order
            ),
            "purchase: GET /orders": lambda: client.http.get("/orders", headers=auth),
            "authorizer: verify a token": lambda: client.lambda_.invoke(
                "jwt_auth", {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": "arn:x/api/GET/me"}
            ),
        }
        return {name: measure(call, runs, work) for name, call in routes.items()}


if __name__ == "__main__":
    main()
