"""The stage's CloudFormation template (infra/template.yaml), read as data.

The packaged stage builds on it (infra/package.py), and the local stack and
the tests create their table from the same definition that production
deploys, so keys and indexes cannot drift apart.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no types (types-PyYAML is not a dependency)

ROOT = Path(__file__).resolve().parent.parent  # the repository
TEMPLATE = ROOT / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short tags (!Ref, !Sub...) as data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


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
