"""The shop started as a user starts it (`make run`, `make aws`), for the e2e tier and the benchmarks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from infra.template import ROOT
from tests.support.ports import free_port

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
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("the stack did not stop on SIGTERM:\n" + "".join(self.output[-40:])) from None


def start_stack(env: dict[str, str], *args: str) -> RunningStack:
    """`make run` (or, with ``--aws-only``, `make aws`), started as the Makefile does."""
    return start_process([sys.executable, "-m", "localdev.local_stack", *args], env, "Press Ctrl-C to stop")


def start_process(command: list[str], env: dict[str, str], ready_line: str) -> RunningStack:
    """Start ``command`` and wait until it prints ``ready_line``."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if ready_line in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT_S) or process.poll() is not None:
        process.kill()
        raise AssertionError(f"{command[-1]} did not start:\n" + "".join(output))
    return RunningStack(process, env, output)


def bearer_of(stack: RunningStack, email: str, password: str) -> dict[str, str]:
    """An Authorization header, from `python -m localdev.token` as the README shows."""
    printed = subprocess.run(
        [sys.executable, "-m", "localdev.token", email, password, "--web", stack.web],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {"Authorization": "Bearer " + printed.stdout.strip()}


def stack_environment(data_dir: Path, photos: bool = False, demo_orders: bool = False) -> dict[str, str]:
    """The environment of a stack on free ports, keeping its data in ``data_dir``.

    Without ``photos`` it makes no seeded photos (LOCAL_PHOTOS=0): making 240
    keeps both cores busy for a minute or two, which tests of other things
    should not wait behind. tests/functional/test_local_photo_pipeline.py
    covers the seeding. Without ``demo_orders`` the demo shopper gets no
    orders (LOCAL_DEMO_ORDERS=0): tests count their own orders and sales;
    tests/e2e/test_local_demo_orders.py covers them."""
    ports = {name: str(free_port()) for name in ("API_PORT", "WEB_PORT", "AWS_PORT")}
    # Not the test session's own embedded AWS (the functional tier's): the
    # stack and what it runs (an import, a token) must reach this stack's.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **inherited,
        **ports,
        "LOCAL_DATA_DIR": str(data_dir),
        "LOCAL_PHOTOS": "1" if photos else "0",
        "LOCAL_DEMO_ORDERS": "1" if demo_orders else "0",
    }


# The demo users every local stack creates (localdev/resources.py).
DEMO_SHOPPER = ("shopper@example.com", "Shopper-pass-1")
DEMO_ADMIN = ("admin@example.com", "Admin-pass-1")

# The browser: Debian's chromium, driven by Playwright (never `playwright install`).
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def cognito(stack: RunningStack, action: str, body: dict[str, Any]) -> requests.Response:
    """Cognito's JSON API on the embedded AWS, called as the SPA calls it (from its origin)."""
    auth = requests.get(f"{stack.web}/config.json", timeout=10).json()["auth"]
    return requests.post(
        auth["endpoint"],
        data=json.dumps({"ClientId": auth["client_id"], **body}),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{action}",
            "Origin": stack.web,
        },
        timeout=30,
    )
