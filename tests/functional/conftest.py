"""Functional tier: the real Chalice app, through chalice.test.Client,
against moto's server (real DynamoDB calls through boto3)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.api.indexer import index_table_stream
from chalicelib.search.indexing import INDEX_STREAM_POLICY
from infra.import_catalog import load, read_catalog, stage_table_name
from infra.template import ROOT
from localdev import gateway
from localdev.resources import (
    DEMO_USERS,
    create_demo_users,
    create_search_index_bucket,
    create_table,
    create_user_pool,
    local_auth_environment,
    local_stage_environment,
    rebuild_search_index,
)
from localdev.stream_pump import StreamPump

SEED = ROOT / "data" / "products.json"


def _import_the_app_as_the_local_stage_serves_it() -> None:
    """The app reads its CORS setting once, when imported: import it first with
    the local stage's settings, whichever test (or in-process build, which
    reads the app's routes) imports it next."""
    saved = dict(os.environ)
    os.environ.update(local_stage_environment())
    try:
        import app  # noqa: F401
    finally:
        os.environ.clear()
        os.environ.update(saved)


_import_the_app_as_the_local_stage_serves_it()


@pytest.fixture(scope="session")
def seed_products() -> list[dict[str, Any]]:
    return list(json.loads(Path(SEED).read_text()))


@pytest.fixture(scope="session")
def table(aws: str) -> Iterator[Any]:
    """The local stage's table, created from infra/template.yaml and seeded,
    with its search index built and kept current from the stream by the
    indexer (as `make run` does)."""
    patch = pytest.MonkeyPatch()
    for name, value in {**local_stage_environment(), "SEARCH_REFRESH_S": "0"}.items():
        patch.setenv(name, value)
    name = stage_table_name("local")
    create_table(boto3.client("dynamodb"), name)
    create_search_index_bucket(boto3.client("s3"), os.environ["SEARCH_INDEX_BUCKET"])
    for photos in (os.environ["UPLOADS_BUCKET"], os.environ["RENDITIONS_BUCKET"]):  # the local stage's
        boto3.client("s3").create_bucket(Bucket=photos)
    table = boto3.resource("dynamodb").Table(name)
    load(table, read_catalog(SEED), show_progress=False)
    rebuild_search_index(name, os.environ["SEARCH_INDEX_BUCKET"])
    pump = StreamPump(name, index_table_stream, policy=INDEX_STREAM_POLICY, interval_s=0.05).start()
    yield table
    pump.stop()
    patch.undo()


@pytest.fixture(scope="session")
def user_pool(aws: str) -> dict[str, str]:
    """The local user pool (from infra/template.yaml) with the demo users."""
    cognito = boto3.client("cognito-idp")
    pool = create_user_pool(cognito, "petstore-local")
    create_demo_users(cognito, pool["user_pool_id"])
    return pool


@pytest.fixture(scope="session")
def tokens(user_pool: dict[str, str]) -> dict[str, dict[str, str]]:
    """Tokens of the demo users, from Cognito's InitiateAuth as the SPA gets them."""
    cognito = boto3.client("cognito-idp")
    found = {}
    for email, password, _ in DEMO_USERS:
        result = cognito.initiate_auth(
            ClientId=user_pool["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
        found[email.split("@")[0]] = {"access": result["AccessToken"], "id": result["IdToken"]}
    return found


@pytest.fixture()
def auth_env(aws: str, user_pool: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = local_auth_environment(aws, user_pool)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture()
def client(table: Any, dynamo_calls: Any, auth_env: dict[str, str]) -> Iterator[Client]:
    """The app as `make run` serves it: real authorizer, API Gateway's 401s."""
    from app import app

    gateway.install()
    bootstrap.reset()  # the app builds its boto3 objects after the call recorder is set
    with Client(app, stage_name="local") as test_client:
        yield test_client
    bootstrap.reset()


@pytest.fixture()
def make_product(table: Any) -> Iterator[Any]:
    """Products made for one test and deleted after it, so the seed stays as it was."""
    import uuid

    from chalicelib.catalog.product import Product
    from chalicelib.catalog.product_table import DynamoProductStore
    from chalicelib.catalog.products import delete_product, save_product

    made: list[str] = []

    def make(stock: int = 10, price_cents: int = 1250, name: str = "Test Chew", **fields: Any) -> Product:
        product = Product.model_validate(
            {
                "id": f"test-{uuid.uuid4().hex[:12]}",
                "name": name,
                "description": "Made for a test.",
                "species": "dog",
                "category": "treats",
                "brand": "Testbrand",
                "price_cents": price_cents,
                "stock": stock,
                **fields,
            }
        )
        save_product(DynamoProductStore(table), product, create=True)
        made.append(product.id)
        return product

    yield make
    for product_id in made:
        delete_product(DynamoProductStore(table), product_id)


@pytest.fixture(scope="session")
def built_stage() -> Any:
    """build/<stage>/template.json as `make package` leaves it; built here when
    missing or older than the merge document the code now produces."""
    from infra import package

    def template_of(stage: str) -> dict[str, Any]:
        out = package.BUILD / stage
        wanted = json.dumps(package.merge_document(stage, package.stage_environment(stage)), indent=2) + "\n"
        merge_file, template_file = out / "merge.json", out / "template.json"
        if not template_file.exists() or not merge_file.exists() or merge_file.read_text() != wanted:
            package.build(stage)
        return dict(json.loads(template_file.read_text()))

    return template_of


@pytest.fixture(scope="session")
def expanded_stage(built_stage: Any) -> Any:
    """build/<stage>/expanded.json: the built template after the SAM transform (infra/expand.py)."""
    from infra import package

    def expanded_of(stage: str) -> dict[str, Any]:
        built_stage(stage)
        return dict(json.loads((package.BUILD / stage / package.EXPANDED).read_text()))

    return expanded_of


class AwsFaults:
    """Answers chosen DynamoDB operations with an error at the HTTP layer, so
    botocore's retries, backoff and error parsing run as they do against AWS."""

    def __init__(self) -> None:
        self.failing: dict[str, tuple[int, dict[str, Any]]] = {}
        self.attempts: dict[str, int] = {}

    def fail(self, operation: str, code: str, status: int = 400, **extra: Any) -> None:
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"injected {code}", **extra}
        self.failing[operation] = (status, body)

    def throttle(self, operation: str) -> None:
        self.fail(operation, "ProvisionedThroughputExceededException")

    def clear(self) -> None:
        self.failing.clear()

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = event_name.rsplit(".", 1)[-1]
        if operation not in self.failing:
            return None
        self.attempts[operation] = self.attempts.get(operation, 0) + 1
        status, body = self.failing[operation]
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
        return AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@pytest.fixture()
def aws_faults(client: Client) -> Iterator[AwsFaults]:
    """Injected DynamoDB faults for the app of ``client`` (its boto3 objects
    are built on its first request, after this registers)."""
    faults = AwsFaults()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("before-send.dynamodb", faults)
    yield faults
    events.unregister("before-send.dynamodb", faults)


# -- the order events handler's settings -------------------------------------------------
@pytest.fixture(scope="session")
def notifications(aws: str) -> dict[str, str]:
    """A sender, topic and queue of the session's own (localdev/resources.py)."""
    import uuid

    from localdev.resources import create_notifications

    return create_notifications(f"events-{uuid.uuid4().hex[:6]}")


@pytest.fixture()
def events_env(client: Any, notifications: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The order events handler's settings (its sender, topic and queue), in the environment."""
    from chalicelib import bootstrap

    for name, value in notifications.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    return notifications
