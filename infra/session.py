"""The AWS clients a deploy uses, built once from a boto3 session that is checked first."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.cloudformation import StackError

REGION_HELP = (
    "no AWS region: export AWS_REGION=eu-west-1 (or the region you want), or run `aws configure set region eu-west-1`"
)
CREDENTIALS_HELP = (
    "no AWS credentials: run `aws configure` (access keys), or `aws configure sso` then "
    "`aws sso login --profile NAME` and export AWS_PROFILE=NAME"
)
# Invoking the indexer waits for it (a rebuild takes up to its 60 s timeout),
# and is never repeated by botocore: one rebuild per request.
INVOKE_CONFIG = Config(read_timeout=90, connect_timeout=10, retries={"total_max_attempts": 1})


@dataclass(frozen=True)
class Aws:
    """The clients of one account and region (tests build it with their own clients)."""

    cloudformation: Any
    s3: Any
    dynamodb: Any  # a boto3 resource: seeding uses its Table
    cognito: Any
    account: str
    region: str
    lambda_: Any  # invokes the indexer (make reindex, a deploy's first index)
    apigateway: Any  # the account's logging role setting (infra/api_gateway_account.py)
    iam: Any  # that role
    cloudfront: Any  # invalidates the shop's cached files after a publish


def operator_session(environ: Mapping[str, str] | None = None) -> Any:
    """A boto3 session in the region the user chose: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's.

    botocore reads only AWS_DEFAULT_REGION (and the profile); AWS_REGION is
    what the AWS docs, Lambda and most SDKs use, so it is honoured first.
    """
    import boto3

    env = os.environ if environ is None else environ
    return boto3.session.Session(region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None)


def checked_session(session: Any) -> Any:
    """The session, once it has a region and credentials; otherwise say how to configure them."""
    if not session.region_name:
        raise StackError(REGION_HELP)
    if session.get_credentials() is None:
        raise StackError(CREDENTIALS_HELP)
    return session


def connect(session: Any) -> Aws:
    session = checked_session(session)
    try:
        account = str(session.client("sts").get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        raise StackError(
            f"AWS refused the credentials ({exc}): refresh them (`aws sso login`, `aws configure`) and try again"
        ) from exc
    return Aws(
        cloudformation=session.client("cloudformation"),
        s3=session.client("s3"),
        dynamodb=session.resource("dynamodb"),
        cognito=session.client("cognito-idp"),
        account=account,
        region=str(session.region_name),
        lambda_=session.client("lambda", config=INVOKE_CONFIG),
        apigateway=session.client("apigateway"),
        iam=session.client("iam"),
        cloudfront=session.client("cloudfront"),
    )
