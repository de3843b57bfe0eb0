"""Settings of one stage, read once from its environment, typed, failing fast.

The stage's variables are set in .chalice/config.json (deployed stages take
them from the infra stack's outputs). Locally, localdev/local_stack.py also sets
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
from pathlib import Path

from chalicelib.platform.errors import ShopError

LOCAL_STAGE = "local"
START_LOCAL_AWS = (
    "start the embedded AWS first: `make run` (the whole shop) or `make aws` (only AWS, "
    "for `chalice local --stage local` in another terminal)"
)


class ConfigError(ShopError):
    """The stage cannot serve: a setting is missing or wrong. Answered 503."""

    status = 503
    code = "not_configured"


class Env:
    """The stage's environment, read by each feature for its own settings."""

    def __init__(self, environ: Mapping[str, str] | None) -> None:
        self.env = dict(os.environ if environ is None else environ)

    def need(self, name: str) -> str:
        value = self.env.get(name, "").strip()
        if not value:
            raise ConfigError(f"environment variable {name} is not set (see .chalice/config.json){hint(self.env)}")
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
        env = Env(environ)
        return cls(
            stage=env.need("STAGE"),
            table_name=env.need("TABLE_NAME"),
            admin_role=env.get("ADMIN_ROLE", "admin"),
            auth_provider=env.get("AUTH_PROVIDER"),
        )


def stage_from_env(environ: Mapping[str, str] | None = None) -> str:
    """STAGE alone: every function needs it (logs and metrics name it), some nothing else."""
    return Env(environ).need("STAGE")


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
    value = Env(environ).get("AUTH_CACHE_TTL_S", str(AUTH_CACHE_TTL_DEFAULT_S))
    if not (value.isascii() and value.isdigit()) or int(value) > AUTH_CACHE_TTL_MAX_S:
        raise ConfigError(
            f"AUTH_CACHE_TTL_S must be a whole number of seconds from 0 to {AUTH_CACHE_TTL_MAX_S} "
            f"(how long a revoked token may still be accepted), not {value!r}"
        )
    return int(value)


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
    if env.get("AWS_REGION") and not env.get("AWS_DEFAULT_REGION"):
        env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]  # botocore reads only AWS_DEFAULT_REGION (or a profile's)
    import boto3

    session = boto3.session.Session(region_name=env.get("AWS_DEFAULT_REGION") or None)
    stage = env.get("STAGE") or "this stage"
    if not session.region_name:
        raise ConfigError(f"stage {stage} has no AWS region: set AWS_REGION (or a profile's region){hint(env)}")
    if session.get_credentials() is None:
        raise ConfigError(f"stage {stage} has no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID{hint(env)}")


def local_stack_file(environ: Mapping[str, str]) -> Path:
    """Where the local stack writes what a second process needs to use it."""
    data_dir = environ.get("LOCAL_DATA_DIR") or Path(__file__).resolve().parents[2] / ".local"
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


def hint(env: Mapping[str, str]) -> str:
    stage = env.get("STAGE")
    if stage == LOCAL_STAGE:
        return f"; {START_LOCAL_AWS}"
    return (
        f"; after deploying, `make chalice-config STAGE={stage or 'dev'}` fills in the stage's settings"
        " (docs/deploy.md); to run the shop locally instead: `make aws`, then `chalice local --stage local`"
    )
