"""`.chalice/config.json`, the stages' Chalice settings: its one reader and writer.

A stage's environment is the top level's ``environment_variables`` with the
stage's own on top, as Chalice merges them for `chalice local`, `chalice
deploy` and `chalice package`. Every tool that needs a stage's settings
(packaging, publishing the SPA, importing a catalog, the local stack) reads
them here, so they cannot disagree on that rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.template import ROOT

CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
# Who may manage the catalog: a Cognito group of the stage's pool (or an Auth0
# role). One setting, ADMIN_ROLE, read by the template's group, every function,
# the SPA's config.json and `make admin`.
DEFAULT_ADMIN_ROLE = "admin"


class UnknownStage(SystemExit):
    """The stage is not in .chalice/config.json (a command-line tool stops with this message)."""

    def __init__(self, stage: str, config_file: Path) -> None:
        where = config_file.relative_to(ROOT) if config_file.is_relative_to(ROOT) else config_file
        super().__init__(f"no stage {stage!r} in {where}")


def read_config(config_file: Path = CHALICE_CONFIG) -> dict[str, Any]:
    return dict(json.loads(config_file.read_text()))


def write_config(config: dict[str, Any], config_file: Path = CHALICE_CONFIG) -> None:
    config_file.write_text(json.dumps(config, indent=2) + "\n")


def stage_environment(stage: str, config_file: Path = CHALICE_CONFIG) -> dict[str, str]:
    """The stage's environment variables: the top level's, then the stage's own."""
    config = read_config(config_file)
    if stage not in config.get("stages", {}):
        raise UnknownStage(stage, config_file)
    stage_env = config["stages"][stage].get("environment_variables", {})
    return {str(k): str(v) for k, v in {**config.get("environment_variables", {}), **stage_env}.items()}


def admin_role(env: Mapping[str, str]) -> str:
    """The stage's ADMIN_ROLE (``admin`` unless its settings name another)."""
    return env.get("ADMIN_ROLE", "").strip() or DEFAULT_ADMIN_ROLE
