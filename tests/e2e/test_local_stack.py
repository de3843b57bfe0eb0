"""The shop started as a user starts it (`make run`), used over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from infra.template import ROOT
from tests.support.running_shop import RunningStack, bearer_of, cognito, start_stack
from tests.support.shop_api import searched


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
        [sys.executable, "-m", "infra.import_catalog", str(catalog_file), "--stage", "local"],
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


# -- the local stack remembers its accounts, and serves only the shop ----------------
ADDRESS = {"name": "Ada", "line1": "1 Lane", "city": "Town", "postal_code": "1", "country": "US"}


def sign_up(stack: RunningStack, email: str, password: str) -> None:
    made = cognito(
        stack,
        "SignUp",
        {"Username": email, "Password": password, "UserAttributes": [{"Name": "email", "Value": email}]},
    )
    assert made.status_code == 200, made.text
    confirmed = cognito(stack, "ConfirmSignUp", {"Username": email, "ConfirmationCode": "123456"})
    assert confirmed.status_code == 200, confirmed.text


def tokens_of(stack: RunningStack, flow: str, parameters: dict[str, str]) -> dict[str, str]:
    answer = cognito(stack, "InitiateAuth", {"AuthFlow": flow, "AuthParameters": parameters})
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["AuthenticationResult"])


def signed_in(stack: RunningStack, email: str, password: str) -> dict[str, str]:
    tokens = tokens_of(stack, "USER_PASSWORD_AUTH", {"USERNAME": email, "PASSWORD": password})
    return {"Authorization": "Bearer " + tokens["AccessToken"]}


def buy_one(stack: RunningStack, headers: dict[str, str]) -> str:
    import uuid

    product = requests.get(f"{stack.api}/products", params={"in_stock": "true", "limit": 1}, timeout=10).json()
    body = {"items": [{"product_id": product["items"][0]["id"], "quantity": 1}], "shipping_address": ADDRESS}
    placed = requests.post(
        f"{stack.api}/orders", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, timeout=10
    )
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


def me(stack: RunningStack, headers: dict[str, str]) -> dict[str, object]:
    answer = requests.get(f"{stack.api}/me", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def order_ids(stack: RunningStack, headers: dict[str, str]) -> list[str]:
    return [o["id"] for o in requests.get(f"{stack.api}/orders", headers=headers, timeout=10).json()["items"]]


def test_an_account_made_in_the_shop_keeps_its_id_password_and_orders_across_a_restart(
    stack: RunningStack, stack_env: dict[str, str]
) -> None:
    # GIVEN a new account with an order, and the demo users
    email, password = "restart-survivor@example.com", "Survivor-pass-1"
    sign_up(stack, email, password)
    before = signed_in(stack, email, password)
    account = me(stack, before)
    order_id = buy_one(stack, before)
    shopper = me(stack, signed_in(stack, "shopper@example.com", "Shopper-pass-1"))
    auth = requests.get(f"{stack.web}/config.json", timeout=10).json()["auth"]
    session = tokens_of(stack, "USER_PASSWORD_AUTH", {"USERNAME": email, "PASSWORD": password})  # the SPA's

    # WHEN the stack is stopped cleanly and started again
    assert stack.stop() == 0
    again = start_stack(stack_env)
    try:
        # THEN the pool and its client are the same, and so is every account
        assert requests.get(f"{again.web}/config.json", timeout=10).json()["auth"] == auth
        after = signed_in(again, email, password)
        assert me(again, after) == account
        assert order_ids(again, after) == [order_id]
        assert me(again, signed_in(again, "shopper@example.com", "Shopper-pass-1")) == shopper
        assert me(again, signed_in(again, "admin@example.com", "Admin-pass-1"))["roles"] == ["admin"]
        # AND a token from before the restart still works, and so does the SPA's session
        assert me(again, before) == account
        refreshed = tokens_of(again, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": session["RefreshToken"]})
        assert me(again, {"Authorization": "Bearer " + refreshed["AccessToken"]}) == account
        # AND a wrong password is still refused
        wrong = cognito(
            again,
            "InitiateAuth",
            {"AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": email, "PASSWORD": "Wrong-pass-1"}},
        )
        assert wrong.status_code == 400 and "NotAuthorized" in wrong.json()["__type"]
        assert "restored" in "".join(again.output) and "3 accounts" in "".join(again.output)
    finally:
        assert again.stop() == 0


def test_a_crash_keeps_what_was_written_a_second_before(stack: RunningStack, stack_env: dict[str, str]) -> None:
    import time

    from infra.import_catalog import stage_table_name

    # GIVEN a new account and its order
    email, password = "crash-survivor@example.com", "Survivor-pass-1"
    sign_up(stack, email, password)
    headers = signed_in(stack, email, password)
    order_id = buy_one(stack, headers)
    # ... once the stack has saved them (about a second later): the table's snapshot or journal, and the accounts
    data = Path(stack_env["LOCAL_DATA_DIR"])
    table = stage_table_name("local")

    def saved() -> bool:
        tables = [data / f"{table}.json", data / f"{table}.journal"]
        accounts = data / "user-pools.json"
        in_table = any(path.exists() and order_id in path.read_text() for path in tables)
        return in_table and accounts.exists() and email in accounts.read_text()

    deadline = time.monotonic() + 30
    while not saved():
        assert time.monotonic() < deadline, "the stack did not save the order and the account within 30 s"
        time.sleep(0.05)

    # WHEN it is killed, with no chance to save anything more
    stack.process.kill()
    stack.process.wait(timeout=30)
    again = start_stack(stack_env)
    try:
        # THEN the account signs in, with the same id, and finds its order
        after = signed_in(again, email, password)
        assert me(again, after)["id"] == me(again, headers)["id"]
        assert order_ids(again, after) == [order_id]
    finally:
        assert again.stop() == 0


def test_the_embedded_aws_answers_the_spas_origin_and_no_other(stack: RunningStack) -> None:
    aws = f"http://127.0.0.1:{stack.env['AWS_PORT']}"
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-amz-target"}

    spa = requests.options(f"{aws}/", headers={"Origin": stack.web, **asks}, timeout=10)
    other = requests.options(f"{aws}/", headers={"Origin": "http://evil.example", **asks}, timeout=10)
    dump = requests.get(f"{aws}/moto-api/data.json", headers={"Origin": "http://evil.example"}, timeout=10)

    assert spa.status_code == 200 and spa.headers["Access-Control-Allow-Origin"] == stack.web
    assert other.status_code == 403 and "Access-Control-Allow-Origin" not in other.headers
    assert dump.status_code == 403 and "Access-Control-Allow-Origin" not in dump.headers
