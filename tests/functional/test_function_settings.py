"""Every setting reaches every function that reads it, in the packaged stage.

The variables each function's code reads are found in its source
(tests/support/env_reads.py), not listed by hand; the built template (and the
merge document for a stage with other settings) must give each of them a
value: by reference to the stack, or the stage's own from .chalice/config.json.
Chalice gives its settings to the functions it makes; purchase and admin are
the shop's own, so without infra/package.py's ``environment`` they would get
none (a non-default ADMIN_ROLE once left the admin function checking
``admin``).
"""

from __future__ import annotations

from typing import Any

import pytest

from infra import publish_spa
from infra.chalice_config import stage_environment
from infra.functions import FUNCTIONS, Function
from infra.package import merge_document
from tests.support.env_reads import Reads, reads_of_handler

# Lambda sets these in every function's environment.
LAMBDA_PROVIDES = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME"})
# Required only by the identity provider a stage does not use (chalicelib/accounts/verifier.py).
OTHER_PROVIDER = {
    "cognito": frozenset({"AUTH0_DOMAIN", "AUTH0_AUDIENCE", "AUTH_ROLES_CLAIM"}),
    "auth0": frozenset({"COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"}),
}
# Set by the template itself, whatever the stage's settings say: the stage's
# name, which origins it answers (from its settings, infra/rest_api.py), and
# the provider, which chooses the pool's references.
DECIDED_BY_THE_TEMPLATE = frozenset({"STAGE", "CORS_ALLOW_ORIGIN", "AUTH_PROVIDER"})


def reads(function: Function) -> Reads:
    return reads_of_handler(function.handler)


def variables(resources: dict[str, Any], function: Function) -> dict[str, Any]:
    return dict(resources[function.logical_id]["Properties"]["Environment"]["Variables"])


def test_the_source_scan_finds_what_the_code_reads() -> None:
    purchase = reads(next(f for f in FUNCTIONS if f.key == "purchase"))
    assert {"STAGE", "TABLE_NAME", "COGNITO_USER_POOL_ID"} <= purchase.required
    assert {"ADMIN_ROLE", "LOG_FORMAT", "AUTH_JWKS_URL"} <= purchase.optional
    assert not purchase.all & {"SK", "PK"}  # an item's keys are not settings


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.key)
def test_every_variable_a_function_needs_has_a_value_in_the_built_template(
    stage: str, function: Function, built_stage: Any
) -> None:
    provider = stage_environment(stage).get("AUTH_PROVIDER", "cognito")
    needed = reads(function).required - LAMBDA_PROVIDES - OTHER_PROVIDER[provider]
    given = variables(built_stage(stage)["Resources"], function)
    assert needed - set(given) == set(), f"{function.key} reads them, the template gives them no value"
    assert all(given[name] not in ("", None) for name in needed)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.key)
def test_every_setting_of_the_stage_reaches_each_function_that_reads_it(function: Function) -> None:
    code_reads = reads(function)
    settable = sorted(code_reads.all - LAMBDA_PROVIDES - DECIDED_BY_THE_TEMPLATE)
    settings = {**stage_environment("prod"), **{name: f"set-for-{name.lower()}" for name in settable}}
    document = merge_document("prod", settings)
    given = variables(document["Resources"], function)
    for name in settable:
        value = given.get(name)
        # The stage's value, or the stack's own resource by reference (never a copied literal).
        assert value == settings[name] or isinstance(value, dict), f"{name} of {function.key}: {value!r}"


def test_admin_role_is_one_setting_for_the_group_every_function_and_the_spa() -> None:
    settings = {**stage_environment("prod"), "ADMIN_ROLE": "catalog-admins"}
    document = merge_document("prod", settings)
    resources = document["Resources"]
    assert resources["AdminGroup"]["Properties"]["GroupName"] == "catalog-admins"
    for function in FUNCTIONS:
        assert variables(resources, function)["ADMIN_ROLE"] == "catalog-admins", function.key
    site = {**settings, "COGNITO_USER_POOL_ID": "eu-west-1_abc", "COGNITO_CLIENT_ID": "client"}
    config = publish_spa.site_config("prod", "https://shop.example.com/api", site, "eu-west-1")
    assert config["admin_role"] == "catalog-admins"


def test_without_the_setting_the_admin_role_is_admin_everywhere(built_stage: Any) -> None:
    resources = built_stage("dev")["Resources"]
    assert resources["AdminGroup"]["Properties"]["GroupName"] == "admin"
    assert {variables(resources, f)["ADMIN_ROLE"] for f in FUNCTIONS} == {"admin"}
