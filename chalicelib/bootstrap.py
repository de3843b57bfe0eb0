"""Dependencies of the app, built once per warm Lambda container and injected.

Views call these getters; tests call ``reset()`` between stacks. Nothing is
created at import time, so a cold start pays only for what a request uses.

Every function imports this module, so it imports nothing heavy itself: each
getter imports what it builds. The authorizer never loads boto3, and the API
and stream functions never load PyJWT (see tests/unit/test_function_imports.py).

Every AWS client retries what AWS says is transient (throttling, 5xx,
connection errors) a bounded number of times, and gives up on a connection or
an answer that takes too long: a request stays well inside the function's
timeout, and the view answers 503 with Retry-After (chalicelib/platform/errors.py).
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.platform.config import Settings, require_aws, stage_from_env
from chalicelib.platform.metrics import EmfMetrics
from chalicelib.platform.observability import Telemetry, build_telemetry

if TYPE_CHECKING:
    from chalicelib.accounts.verifier import TokenVerifier
    from chalicelib.catalog.photo_processing import PhotoWork
    from chalicelib.catalog.product_table import DynamoProductStore
    from chalicelib.orders.follow_ups import EventDeps
    from chalicelib.orders.order_table import DynamoOrderStore
    from chalicelib.photos.uploads import PhotoBuckets
    from chalicelib.search.index import SearchIndex
    from chalicelib.search.index_store import IndexReader, IndexStore
    from chalicelib.search.indexing import Indexer

AWS_MAX_ATTEMPTS = 3  # the first try and two retries, with botocore's jittered backoff
AWS_CONNECT_TIMEOUT_S = 1.0
AWS_READ_TIMEOUT_S = 3.0  # DynamoDB answers in milliseconds; a hung connection is retried
# The local stage's AWS is moto: pure Python, in one process with the app, and
# slow on a busy machine (a page of 100 products can take seconds).
LOCAL_READ_TIMEOUT_S = 30.0


@cache
def aws_config() -> Any:
    """Retries and timeouts of every boto3 client of the app."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": AWS_MAX_ATTEMPTS},
        connect_timeout=AWS_CONNECT_TIMEOUT_S,
        read_timeout=LOCAL_READ_TIMEOUT_S if get_settings().stage == "local" else AWS_READ_TIMEOUT_S,
    )


@cache
def get_settings() -> Settings:
    require_aws()  # a ConfigError (503) saying what is missing, before boto3 fails deeper
    return Settings.from_env()


@cache
def get_telemetry() -> Telemetry:
    """The shop's logger and metrics (chalicelib/platform/observability.py)."""
    return build_telemetry(stage_from_env())


def get_metrics() -> EmfMetrics:
    """Where facts are counted; written out at the end of each request or batch."""
    return get_telemetry().metrics


@cache
def get_table() -> Any:
    """The shop's DynamoDB table (boto3 honours AWS_ENDPOINT_URL locally)."""
    table_name = get_settings().table_name  # first: the check that the stage's AWS can be reached
    import boto3

    return boto3.resource("dynamodb", config=aws_config()).Table(table_name)


@cache
def get_product_store() -> DynamoProductStore:
    """The catalog's products, in the table (chalicelib/catalog/product_store.py)."""
    from chalicelib.catalog.product_table import DynamoProductStore

    return DynamoProductStore(get_table())


@cache
def get_order_store() -> DynamoOrderStore:
    """Orders and their purchases, in the table (chalicelib/orders/order_store.py)."""
    from chalicelib.orders.order_table import DynamoOrderStore

    return DynamoOrderStore(get_table())


@cache
def get_verifier() -> TokenVerifier:
    """One verifier per container: its JWKS cache outlives the request."""
    from chalicelib.accounts.verifier import TokenVerifier, auth_settings_from_env

    if stage_from_env() == "local":
        require_aws()  # the local user pool's ids come with its AWS; elsewhere the verifier needs no AWS
    return TokenVerifier(auth_settings_from_env(), metrics=get_metrics())


