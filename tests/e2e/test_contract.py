"""The OpenAPI contract, fuzzed against the running local stack (schemathesis).

Every operation gets generated requests, valid and invalid, as an anonymous
caller, the demo shopper and the demo admin. No answer may be a 5xx, and every
answer must have a documented status, content type and body. Bounded: a few
examples per operation, derandomized, without shrinking, within a time budget
(bench/contract.py runs longer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode

from chalicelib.api import openapi
from tests.support.contract_checks import CHECKS, REQUEST_TIMEOUT_S
from tests.support.running_shop import (
    DEMO_ADMIN,
    DEMO_SHOPPER,
    RunningStack,
    bearer_of,
    stack_environment,
    start_stack,
)

EXAMPLES_PER_OPERATION = 25
BUDGET_S = 240  # the whole run; cases past it are skipped, and say so
ROLES = ["anonymous", "shopper", "admin"]


@pytest.fixture(scope="module")
def contract_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: the admin's fuzzed writes stay out of the shared shop."""
    running = start_stack(stack_environment(Path(tmp_path_factory.mktemp("contract")) / "local-data"))
    yield running
    if running.process.poll() is None:
        running.stop()


@pytest.fixture(scope="module")
def callers(contract_stack: RunningStack) -> dict[str, dict[str, str]]:
    return {
        "anonymous": {},
        "shopper": bearer_of(contract_stack, *DEMO_SHOPPER),
        "admin": bearer_of(contract_stack, *DEMO_ADMIN),
    }


@pytest.fixture(scope="module")
def deadline() -> float:
    return time.monotonic() + BUDGET_S


def shop_contract() -> Any:
    """The document the API serves at /openapi.json (a test below checks it is the same)."""
    loaded = schemathesis.openapi.from_dict(openapi.document())
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        deterministic=True,
        no_shrink=True,
        database="none",
    )
    # Methods no path has are probed too (405, with Allow), except TRACE and
    # QUERY: `chalice local`'s server answers those with a 501 page of its
    # own, before the app (the local stack's method handling is issue 11, part 3).
    coverage = loaded.config.phases.coverage
    coverage.unexpected_methods = coverage.unexpected_methods - {"trace", "query"}
    return loaded


schema = shop_contract()


def test_the_stack_serves_the_fuzzed_document(contract_stack: RunningStack) -> None:
    served = requests.get(f"{contract_stack.api}/openapi.json", timeout=REQUEST_TIMEOUT_S).json()
    assert served == json.loads(json.dumps(openapi.document()))


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error_or_an_undocumented_answer(
    case: Any, role: str, callers: dict[str, dict[str, str]], contract_stack: RunningStack, deadline: float
) -> None:
    if time.monotonic() > deadline:
        pytest.skip(f"the contract run's budget of {BUDGET_S} s is spent")
    case.call_and_validate(base_url=contract_stack.api, headers=callers[role], checks=CHECKS, timeout=REQUEST_TIMEOUT_S)
