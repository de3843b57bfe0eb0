"""Functional tier: the real Chalice app, through chalice.test.Client,
against moto's server (real DynamoDB calls through boto3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from scripts.import_catalog import load, read_catalog, stage_table_name
from scripts.resources import ROOT, create_table

SEED = ROOT / "data" / "products.json"


@pytest.fixture(scope="session")
def seed_products() -> list[dict[str, Any]]:
    return list(json.loads(Path(SEED).read_text()))


@pytest.fixture(scope="session")
def table(aws: str) -> Any:
    """The local stage's table, created from infra/template.yaml and seeded."""
    name = stage_table_name("local")
    create_table(boto3.client("dynamodb"), name)
    table = boto3.resource("dynamodb").Table(name)
    load(table, read_catalog(SEED), show_progress=False)
    return table


@pytest.fixture()
def client(table: Any, dynamo_calls: Any) -> Iterator[Client]:
    from app import app

    bootstrap.reset()  # the app builds its boto3 objects after the call recorder is set
    with Client(app, stage_name="local") as test_client:
        yield test_client
    bootstrap.reset()
