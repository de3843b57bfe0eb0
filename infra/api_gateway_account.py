"""The role API Gateway writes its CloudWatch logs with: one per account and region, set by the deploy.

API Gateway logs (the stages' access logs) through the role named in its
*account* setting, a singleton of the account and region: every API there
uses it, so no stage's stack owns it (dev and prod would overwrite each other's,
and a destroyed stack would leave its role behind). `make deploy` sets it
before the change set, idempotently:

- the account already names a role that exists: it is kept, whoever made it;
- otherwise the role ``petstore-apigateway-logs-<region>`` (IAM names are
  account-wide, the setting is per region) is created, or reused if an
  earlier deploy made it, with AWS's managed policy for it, and named in the
  account setting. A new role takes seconds to reach API Gateway, which
  refuses it meanwhile: the update is retried a bounded number of times.

The role is never deleted: `make destroy` says it is retained.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from infra.cloudformation import Out, StackError

ROLE_PREFIX = "petstore-apigateway-logs"
PUSH_TO_LOGS = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
# Seconds between attempts while IAM propagates a new role (about half a
# minute in all): right after create_role, API Gateway answers
# BadRequestException "The role ARN does not have required permissions...".
PROPAGATION_PAUSES = (2.0, 4.0, 8.0, 16.0)

Pause = Callable[[float], None]


def role_name(region: str) -> str:
    return f"{ROLE_PREFIX}-{region}"


def name_of(role_arn: str) -> str:
    """arn:aws:iam::123456789012:role/a/path/name -> name."""
    return role_arn.rsplit("/", 1)[-1]


def current_role(apigateway: Any) -> str | None:
    """The role ARN the account setting names, if any."""
    return apigateway.get_account().get("cloudwatchRoleArn") or None


def role_exists(iam: Any, role_arn: str) -> bool:
    try:
        iam.get_role(RoleName=name_of(role_arn))
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def ensure_logging_role(apigateway: Any, iam: Any, region: str, pause: Pause, out: Out) -> str:
    """The account's logging role, set first if it names none (or a role since deleted); returns its ARN."""
    current = current_role(apigateway)
    if current and role_exists(iam, current):
        out(f"API Gateway logs with {current} (the account's setting in {region}, kept).")
        return current
    if current:
        out(f"API Gateway's account setting names {current}, which no longer exists: replacing it.")
    arn = ensure_role(iam, role_name(region), out)
    set_account_role(apigateway, arn, pause)
    out(f"API Gateway logs with {arn} (the account's setting in {region}).")
    return arn


def ensure_role(iam: Any, name: str, out: Out) -> str:
    """The role API Gateway may assume to push logs, made if missing; returns its ARN."""
    try:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="API Gateway writes the account's API logs to CloudWatch (set by make deploy)",
        )["Role"]
        out(f"Created the role {name} (API Gateway's CloudWatch logging, shared by the account's APIs).")
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=name)["Role"]
        out(f"Reusing the role {name}.")
    partition = role["Arn"].split(":")[1]
    iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:{partition}:iam::aws:policy/{PUSH_TO_LOGS}")
    return str(role["Arn"])


def set_account_role(apigateway: Any, role_arn: str, pause: Pause) -> None:
    """Name the role in the account setting, retrying while API Gateway cannot see it yet."""
    patch = [{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
    refusal = ""
    for wait in (*PROPAGATION_PAUSES, None):
        try:
            apigateway.update_account(patchOperations=patch)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "BadRequestException":
                raise
            refusal = exc.response["Error"].get("Message", "")
        if wait is not None:
            pause(wait)
    raise StackError(
        f"API Gateway still refuses {role_arn} as its logging role after {len(PROPAGATION_PAUSES) + 1} tries "
        f"over {sum(PROPAGATION_PAUSES):.0f} s: {refusal}\n"
        "A new role can take longer to propagate: deploy again in a minute (the stack was not changed)."
    )
