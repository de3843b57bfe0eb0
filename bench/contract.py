"""Contract fuzzing, longer than the test suite's run: what schemathesis finds.

    .venv/bin/python -m bench.contract --examples 200

Starts the local stack as `make run` does (its own ports and data folder),
then, for every operation of /openapi.json, as an anonymous caller, the demo
shopper and the demo admin, sends generated requests, valid and invalid, and
checks each answer: no 5xx, a documented status, content type and body.
Unlike tests/e2e/test_contract.py it does not stop at the first failure: it
prints every distinct failure with a request that reproduces it, and the
number of requests, statuses and time taken. Loopback only; bounded by
--examples per operation, mode and caller, and by --max-seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from chalicelib.api import openapi
from tests.support.contract_checks import CHECKS, REQUEST_TIMEOUT_S
from tests.support.running_shop import DEMO_ADMIN, DEMO_SHOPPER, RunningStack, bearer_of, stack_environment, start_stack

MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@dataclass
class Findings:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # distinct failure -> how to reproduce it
    skipped: int = 0


def fuzz(stack: RunningStack, callers: dict[str, dict[str, str]], examples: int, deadline: float) -> Findings:
    findings = Findings()
    schema = schemathesis.openapi.from_dict(openapi.document())
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            for role, headers in callers.items():
                if time.monotonic() > deadline:
                    findings.skipped += 1
                    continue
                _run(operation, mode, role, headers, stack.api, examples, deadline, findings)
    return findings


def _run(
    operation: Any,
    mode: GenerationMode,
    role: str,
    headers: dict[str, str],
    base_url: str,
    examples: int,
    deadline: float,
    findings: Findings,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        response = case.call(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
        findings.requests += 1
        findings.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as failure:  # a check failed: note it and keep going
            title = f"{operation.label} as {role} ({mode.value}): {str(failure).strip().splitlines()[0]}"
            findings.failures.setdefault(title, case.as_curl_command(headers={"Authorization": "[token]"}))

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (GET /health has no input)
        send()


def report(findings: Findings, seconds: float, examples: int, stack_output: list[str]) -> None:
    print(f"requests: {findings.requests} in {seconds:.0f} s ({findings.requests / max(seconds, 1e-9):.1f}/s)")
    print(f"examples per operation, mode and caller: {examples}")
    print("statuses: " + ", ".join(f"{status}: {n}" for status, n in sorted(findings.statuses.items())))
    if findings.skipped:
        print(f"not run (time budget spent): {findings.skipped} operation/mode/caller runs")
    print(f"distinct failures: {len(findings.failures)}")
    for title, curl in findings.failures.items():
        print(f"- {title}\n    {curl[:600]}")
    logged = [line.strip() for line in stack_output if "ERROR" in line or "busy or unreachable" in line]
    if logged:
        print("the stack logged:\n" + "\n".join(f"    {line[:300]}" for line in logged[:20]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=1800)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as data:
        stack = start_stack(stack_environment(Path(data) / "local-data"))
        try:
            callers = {
                "anonymous": {},
                "shopper": bearer_of(stack, *DEMO_SHOPPER),
                "admin": bearer_of(stack, *DEMO_ADMIN),
            }
            started = time.monotonic()
            findings = fuzz(stack, callers, args.examples, started + args.max_seconds)
            report(findings, time.monotonic() - started, args.examples, stack.output)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
