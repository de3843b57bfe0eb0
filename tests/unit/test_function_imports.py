"""Each deployed function imports only what it uses (its cold start depends on it).

Every check runs in a fresh interpreter, so what an earlier import loaded
cannot hide what the entry module loads by itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIGN_IN = ("jwt", "cryptography", "chalicelib.accounts.verifier")
AWS_SDK = ("boto3", "botocore")

# Entry module (a Lambda handler's module) -> modules it must not import.
NOT_IMPORTED = {
    "chalicelib.api.authorizer": (
        *AWS_SDK,
        *SIGN_IN,
        "pydantic",
        "chalicelib.catalog.products",
        "chalicelib.orders.follow_ups",
    ),
    "chalicelib.api.order_events": (*SIGN_IN, "pydantic", "chalicelib.catalog.products", "chalicelib.catalog.product"),
    "chalicelib.lambdas.search": (
        *SIGN_IN,
        "chalicelib.orders.checkout",
        "chalicelib.accounts.profile",
        "chalicelib.orders.follow_ups",
    ),
    "chalicelib.lambdas.purchase": (
        *SIGN_IN,
        "chalicelib.search",
        "chalicelib.api.openapi",
        "chalicelib.orders.follow_ups",
    ),
    "chalicelib.lambdas.admin": (
        *SIGN_IN,
        "chalicelib.search",
        "chalicelib.api.openapi",
        "chalicelib.orders.checkout",
        "chalicelib.accounts.profile",
        "chalicelib.orders.follow_ups",
    ),
}

# What each entry module does import: proof that the check sees the imports.
IMPORTED = {
    "chalicelib.api.authorizer": "chalice",
    "chalicelib.api.order_events": "boto3",
    "chalicelib.lambdas.search": "pydantic",
    "chalicelib.lambdas.purchase": "chalicelib.orders.checkout",
    "chalicelib.lambdas.admin": "chalicelib.catalog.products",
}

REPORT_MODULES = "import json, sys\nprint(json.dumps(sorted(sys.modules)))\n"


def modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The names in ``sys.modules`` once a fresh interpreter has run ``code``."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code) + REPORT_MODULES],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages count with their submodules) were imported."""
    return [name for name in names if any(m == name or m.startswith(name + ".") for m in modules)]


@pytest.mark.parametrize("entry", sorted(NOT_IMPORTED))
def test_an_entry_module_imports_only_what_its_function_uses(entry: str) -> None:
    modules = modules_after(f"import {entry}\n")
    assert entry in modules
    assert IMPORTED[entry] in modules
    assert loaded(modules, NOT_IMPORTED[entry]) == []


AUTHORIZER_ENV = {
    "STAGE": "dev",
    "AUTH_PROVIDER": "cognito",
    "AWS_REGION": "us-east-1",
    "COGNITO_USER_POOL_ID": "us-east-1_Example",
    "COGNITO_CLIENT_ID": "example-client",
}


def test_the_authorizer_refuses_a_malformed_token_without_the_aws_sdk_or_the_network() -> None:
    modules = modules_after(
        """
        import socket

        class NoNetwork(socket.socket):
            def connect(self, *args):
                raise AssertionError("the authorizer opened a connection")

        socket.socket = NoNetwork
        from chalice import UnauthorizedError
        from chalicelib.api.authorizer import jwt_auth

        event = {"type": "TOKEN", "authorizationToken": "Bearer not-a-jwt", "methodArn": "arn:aws:execute-api:*"}
        try:
            jwt_auth(event, None)
        except UnauthorizedError:
            pass
        else:
            raise AssertionError("a malformed token was accepted")
        """,
        AUTHORIZER_ENV,
    )
    assert "jwt" in modules
    assert loaded(modules, (*AWS_SDK, "pydantic")) == []


def test_the_order_events_function_handles_a_batch_without_sign_in_or_pydantic() -> None:
    modules = modules_after(
        """
        from chalicelib.api.order_events import handle_table_stream

        handle_table_stream({"Records": []}, None)
        """,
        {
            "STAGE": "dev",
            "TABLE_NAME": "petstore-dev",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": "petstore-dev-order-events",  # as Lambda sets it
        },
    )
    assert "chalicelib.orders.follow_ups" in modules
    assert loaded(modules, (*SIGN_IN, "pydantic")) == []
