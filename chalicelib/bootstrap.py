"""Dependencies of the app, built once per warm Lambda container and injected.

Views call these getters; tests call ``reset()`` between stacks. Nothing is
created at import time, so a cold start pays only for what a request uses.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import boto3

from .auth import TokenVerifier
from .config import Settings, auth_settings_from_env, event_settings_from_env, stage_from_env
from .events import EventDeps
from .metrics import EmfMetrics
from .observability import Telemetry, build_telemetry


@cache
def get_settings() -> Settings:
    return Settings.from_env()


@cache
def get_telemetry() -> Telemetry:
    """The shop's logger and metrics (chalicelib/observability.py)."""
    return build_telemetry(stage_from_env())


def get_metrics() -> EmfMetrics:
    """Where facts are counted; written out at the end of each request or batch."""
    return get_telemetry().metrics


@cache
def get_table() -> Any:
    """The shop's DynamoDB table (boto3 honours AWS_ENDPOINT_URL locally)."""
    return boto3.resource("dynamodb").Table(get_settings().table_name)


@cache
def get_verifier() -> TokenVerifier:
    """One verifier per container: its JWKS cache outlives the request."""
    return TokenVerifier(auth_settings_from_env(), metrics=get_metrics())


@cache
def get_cognito() -> Any:
    return boto3.client("cognito-idp")


@cache
def get_ses() -> Any:
    return boto3.client("ses")


@cache
def get_sns() -> Any:
    return boto3.client("sns")


@cache
def get_sqs() -> Any:
    return boto3.client("sqs")


@cache
def get_event_deps() -> EventDeps:
    return EventDeps(
        table=get_table(),
        ses=get_ses,
        sns=get_sns,
        sqs=get_sqs,
        settings=event_settings_from_env(),
        clock=time.time,
        metrics=get_metrics(),
        pseudonym=get_telemetry().caller_of,
    )


def reset() -> None:
    """Forget every cached dependency (tests, stage switches)."""
    for getter in (
        get_settings,
        get_telemetry,
        get_table,
        get_verifier,
        get_cognito,
        get_ses,
        get_sns,
        get_sqs,
        get_event_deps,
    ):
        getter.cache_clear()
