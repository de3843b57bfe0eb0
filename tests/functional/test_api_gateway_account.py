"""API Gateway's logging role, set once per account and region by `make deploy` (infra/api_gateway_account.py).

Against moto's server, each test in an account of its own (moto's
``x-moto-account-id`` header), since API Gateway's account setting is a
singleton of the account and region; moto loads AWS's managed policies
(``MOTO_IAM_LOAD_MANAGED_POLICIES``) so the role can be given
AmazonAPIGatewayPushToCloudWatchLogs. moto never refuses a role that IAM has
not propagated yet: those tests stub API Gateway alone with botocore's Stubber.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from infra import api_gateway_account
from infra.cloudformation import StackError

REGION = "us-east-1"
ROLE = "petstore-apigateway-logs-us-east-1"
PUSH_TO_LOGS = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
NOT_YET = "The role ARN does not have required permissions set to API Gateway"
ACCOUNTS = itertools.count(210000000001)


def in_account(client: Any, account: str) -> Any:
    """The client, speaking to moto as the given account."""

    def as_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-send", as_account)
    return client


@pytest.fixture()
def account(aws: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new AWS account: API Gateway names no logging role, IAM holds AWS's managed policies only."""
    # moto reads the setting as it makes an account's IAM, and a first IAM request of any account also
    # makes the default account's: that one is made first, without them, as the other tests know it.
    boto3.client("iam").list_roles()
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    return f"{next(ACCOUNTS):012d}"


@pytest.fixture()
def iam(account: str) -> Any:
    return in_account(boto3.client("iam"), account)


@pytest.fixture()
def apigateway(account: str) -> Any:
    return in_account(boto3.client("apigateway"), account)


def ensure(apigateway: Any, iam: Any, pauses: list[float] | None = None) -> tuple[str, list[str], list[float]]:
    """Run it with an injected pause; returns the role's ARN, what it said and the pauses it took."""
    said: list[str] = []
    pauses = [] if pauses is None else pauses
    arn = api_gateway_account.ensure_logging_role(apigateway, iam, REGION, pauses.append, said.append)
    return arn, said, pauses


def a_role(iam: Any, name: str) -> str:
    trust = {"Version": "2012-10-17", "Statement": []}
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def test_an_account_without_a_logging_role_gets_one_named_for_the_region_trusted_by_api_gateway(
    apigateway: Any, iam: Any, account: str
) -> None:
    arn, said, pauses = ensure(apigateway, iam)

    assert arn == f"arn:aws:iam::{account}:role/{ROLE}"
    assert apigateway.get_account()["cloudwatchRoleArn"] == arn
    role = iam.get_role(RoleName=ROLE)["Role"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [PUSH_TO_LOGS]
    assert said[0].startswith(f"Created the role {ROLE}")
    assert said[-1] == f"API Gateway logs with {arn} (the account's setting in {REGION})."
    assert pauses == []


def test_a_second_deploy_keeps_the_role_and_creates_nothing(apigateway: Any, iam: Any) -> None:
    first, _, _ = ensure(apigateway, iam)

    second, said, pauses = ensure(apigateway, iam)

    assert second == first
    assert said == [f"API Gateway logs with {first} (the account's setting in {REGION}, kept)."]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == [ROLE]
    assert pauses == []


def test_a_role_the_account_already_logs_with_is_kept_whoever_made_it(apigateway: Any, iam: Any) -> None:
    theirs = a_role(iam, "console-made-apigateway-logs")
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": theirs}])

    arn, said, _ = ensure(apigateway, iam)

    assert arn == theirs and apigateway.get_account()["cloudwatchRoleArn"] == theirs
    assert ROLE not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert "kept" in said[0]


def test_a_setting_naming_a_deleted_role_is_replaced_by_the_shops_role(apigateway: Any, iam: Any, account: str) -> None:
    gone = f"arn:aws:iam::{account}:role/petstore-dev-ApiGatewayLoggingRole-1A2B3C"  # left by an old stack
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": gone}])

    arn, said, _ = ensure(apigateway, iam)

    assert arn.endswith(f":role/{ROLE}") and apigateway.get_account()["cloudwatchRoleArn"] == arn
    assert said[0] == f"API Gateway's account setting names {gone}, which no longer exists: replacing it."


def test_the_shops_role_made_earlier_is_reused_when_the_setting_lost_it(apigateway: Any, iam: Any) -> None:
    made = a_role(iam, ROLE)  # e.g. the setting was changed by hand since

    arn, said, _ = ensure(apigateway, iam)

    assert arn == made and apigateway.get_account()["cloudwatchRoleArn"] == made
    assert f"Reusing the role {ROLE}." in said
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [PUSH_TO_LOGS]


@pytest.fixture()
def unpropagated(account: str) -> Iterator[Stubber]:
    """API Gateway, stubbed: it has no logging role, and answers update_account as the test queues."""
    stubber = Stubber(in_account(boto3.client("apigateway"), account))
    stubber.add_response("get_account", {})
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def update(stubber: Stubber, account: str, refused: bool) -> None:
    patch = [{"op": "replace", "path": "/cloudwatchRoleArn", "value": f"arn:aws:iam::{account}:role/{ROLE}"}]
    if refused:
        stubber.add_client_error(
            "update_account", "BadRequestException", NOT_YET, 400, expected_params={"patchOperations": patch}
        )
    else:
        stubber.add_response("update_account", {}, {"patchOperations": patch})


def test_a_new_role_is_set_again_after_growing_pauses_while_iam_propagates_it(
    unpropagated: Stubber, iam: Any, account: str
) -> None:
    for refused in (True, True, False):
        update(unpropagated, account, refused)

    arn, said, pauses = ensure(unpropagated.client, iam)

    assert arn.endswith(f":role/{ROLE}")
    assert pauses == [2.0, 4.0]  # the injected pause: the test never sleeps
    assert said[-1].startswith(f"API Gateway logs with {arn}")


def test_a_role_api_gateway_keeps_refusing_fails_after_a_bounded_number_of_tries(
    unpropagated: Stubber, iam: Any, account: str
) -> None:
    for _ in range(5):
        update(unpropagated, account, refused=True)
    pauses: list[float] = []

    with pytest.raises(StackError) as failed:
        ensure(unpropagated.client, iam, pauses)

    assert pauses == [2.0, 4.0, 8.0, 16.0]  # then it gives up: no sixth try is queued, none is made
    message = str(failed.value)
    assert f"API Gateway still refuses arn:aws:iam::{account}:role/{ROLE}" in message
    assert "after 5 tries over 30 s" in message and NOT_YET in message
    assert "deploy again in a minute" in message


def test_another_refusal_is_not_retried(unpropagated: Stubber, iam: Any) -> None:
    unpropagated.add_client_error("update_account", "AccessDeniedException", "not allowed: apigateway:PATCH", 403)

    pauses: list[float] = []

    with pytest.raises(ClientError, match="AccessDeniedException"):
        ensure(unpropagated.client, iam, pauses)

    assert pauses == []
