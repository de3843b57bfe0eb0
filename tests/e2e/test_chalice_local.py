"""`chalice local --stage local` in a second terminal, as the README shows it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infra.template import ROOT
from tests.support.ports import free_port
from tests.support.running_shop import RunningStack, start_process, start_stack

CHALICE = str(Path(sys.executable).with_name("chalice"))


def terminal(data_dir: Path) -> dict[str, str]:
    """A new terminal's environment: no AWS variables, the stack's data directory."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {**clean, "LOCAL_DATA_DIR": str(data_dir)}


def chalice_local(env: dict[str, str], *args: str) -> RunningStack:
    port = str(free_port())
    command = [sys.executable, "-m", "localdev.chalice_local", "--no-autoreload", "--port", port, *args]
    return start_process(command, {**env, "API_PORT": port}, "Serving on")


@pytest.fixture()
def stopped_after() -> Iterator[list[RunningStack]]:
    started: list[RunningStack] = []
    yield started
    for running in reversed(started):
        if running.process.poll() is None:
            running.stop()


def test_chalice_local_in_a_second_terminal_uses_the_aws_of_make_aws(
    tmp_path: Path, stopped_after: list[RunningStack]
) -> None:
    env = terminal(tmp_path / "local-data")
    # GIVEN `make aws` in one terminal
    stopped_after.append(start_stack({**env, "AWS_PORT": str(free_port())}, "--aws-only"))
    # WHEN `chalice local --stage local` starts in another, with nothing copied by hand
    api = chalice_local(env, "--stage", "local")
    stopped_after.append(api)

    # THEN it serves the catalog and verifies the local users' tokens
    page = requests.get(f"{api.api}/products", params={"q": "catnip", "limit": 3}, timeout=30)
    assert page.status_code == 200, page.text
    assert page.json()["items"]
    token = subprocess.run(
        [sys.executable, "-m", "localdev.token", "shopper@example.com", "Shopper-pass-1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    me = requests.get(f"{api.api}/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "shopper@example.com"
    refused = requests.get(f"{api.api}/me", timeout=30)  # as API Gateway answers, as under `make run`
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"


def test_chalice_local_without_an_embedded_aws_answers_503_saying_what_to_start(
    tmp_path: Path, stopped_after: list[RunningStack]
) -> None:
    env = terminal(tmp_path / "no-stack-here")
    local_stage = chalice_local(env, "--stage", "local")
    stopped_after.append(local_stage)
    no_account = {  # an AWS account configured on this machine must not count
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    dev_stage = chalice_local({**env, **no_account})  # bare `chalice local`: stage dev
    stopped_after.append(dev_stage)

    for api in (local_stage, dev_stage):
        for path, headers in (("/products", {}), ("/me", {"Authorization": "Bearer a.b.c"})):
            answer = requests.get(f"{api.api}{path}", headers=headers, timeout=30)
            assert answer.status_code == 503, (path, answer.text)
            assert "make aws" in answer.json()["message"] and answer.headers["Access-Control-Allow-Origin"] == "*"
    message = requests.get(f"{dev_stage.api}/products", timeout=30).json()["message"]
    assert "stage dev has no AWS region" in message
