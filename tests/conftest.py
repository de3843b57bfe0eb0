"""Fixtures shared by the test tiers (unit tests need none of them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localdev import gateway
from tests.support.ports import free_port

# API Gateway's own answers in every test client and `chalice local` of the
# session, installed before any test module imports chalice.test.
gateway.install()


@pytest.fixture(scope="session")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on loopback, as the local stack runs it; yields its URL."""
    from localdev.resources import fake_aws_environment, start_embedded_aws

    port = free_port()
    server = start_embedded_aws(port)
    url = f"http://127.0.0.1:{port}"
    patch = pytest.MonkeyPatch()
    for name, value in fake_aws_environment(url).items():
        patch.setenv(name, value)
    boto3.setup_default_session()
    yield url
    patch.undo()
    server.stop()


class DynamoCalls:
    """Records the DynamoDB operations the code under test makes.

    ``operations`` are the calls made in the test's own thread (where the
    Chalice test client runs a request); ``everywhere`` adds those of the
    background threads, such as the stream pump's readers (the indexer reads
    the table too).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append((threading.get_ident(), model.name))

    @property
    def operations(self) -> list[str]:
        here = threading.get_ident()
        return [name for thread, name in self.calls if thread == here]

    @property
    def everywhere(self) -> list[str]:
        return [name for _, name in self.calls]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture()
def dynamo_calls(aws: str) -> Iterator[DynamoCalls]:
    """Every DynamoDB call made through boto3's default session during a test."""
    calls = DynamoCalls()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("before-call.dynamodb", calls)
    yield calls
    events.unregister("before-call.dynamodb", calls)
