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
from .config import Settings, auth_settings_from_env, event_settings_from_env, require_aws
from .events import EventDeps


@cache
def get_settings() -> Settings:
    require_aws()  # a ConfigError (503) saying what is missing, before boto3 fails deeper
    return Settings.from_env()


@cache
def get_table() -> Any:
    """The shop's DynamoDB table (boto3 honours AWS_ENDPOINT_URL locally)."""
    table_name = get_settings().table_name  # first: the check that the stage's AWS can be reached
    return boto3.resource("dynamodb").Table(table_name)


@cache
def get_verifier() -> TokenVerifier:
    """One verifier per container: its JWKS cache outlives the request."""
    require_aws()  # the local stage's user pool ids come with its AWS
    return TokenVerifier(auth_settings_from_env())


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
    )


def reset() -> None:
    """Forget every cached dependency (tests, stage switches)."""
    for getter in (get_settings, get_table, get_verifier, get_cognito, get_ses, get_sns, get_sqs, get_event_deps):
        getter.cache_clear()
