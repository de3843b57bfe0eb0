"""Create the stage's AWS resources from infra/template.yaml.

The local stack and the tests build their table from the same CloudFormation
template that production deploys, so keys and indexes cannot drift apart.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short tags (!Ref, !Sub...) as data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def template() -> dict[str, Any]:
    # _CfnLoader is a SafeLoader: it builds plain data only.
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506  # nosec


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments for the shop table, as the template defines it."""
    props = template()["Resources"]["ShopTable"]["Properties"]
    definition: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
    }
    for name in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes", "StreamSpecification"):
        if name in props:
            definition[name] = props[name]
    if "StreamSpecification" in definition:
        definition["StreamSpecification"] = {"StreamEnabled": True, **definition["StreamSpecification"]}
    return definition


def create_table(dynamodb: Any, table_name: str) -> None:
    """Create the table if it does not exist yet (``dynamodb`` is a boto3 client)."""
    existing = dynamodb.list_tables()["TableNames"]
    if table_name not in existing:
        dynamodb.create_table(**table_definition(table_name))
        dynamodb.get_waiter("table_exists").wait(TableName=table_name)
        ttl = template()["Resources"]["ShopTable"]["Properties"].get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


def create_search_index_bucket(s3: Any, bucket: str) -> None:
    """The bucket of the search index's versions (SearchIndexBucket in the template)."""
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)


def rebuild_search_index(table_name: str, bucket: str) -> int:
    """Build the search index from the table and publish it (what the
    indexer does when a stage has none); returns its version."""
    import tempfile

    import boto3

    from chalicelib.search.indexer import Indexer
    from chalicelib.search.store import IndexStore

    workdir = Path(tempfile.mkdtemp(prefix="petstore-rebuild-"))
    store = IndexStore(boto3.client("s3"), bucket, workdir)
    report = Indexer(store, boto3.resource("dynamodb").Table(table_name)).rebuild()
    return int(report.version or 0)


def local_stage_environment() -> dict[str, str]:
    """The local stage's variables of .chalice/config.json."""
    import json

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"]["local"]["environment_variables"])


def _properties(logical_id: str) -> dict[str, Any]:
    return dict(template()["Resources"][logical_id]["Properties"])


def create_user_pool(cognito: Any, pool_name: str) -> dict[str, str]:
    """The user pool, its SPA client and its groups, as the template defines them.

    Returns the ids the app and the SPA need: ``user_pool_id``, ``client_id``.
    """
    pool = _properties("UserPool")
    created = cognito.create_user_pool(
        PoolName=pool_name,
        **{
            k: pool[k]
            for k in ("UsernameAttributes", "AutoVerifiedAttributes", "Policies", "Schema", "AccountRecoverySetting")
            if k in pool
        },
    )
    pool_id = created["UserPool"]["Id"]
    client = _properties("SpaClient")
    client.pop("UserPoolId")
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, **client)["UserPoolClient"]["ClientId"]
    for resource in template()["Resources"].values():
        if resource["Type"] == "AWS::Cognito::UserPoolGroup":
            group = dict(resource["Properties"])
            group.pop("UserPoolId")
            cognito.create_group(UserPoolId=pool_id, **group)
    return {"user_pool_id": pool_id, "client_id": client_id}


# Local only: the accounts `make run` creates and prints (README lists them).
DEMO_USERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("shopper@example.com", "Shopper-pass-1", ()),
    ("admin@example.com", "Admin-pass-1", ("admin",)),
)


def create_demo_users(cognito: Any, user_pool_id: str) -> None:
    for email, password, groups in DEMO_USERS:
        cognito.admin_create_user(
            UserPoolId=user_pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(UserPoolId=user_pool_id, Username=email, Password=password, Permanent=True)
        for group in groups:
            cognito.admin_add_user_to_group(UserPoolId=user_pool_id, Username=email, GroupName=group)


LOCAL_SENDER = "orders@petstore.example.com"


def create_notifications(prefix: str) -> dict[str, str]:
    """The order events' SES sender, SNS low-stock topic and SQS failed-records
    queue (local stack), as the app's environment names them."""
    import boto3

    boto3.client("ses").verify_email_identity(EmailAddress=LOCAL_SENDER)
    topic = boto3.client("sns").create_topic(Name=f"{prefix}-low-stock")["TopicArn"]
    queue = boto3.client("sqs").create_queue(QueueName=f"{prefix}-failed-records")["QueueUrl"]
    return {
        "NOTIFY_FROM": LOCAL_SENDER,
        "LOW_STOCK_TOPIC_ARN": topic,
        "LOW_STOCK_THRESHOLD": "5",
        "FAILED_RECORDS_QUEUE_URL": queue,
    }


def local_auth_environment(aws_url: str, pool: dict[str, str], region: str = "us-east-1") -> dict[str, str]:
    """What the app needs to verify the local pool's tokens (set by the stack)."""
    return {
        "AUTH_PROVIDER": "cognito",
        "COGNITO_REGION": region,
        "COGNITO_USER_POOL_ID": pool["user_pool_id"],
        "COGNITO_CLIENT_ID": pool["client_id"],
        "AUTH_JWKS_URL": f"{aws_url}/{pool['user_pool_id']}/.well-known/jwks.json",
    }


def fake_aws_environment(aws_url: str) -> dict[str, str]:
    """Credentials that only moto accepts: real ones are never sent anywhere."""
    return {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def local_aws_url() -> str:
    """Where `make run` serves the embedded AWS."""
    return os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{os.environ.get('AWS_PORT', '5100')}"


def start_embedded_aws(port: int) -> Any:
    """moto's server on loopback, with scripts/moto_speedups.py installed.

    Used by the local stack, the tests and the benchmarks alike.
    """
    import logging

    from moto.server import ThreadedMotoServer

    from . import moto_speedups

    moto_speedups.install()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per AWS call
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server
