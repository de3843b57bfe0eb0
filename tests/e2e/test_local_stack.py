"""The shop started as a user starts it (`make run`), used over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from scripts.resources import ROOT
from tests.e2e.conftest import RunningStack, bearer_of, searched, start_stack


def test_make_run_serves_the_api_the_spa_and_its_config(stack: RunningStack) -> None:
    assert requests.get(f"{stack.api}/health", timeout=10).json() == {"status": "ok"}
    page = requests.get(f"{stack.api}/products", params={"q": "catnip", "limit": 3}, timeout=10).json()
    assert page["items"] and all("catnip" in json.dumps(p).lower() for p in page["items"])
    config = requests.get(f"{stack.web}/config.json", timeout=10).json()
    assert config["api_url"] == stack.api
    assert requests.get(f"{stack.web}/", timeout=10).status_code == 200
    banner = "".join(stack.output)
    assert stack.api in banner and stack.web in banner


def test_bad_input_over_http_is_a_json_400(stack: RunningStack) -> None:
    response = requests.get(f"{stack.api}/products?limit=0", timeout=10)
    assert response.status_code == 400
    assert response.json()["field"] == "limit"


def test_local_edits_survive_a_restart(stack: RunningStack, stack_env: dict[str, str], tmp_path: Path) -> None:
    hit = requests.get(f"{stack.api}/products", params={"limit": 1}, timeout=10).json()["items"][0]
    product = requests.get(f"{stack.api}/products/{hit['id']}", timeout=10).json()  # a product, not a search hit
    edited = {**product, "name": "Zebra-striped Restart Survivor", "price_cents": 4242}
    catalog_file = tmp_path / "edit.json"
    catalog_file.write_text(json.dumps([edited]))
    imported = subprocess.run(
        [sys.executable, "-m", "scripts.import_catalog", str(catalog_file), "--stage", "local"],
        cwd=ROOT,
        env=stack_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    assert stack.stop() == 0

    again = start_stack(stack_env)
    try:
        found = requests.get(f"{again.api}/products", params={"q": "zebra survivor"}, timeout=10).json()
        assert [(p["id"], p["price_cents"]) for p in found["items"]] == [(product["id"], 4242)]
        assert "restored" in "".join(again.output)
    finally:
        assert again.stop() == 0


def test_demo_users_sign_in_and_the_api_verifies_their_tokens(stack: RunningStack) -> None:
    import boto3

    config = requests.get(f"{stack.web}/config.json", timeout=10).json()["auth"]
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=config["endpoint"],
        region_name=config["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    def sign_in(email: str, password: str) -> str:
        result = cognito.initiate_auth(
            ClientId=config["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return str(result["AuthenticationResult"]["AccessToken"])

    shopper = {"Authorization": "Bearer " + sign_in("shopper@example.com", "Shopper-pass-1")}
    admin = bearer_of(stack, "admin@example.com", "Admin-pass-1")
    assert requests.get(f"{stack.api}/me", headers=shopper, timeout=10).json()["email"] == "shopper@example.com"
    refused = requests.get(f"{stack.api}/me", timeout=10)
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.json()["code"] == "UNAUTHORIZED"
    product = {
        "name": "Stack Test Perch",
        "description": "Made by the e2e test.",
        "species": "bird",
        "category": "accessories",
        "brand": "Testbrand",
        "price_cents": 500,
        "stock": 2,
    }
    assert requests.post(f"{stack.api}/products", json=product, headers=shopper, timeout=10).status_code == 403
    created = requests.post(f"{stack.api}/products", json=product, headers=admin, timeout=10)
    assert created.status_code == 201, created.text
    searched(stack.api, {"q": "stack test perch"}, lambda ids: ids == [created.json()["id"]])


def test_a_purchase_over_http_is_confirmed_by_the_order_events(stack: RunningStack) -> None:
    import time
    import uuid

    headers = {**bearer_of(stack, "shopper@example.com", "Shopper-pass-1"), "Idempotency-Key": uuid.uuid4().hex}
    product = requests.get(f"{stack.api}/products", params={"in_stock": "true", "limit": 1}, timeout=10).json()
    product_id = product["items"][0]["id"]
    body = {
        "items": [{"product_id": product_id, "quantity": 1}],
        "shipping_address": {"name": "Ada", "line1": "1 Lane", "city": "Town", "postal_code": "1", "country": "US"},
    }
    placed = requests.post(f"{stack.api}/orders", json=body, headers=headers, timeout=10)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    aws = f"http://127.0.0.1:{stack.env['AWS_PORT']}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = requests.get(f"{aws}/moto-api/data.json", timeout=10).json()["ses"]["Message"]
        if any(order_id in m["subject"] for m in messages):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("no confirmation was sent for the order")
    mine = requests.get(f"{stack.api}/orders", headers=headers, timeout=10).json()["items"]
    assert [o["id"] for o in mine][:1] == [order_id]
