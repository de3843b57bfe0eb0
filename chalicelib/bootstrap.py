"""Dependencies of the app, built once per warm Lambda container and injected.

Views call these getters; tests call ``reset()`` between stacks. Nothing is
created at import time, so a cold start pays only for what a request uses.

Every function imports this module, so it imports nothing heavy itself: each
getter imports what it builds. The authorizer never loads boto3, and the API
and stream functions never load PyJWT (see tests/unit/test_function_imports.py).
"""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING, Any

from .config import Settings, auth_settings_from_env, event_settings_from_env

if TYPE_CHECKING:
    from .auth import TokenVerifier
    from .events import EventDeps


@cache
def get_settings() -> Settings:
    return Settings.from_env()


@cache
def get_table() -> Any:
    """The shop's DynamoDB table (boto3 honours AWS_ENDPOINT_URL locally)."""
    import boto3

    return boto3.resource("dynamodb").Table(get_settings().table_name)


@cache
def get_verifier() -> TokenVerifier:
    """One verifier per container: its JWKS cache outlives the request."""
    from .auth import TokenVerifier

    return TokenVerifier(auth_settings_from_env())


@cache
def get_cognito() -> Any:
    import boto3

    return boto3.client("cognito-idp")


@cache
def get_ses() -> Any:
    import boto3

    return boto3.client("ses")


@cache
def get_sns() -> Any:
    import boto3

    return boto3.client("sns")


@cache
def get_sqs() -> Any:
    import boto3

    return boto3.client("sqs")


@cache
def get_event_deps() -> EventDeps:
    from .events import EventDeps

    return EventDeps(
        table=get_table(),
        ses=get_ses,
        sns=get_sns,
        sqs=get_sqs,
        settings=event_settings_from_env(),
        clock=time.time,
    )


def reset() -> None:
    """Forget every cached dependency (tests, stage switches)."""
    for getter in (get_settings, get_table, get_verifier, get_cognito, get_ses, get_sns, get_sqs, get_event_deps):
        getter.cache_clear()
