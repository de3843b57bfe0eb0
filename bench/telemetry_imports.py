"""What logging, metrics and tracing add to a cold start: import times.

    .venv/bin/python -m bench.telemetry_imports [--extra-path DIR] [--runs 10]

Each case runs in a fresh interpreter (``PYTHONDONTWRITEBYTECODE=1``) that
times its imports and the creation of a DynamoDB client, as a function's cold
start pays them; min and median of ``--runs``. The floor is Chalice + boto3 +
``boto3.client("dynamodb")``; the budget is each function at most 1.2x the
floor. Powertools and the X-Ray SDK are not dependencies of the shop: to
measure them, install them apart (``pip install --target DIR
aws-lambda-powertools aws-xray-sdk``) and pass ``--extra-path DIR``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

TIMED = (
    "import time; t = time.perf_counter(); {}; import boto3; boto3.client('dynamodb'); "
    "print((time.perf_counter() - t) * 1000)"
)
CASES = {
    "floor (chalice + boto3 + a DynamoDB client)": "import chalice",
    "floor + the shop's logs and metrics": (
        "import chalice, chalicelib.platform.observability, chalicelib.platform.metrics"
    ),
    "floor + Powertools Logger and Metrics": (
        "import chalice, aws_lambda_powertools.logging, aws_lambda_powertools.metrics"
    ),
    "floor + X-Ray SDK patching botocore": "import chalice; from aws_xray_sdk.core import patch; patch(('botocore',))",
    "search function": "import chalicelib.lambdas.search",
    "purchase function": "import chalicelib.lambdas.purchase",
    "admin function": "import chalicelib.lambdas.admin",
    "authorizer function": "import chalicelib.api.authorizer",
    "order events function": "import chalicelib.api.order_events",
}


def run(code: str, env: dict[str, str]) -> float | None:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    return float(done.stdout) if done.returncode == 0 else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--extra-path", default="", help="where Powertools and the X-Ray SDK are installed")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (args.extra_path, os.getcwd()) if p)
    floor: float | None = None
    print("| imports | min ms | median ms | min / floor min |")
    print("|---|---|---|---|")
    for name, imports in CASES.items():
        samples = [run(TIMED.format(imports), env) for _ in range(args.runs)]
        if None in samples:
            print(f"| {name} | not installed | | |")
            continue
        times = [s for s in samples if s is not None]
        floor = floor or min(times)
        print(f"| {name} | {min(times):.0f} | {statistics.median(times):.0f} | {min(times) / floor:.2f}x |")


if __name__ == "__main__":
    main()
