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
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)


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
