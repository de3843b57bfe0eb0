"""Settings of one stage, read once from its environment, typed, failing fast.

The stage's variables are set in .chalice/config.json (deployed stages take
them from the infra stack's outputs). Locally, scripts/stack.py also sets
AWS_ENDPOINT_URL so that boto3 talks to the embedded AWS, and the ids of the
local user pool, which only exist once the stack has started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported where they are built: every function reads this module, but only
    # the authorizer needs auth.py (PyJWT) and only order events events.py (boto3).
    from .auth import AuthSettings
    from .events import EventSettings


class ConfigError(RuntimeError):
    pass


class _Env:
    def __init__(self, environ: Mapping[str, str] | None) -> None:
        self.env = dict(os.environ if environ is None else environ)

    def need(self, name: str) -> str:
        value = self.env.get(name, "").strip()
        if not value:
            raise ConfigError(f"environment variable {name} is not set (see .chalice/config.json)")
        return value

    def get(self, name: str, default: str = "") -> str:
        return self.env.get(name, "").strip() or default


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    admin_role: str
    # AUTH_PROVIDER ("cognito" or "auth0"; "" when unset): what the views need
    # to know of the identity provider, without building the verifier.
    auth_provider: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _Env(environ)
        return cls(
            stage=env.need("STAGE"),
            table_name=env.need("TABLE_NAME"),
            admin_role=env.get("ADMIN_ROLE", "admin"),
            auth_provider=env.get("AUTH_PROVIDER"),
        )


def stage_from_env(environ: Mapping[str, str] | None = None) -> str:
    """STAGE alone: every function needs it (logs and metrics name it), some nothing else."""
    return _Env(environ).need("STAGE")


def auth_settings_from_env(environ: Mapping[str, str] | None = None) -> AuthSettings:
    """The identity provider of the stage: AUTH_PROVIDER=cognito or auth0.

    cognito: COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID, COGNITO_REGION (or
    AWS_REGION); roles from ``cognito:groups``.
    auth0: AUTH0_DOMAIN, AUTH0_AUDIENCE (the API identifier), AUTH_ROLES_CLAIM
    (the namespaced claim an Auth0 Action adds, e.g.
    ``https://petstore.example.com/roles``).
    Either: AUTH_ISSUER and AUTH_JWKS_URL override what is derived, and
    AUTH_EMAIL_CLAIM names the claim holding the email.
    """
    from .auth import AuthSettings

    env = _Env(environ)
    provider = env.need("AUTH_PROVIDER")
    if provider == "cognito":
        region = env.get("COGNITO_REGION") or env.need("AWS_REGION")
        issuer = (
            env.get("AUTH_ISSUER") or f"https://cognito-idp.{region}.amazonaws.com/{env.need('COGNITO_USER_POOL_ID')}"
        )
        audience = env.need("COGNITO_CLIENT_ID")
        roles_claim = env.get("AUTH_ROLES_CLAIM", "cognito:groups")
        jwks_url = env.get("AUTH_JWKS_URL") or f"{issuer}/.well-known/jwks.json"
    elif provider == "auth0":
        issuer = env.get("AUTH_ISSUER") or f"https://{env.need('AUTH0_DOMAIN')}/"
        audience = env.need("AUTH0_AUDIENCE")
        roles_claim = env.need("AUTH_ROLES_CLAIM")
        jwks_url = env.get("AUTH_JWKS_URL") or f"{issuer.rstrip('/')}/.well-known/jwks.json"
    else:
        raise ConfigError(f"AUTH_PROVIDER must be 'cognito' or 'auth0', not {provider!r}")
    return AuthSettings(
        issuer=issuer,
        audience=audience,
        jwks_url=jwks_url,
        roles_claim=roles_claim,
        cognito=provider == "cognito",
        email_claim=env.get("AUTH_EMAIL_CLAIM", "email"),
        # moto signs with a published key: only the local stage may trust it.
        trust_moto_key=env.need("STAGE") == "local",
    )


def event_settings_from_env(environ: Mapping[str, str] | None = None) -> EventSettings:
    """Follow-up work of orders: NOTIFY_FROM (SES sender), LOW_STOCK_TOPIC_ARN
    (SNS), LOW_STOCK_THRESHOLD (default 5). Unset: that effect is off.

    FAILED_RECORDS_QUEUE_URL (SQS) receives the stream records that cannot be
    handled; unset, they are retried like any other failure. Lambda sets
    AWS_LAMBDA_FUNCTION_NAME, named in what is recorded of a failure."""
    from .events import EventSettings

    env = _Env(environ)
    threshold = env.get("LOW_STOCK_THRESHOLD", "5")
    if not threshold.isdigit():
        raise ConfigError(f"LOW_STOCK_THRESHOLD must be a whole number, not {threshold!r}")
    return EventSettings(
        sender=env.get("NOTIFY_FROM") or None,
        low_stock_topic_arn=env.get("LOW_STOCK_TOPIC_ARN") or None,
        low_stock_threshold=int(threshold),
        failed_records_queue_url=env.get("FAILED_RECORDS_QUEUE_URL") or None,
        function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or None,
    )
