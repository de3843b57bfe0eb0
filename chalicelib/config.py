"""Settings of one stage, read once from its environment, typed, failing fast.

The stage's variables are set in .chalice/config.json (deployed stages take
them from the infra stack's outputs). Locally, scripts/stack.py also sets
AWS_ENDPOINT_URL so that boto3 talks to the embedded AWS, and the ids of the
local user pool, which only exist once the stack has started; it writes them
to ``<LOCAL_DATA_DIR>/stack.json`` too, where ``require_aws`` finds them for a
``chalice local --stage local`` started in another terminal.

A missing setting is a ``ConfigError``: a 503 whose message names it and says
what to start, never a 500 from deep inside boto3.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported where they are built: every function reads this module, but only
    # the authorizer needs auth.py (PyJWT) and only order events events.py (boto3).
    from .auth import AuthSettings
    from .events import EventSettings

LOCAL_STAGE = "local"
START_LOCAL_AWS = (
    "start the embedded AWS first: `make run` (the whole shop) or `make aws` (only AWS, "
    "for `chalice local --stage local` in another terminal)"
)


class ConfigError(RuntimeError):
    """The stage cannot serve: a setting is missing or wrong. Answered 503.

    Raised, it is also a ``ShopError``, which a view answers with its status
    and code. The error module (and pydantic, which it imports) is loaded only
    then: the functions that have no views (the authorizer, the stream's
    handler) read their settings without paying for it at a cold start.
    """

    status = 503
    code = "not_configured"

    def __new__(cls, *args: object) -> ConfigError:
        return super().__new__(_answered_by_views() if cls is ConfigError else cls, *args)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.field: str | None = None


@cache
def _answered_by_views() -> type[ConfigError]:
    from .errors import ShopError

    return type("ConfigError", (ConfigError, ShopError), {"__module__": __name__})


class _Env:
    def __init__(self, environ: Mapping[str, str] | None) -> None:
        self.env = dict(os.environ if environ is None else environ)

    def need(self, name: str) -> str:
        value = self.env.get(name, "").strip()
        if not value:
            raise ConfigError(f"environment variable {name} is not set (see .chalice/config.json){_hint(self.env)}")
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


AUTH_CACHE_TTL_DEFAULT_S = 300
AUTH_CACHE_TTL_MAX_S = 300


def auth_cache_ttl_from_env(environ: Mapping[str, str] | None = None) -> int:
    """AUTH_CACHE_TTL_S: how long API Gateway keeps the authorizer's answer for a
    token, in whole seconds from 0 (no cache: every call is verified) to 300
    (the default). A revoked token keeps working until it expires, and up to
    this long after (docs/auth.md, "Revocation").

    Read when the app is imported, for the authorizer's ``ttl_seconds``:
    `chalice package`/`deploy` import it with the stage's environment from
    .chalice/config.json, so set it there.
    """
    value = _Env(environ).get("AUTH_CACHE_TTL_S", str(AUTH_CACHE_TTL_DEFAULT_S))
    if not (value.isascii() and value.isdigit()) or int(value) > AUTH_CACHE_TTL_MAX_S:
        raise ConfigError(
            f"AUTH_CACHE_TTL_S must be a whole number of seconds from 0 to {AUTH_CACHE_TTL_MAX_S} "
            f"(how long a revoked token may still be accepted), not {value!r}"
        )
    return int(value)


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


@dataclass(frozen=True)
class SearchIndexSettings:
    bucket: str  # SEARCH_INDEX_BUCKET: where the index versions live
    refresh_s: float  # SEARCH_REFRESH_S: how often a search container looks for a newer version
    workdir: str  # SEARCH_INDEX_DIR: where a container keeps its copy (Lambda: under /tmp)


def search_index_settings_from_env(environ: Mapping[str, str] | None = None) -> SearchIndexSettings:
    env = _Env(environ)
    refresh = env.get("SEARCH_REFRESH_S", "5")
    try:
        refresh_s = float(refresh)
    except ValueError:
        raise ConfigError(f"SEARCH_REFRESH_S must be a number of seconds, not {refresh!r}") from None
    import tempfile

    return SearchIndexSettings(
        bucket=env.need("SEARCH_INDEX_BUCKET"),
        refresh_s=refresh_s,
        workdir=env.get("SEARCH_INDEX_DIR") or str(Path(tempfile.gettempdir()) / f"petstore-search-{os.getpid()}"),
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


def require_aws(environ: MutableMapping[str, str] | None = None) -> None:
    """Make sure boto3 can reach the stage's AWS before any client is built.

    Stage local: the variables that are not set are taken from the stack file
    of a running ``make run`` or ``make aws`` (written into ``environ``, which
    boto3 reads); no such stack: a ConfigError saying what to start. Other
    stages: a region and credentials must be found, as boto3 looks for them.
    """
    env = os.environ if environ is None else environ
    if env.get("STAGE") == LOCAL_STAGE:
        for name, value in running_local_stack(env).items():
            if name.startswith("AWS_"):  # the embedded AWS's endpoint and the only credentials it takes
                env[name] = value
            else:
                env.setdefault(name, value)
        return
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):
        return  # Lambda gives every function its region and credentials
    import boto3

    session = boto3.session.Session()
    stage = env.get("STAGE") or "this stage"
    if not session.region_name:
        raise ConfigError(f"stage {stage} has no AWS region: set AWS_REGION (or a profile's region){_hint(env)}")
    if session.get_credentials() is None:
        raise ConfigError(f"stage {stage} has no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID{_hint(env)}")


def local_stack_file(environ: Mapping[str, str]) -> Path:
    """Where the local stack writes what a second process needs to use it."""
    data_dir = environ.get("LOCAL_DATA_DIR") or Path(__file__).resolve().parent.parent / ".local"
    return Path(data_dir) / "stack.json"


def running_local_stack(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the running local stack (AWS endpoint, user pool ids...)."""
    if environ.get("AWS_ENDPOINT_URL"):
        return {}  # set by the stack itself, or by hand
    try:
        stack = json.loads(local_stack_file(environ).read_text())
        os.kill(int(stack["pid"]), 0)  # a stack that was killed leaves its file behind
        return {str(name): str(value) for name, value in dict(stack["environment"]).items()}
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"no embedded AWS is running for stage {LOCAL_STAGE}: {START_LOCAL_AWS}") from None


def _hint(env: Mapping[str, str]) -> str:
    stage = env.get("STAGE")
    if stage == LOCAL_STAGE:
        return f"; {START_LOCAL_AWS}"
    return (
        f"; after deploying, `make chalice-config STAGE={stage or 'dev'}` fills in the stage's settings"
        " (docs/deploy.md); to run the shop locally instead: `make aws`, then `chalice local --stage local`"
    )
