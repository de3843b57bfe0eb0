"""The e2e tier: the shop started as a user starts it (`make run`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("the stack did not stop on SIGTERM:\n" + "".join(self.output[-40:])) from None


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


def bearer_of(stack: RunningStack, email: str, password: str) -> dict[str, str]:
    """An Authorization header, from `python -m scripts.token` as the README shows."""
    printed = subprocess.run(
        [sys.executable, "-m", "scripts.token", email, password, "--web", stack.web],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {"Authorization": "Bearer " + printed.stdout.strip()}


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
