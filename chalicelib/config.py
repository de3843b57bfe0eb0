"""Settings of one stage, read once from its environment, typed, failing fast.

The stage's variables are set in .chalice/config.json (deployed stages take
them from the infra stack's outputs). Locally, scripts/stack.py also sets
AWS_ENDPOINT_URL so that boto3 talks to the embedded AWS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)

        def need(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(f"environment variable {name} is not set (see .chalice/config.json)")
            return value

        return cls(
            stage=need("STAGE"),
            table_name=need("TABLE_NAME"),
        )
