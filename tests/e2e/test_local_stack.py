"""The shop started as a user starts it (`make run`), used over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from scripts.resources import ROOT
from tests.conftest import free_port

STARTUP_TIMEOUT_S = 120


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    env: dict[str, str]
    output: list[str]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def start_stack(env: dict[str, str]) -> RunningStack:
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "Press Ctrl-C to stop" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT_S) or process.poll() is not None:
        process.kill()
        raise AssertionError("the stack did not start:\n" + "".join(output))
    return RunningStack(process, env, output)


@pytest.fixture()
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        API_PORT=str(free_port()),
        WEB_PORT=str(free_port()),
        AWS_PORT=str(free_port()),
        LOCAL_DATA_DIR=str(tmp_path / "local-data"),
    )
    return env


@pytest.fixture()
def stack(stack_env: dict[str, str]) -> Iterator[RunningStack]:
    running = start_stack(stack_env)
    yield running
    if running.process.poll() is None:
        running.stop()


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
    product = requests.get(f"{stack.api}/products", params={"limit": 1}, timeout=10).json()["items"][0]
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
    printed = subprocess.run(
        [sys.executable, "-m", "scripts.token", "admin@example.com", "Admin-pass-1", "--web", stack.web],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    admin = {"Authorization": "Bearer " + printed.stdout.strip()}
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
    found = requests.get(f"{stack.api}/products", params={"q": "stack test perch"}, timeout=10).json()
    assert [p["id"] for p in found["items"]] == [created.json()["id"]]