@cache
def get_cognito() -> Any:
    import boto3

    return boto3.client("cognito-idp", config=aws_config())


@cache
def get_ses() -> Any:
    import boto3

    return boto3.client("ses", config=aws_config())


@cache
def get_sns() -> Any:
    import boto3

    return boto3.client("sns", config=aws_config())


@cache
def get_sqs() -> Any:
    import boto3

    return boto3.client("sqs", config=aws_config())


@cache
def get_s3() -> Any:
    """S3; the photo uploads it presigns go to the bucket's regional, virtual-hosted endpoint.

    Left to choose, botocore presigns a POST for the global endpoint
    (``<bucket>.s3.amazonaws.com``), which outside us-east-1 answers for a
    bucket made minutes ago with a redirect: the admin's browser refuses it
    (CORS). The embedded AWS (AWS_ENDPOINT_URL: moto on loopback) is
    addressed by path, as botocore addresses it unless told otherwise.
    """
    config = aws_config()  # the stage's AWS first: locally, AWS_ENDPOINT_URL comes with it
    import boto3
    from botocore.config import Config

    style = "path" if os.environ.get("AWS_ENDPOINT_URL") else "virtual"
    return boto3.client("s3", config=config.merge(Config(s3={"addressing_style": style})))


@cache
def get_photo_buckets() -> PhotoBuckets:
    from chalicelib.photos.uploads import photo_buckets_from_env

    get_settings()  # the stage's AWS first (a 503 naming what is missing)
    return photo_buckets_from_env()


@cache
def get_photo_work() -> PhotoWork:
    """What the image function needs: the catalog, S3 and the two photo buckets."""
    from chalicelib.catalog.photo_processing import PhotoWork

    return PhotoWork(store=get_product_store(), s3=get_s3(), buckets=get_photo_buckets())


def index_store(role: str) -> IndexStore:
    """The search index's versions in S3, with a working folder of its own
    for ``role`` (the reader and the indexer may share a process locally)."""
    import uuid
    from pathlib import Path

    from chalicelib.search.index_store import IndexStore, search_index_settings_from_env

    get_settings()  # the stage's AWS first (a 503 naming what is missing)
    settings = search_index_settings_from_env()
    # A folder per instance: tantivy allows one writer per folder, and locally
    # a stream pump may still run the indexer built before a reset().
    return IndexStore(get_s3(), settings.bucket, Path(settings.workdir) / f"{role}-{uuid.uuid4().hex[:8]}")


@cache
def get_index_reader() -> IndexReader:
    from chalicelib.search.index_store import IndexReader, search_index_settings_from_env

    return IndexReader(index_store("reader"), refresh_s=search_index_settings_from_env().refresh_s)


def get_search_index() -> SearchIndex:
    """The current search index (loaded at the first search, refreshed every few seconds)."""
    return get_index_reader().get()


@cache
def get_indexer() -> Indexer:
    from chalicelib.search.indexing import Indexer

    return Indexer(index_store("indexer"), get_table())


@cache
def get_event_deps() -> EventDeps:
    from chalicelib.orders.event_ledger import DynamoEventLedger
    from chalicelib.orders.follow_ups import EventDeps, event_settings_from_env

    return EventDeps(
        ledger=DynamoEventLedger(get_table()),
        ses=get_ses,
        sns=get_sns,
        sqs=get_sqs,
        settings=event_settings_from_env(),
        clock=time.time,
        metrics=get_metrics(),
        pseudonym=get_telemetry().caller_of,
    )


def reset() -> None:
    """Forget every cached dependency (tests, stage switches)."""
    for getter in (
        get_settings,
        aws_config,
        get_telemetry,
        get_table,
        get_product_store,
        get_order_store,
        get_verifier,
        get_cognito,
        get_ses,
        get_sns,
        get_sqs,
        get_s3,
        get_photo_buckets,
        get_photo_work,
        get_index_reader,
        get_indexer,
        get_event_deps,
    ):
        getter.cache_clear()
