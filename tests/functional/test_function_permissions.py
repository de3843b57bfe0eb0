"""Each function's role is exactly what its code calls: proved, not listed twice.

Every route and event of each function runs against moto through boto3 while
a hook records the AWS calls the code really makes (a transaction counts as
its inner actions, as IAM authorises it; a query on an index needs the
index). The role in the built template (build/<stage>/template.json) must
grant exactly those, plus what Lambda itself needs to trigger the function
(infra/functions.py ``trigger``) and its own logs: a call the role lacks would
fail in AWS, a grant no code uses is privilege to remove.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.platform import keys
from infra.functions import FUNCTIONS, RESOURCES, TOKEN_AUTHORISED, Function, Grant
from infra.package import role_id
from localdev.resources import create_notifications
from tests.support.api_calls import bearer
from tests.support.stream_records import deliver, record, wire_item

Watch = Callable[[], AbstractContextManager[None]]
Need = tuple[str, str]  # (IAM action, name in infra.functions.RESOURCES)
TRANSACTION_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
S3_ACTIONS = {"HeadObject": "GetObject"}  # IAM authorises a HEAD as a GET
ADDRESS = {"name": "Ada", "line1": "1 Lane", "city": "Town", "postal_code": "1234", "country": "US"}


class CallRecorder:
    """What IAM would be asked to allow for the AWS calls made through boto3."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.needs: set[Need] = set()
        self.watching = False
        self.thread = 0

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        # Only the function's own calls: the session's indexer pump runs in a thread of its own.
        if self.watching and threading.get_ident() == self.thread:
            self.needs |= self.iam_needs(model.service_model.signing_name, model.name, params)

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Record the calls made inside (the function's), not the test's own setup."""
        self.watching, self.thread = True, threading.get_ident()
        try:
            yield
        finally:
            self.watching = False

    def iam_needs(self, service: str, operation: str, params: dict[str, Any]) -> set[Need]:
        if f"{service}:{operation}" in TOKEN_AUTHORISED:
            return set()
        if service == "dynamodb" and operation == "TransactWriteItems":
            kinds = {kind for item in params["TransactItems"] for kind in item}
            return {(f"dynamodb:{TRANSACTION_ACTIONS[kind]}", "table") for kind in kinds}
        if service == "dynamodb":
            return {(f"dynamodb:{operation}", "table-indexes" if params.get("IndexName") else "table")}
        if service == "ses":  # as the stage's sender only (the grant's ses:FromAddress condition)
            assert params["Source"] == self.env["NOTIFY_FROM"]
            return {(f"ses:{operation}", "ses-identities")}
        if service == "sns":
            assert params["TopicArn"] == self.env["LOW_STOCK_TOPIC_ARN"]
            return {(f"sns:{operation}", "low-stock-topic")}
        if service == "s3" and params["Bucket"] in (self.env["UPLOADS_BUCKET"], self.env["RENDITIONS_BUCKET"]):
            return photo_needs(self.env, operation, params)
        if service == "s3":
            assert params["Bucket"] == os.environ["SEARCH_INDEX_BUCKET"] and params["Key"].startswith("search-index/")
            needs = {(f"s3:{S3_ACTIONS.get(operation, operation)}", "search-index-objects")}
            if operation in S3_ACTIONS or operation == "GetObject":
                # A missing key is a 404 only with ListBucket (else S3 answers 403): "no index yet".
                needs.add(("s3:ListBucket", "search-index-bucket"))
            return needs
        if service == "sqs":
            assert params["QueueUrl"] == self.env["FAILED_RECORDS_QUEUE_URL"]
            return {(f"sqs:{operation}", "failed-records-queue")}
        raise AssertionError(f"{service}:{operation} has no resource mapping here: add it")

    def take(self) -> set[Need]:
        found, self.needs = self.needs, set()
        return found


def photo_needs(env: dict[str, str], operation: str, params: dict[str, Any]) -> set[Need]:
    """The photo buckets: uploads under uploads/, renditions under img/ (listing a bucket: its prefix only)."""
    uploads = params["Bucket"] == env["UPLOADS_BUCKET"]
    if operation == "ListObjectsV2":
        assert params["Prefix"].startswith("img/") and not uploads
        return {("s3:ListBucket", "renditions-bucket")}
    if operation == "DeleteObjects":
        assert all(o["Key"].startswith("img/") for o in params["Delete"]["Objects"]) and not uploads
        return {("s3:DeleteObject", "renditions-objects")}
    if operation == "CreateBucket":  # how botocore reports a presigned POST; the browser's POST is a PutObject
        assert uploads and set(params) == {"Bucket"}
        return {("s3:PutObject", "uploads-objects")}
    assert params["Key"].startswith("uploads/" if uploads else "img/"), params["Key"]
    needs = {(f"s3:{S3_ACTIONS.get(operation, operation)}", "uploads-objects" if uploads else "renditions-objects")}
    if operation == "HeadObject":  # a missing upload is a 404 only with ListBucket (else 403)
        needs.add(("s3:ListBucket", "uploads-bucket"))
    return needs


def expand(grants: tuple[Grant, ...]) -> set[Need]:
    return {(action, resource) for grant in grants for action in grant.actions for resource in grant.resources}


def granted(template: dict[str, Any], function: Function) -> set[Need]:
    """The role's (action, resource) pairs in the built template, its own logs aside."""
    names = {json.dumps(value, sort_keys=True): name for name, value in RESOURCES.items()}
    policies = template["Resources"][role_id(function)]["Properties"]["Policies"]
    pairs: set[Need] = set()
    for statement in (s for p in policies for s in p["PolicyDocument"]["Statement"] if s["Sid"] != "OwnLogs"):
        for resource in statement["Resource"]:
            pairs |= {(action, names[json.dumps(resource, sort_keys=True)]) for action in statement["Action"]}
    return pairs


@pytest.fixture()
def recorder(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CallRecorder]:
    photos = {name: os.environ[name] for name in ("UPLOADS_BUCKET", "RENDITIONS_BUCKET")}  # the local stage's
    env = {**create_notifications(f"perm-{uuid.uuid4().hex[:6]}"), **photos}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    calls = CallRecorder(env)
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("before-parameter-build", calls)
    bootstrap.reset()  # clients built from now on carry the hook
    yield calls
    events.unregister("before-parameter-build", calls)
    bootstrap.reset()


def run_search(client: Client, tokens: Any, table: Any, make_product: Any, watch: CallRecorder) -> None:
    product = make_product()
    with watch.watch():
        _search_requests(client, product.id)


def _search_requests(client: Client, product_id: str) -> None:
    for query in ("", "?q=dog%20fo", "?q=salmon%20", "?species=cat&sort=price_asc", "?sort=name&limit=3"):
        assert client.http.get(f"/products{query}").status_code == 200
    assert client.http.get(f"/products/{product_id}").status_code == 200
    assert client.http.get("/products/no-such-product").status_code == 404
    assert client.http.get("/openapi.json").status_code == 200
    assert client.http.get("/health").status_code == 200


def run_purchase(client: Client, tokens: Any, table: Any, make_product: Any, watch: CallRecorder) -> None:
    product = make_product(stock=5)
    with watch.watch():
        _purchase_requests(client, bearer(tokens["shopper"]["access"]), product.id)


def _purchase_requests(client: Client, shopper: dict[str, str], product_id: str) -> None:
    assert client.http.get("/me", headers=shopper).status_code == 200
    body = json.dumps({"items": [{"product_id": product_id, "quantity": 2}], "shipping_address": ADDRESS})
    headers = {**shopper, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    placed = client.http.post("/orders", headers=headers, body=body)
    assert placed.status_code == 201
    assert client.http.get("/me/address", headers=shopper).json_body["shipping_address"]["line1"] == ADDRESS["line1"]
    assert client.http.post("/orders", headers=headers, body=body).headers["Idempotent-Replayed"] == "true"
    too_many = json.dumps({"items": [{"product_id": product_id, "quantity": 9}], "shipping_address": ADDRESS})
    short = client.http.post("/orders", headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, body=too_many)
    assert short.status_code == 409
    order_id = placed.json_body["id"]
    assert client.http.get("/orders?limit=1", headers=shopper).status_code == 200
    assert client.http.get(f"/orders/{order_id}", headers=shopper).status_code == 200
    assert client.http.post(f"/orders/{order_id}/cancel", headers=shopper).status_code == 200
    assert client.http.post(f"/orders/{order_id}/cancel", headers=shopper).status_code == 409


def run_admin(client: Client, tokens: Any, table: Any, make_product: Any, watch: CallRecorder) -> None:
    admin = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    fields = {
        "name": "Permission Probe Chew",
        "description": "Made to prove a role.",
        "species": "dog",
        "category": "treats",
        "brand": "Probe",
        "price_cents": 500,
        "stock": 3,
    }
    with watch.watch():
        _admin_requests(client, admin, fields)
    product_id = client.http.post("/products", headers=admin, body=json.dumps(fields)).json_body["id"]
    with watch.watch():
        _photo_requests(client, admin, product_id, watch)


def _photo_requests(client: Client, admin: dict[str, str], product_id: str, recorder: Any) -> None:
    """Grant an upload (signed with the role: the browser's POST is its PutObject), edit, reorder, delete.

    botocore reports signing a presigned POST with CreateBucket's model (its URL is the bucket's); IAM
    authorises the POST itself as a PutObject of the key in its policy."""
    from tests.support.photos import a_jpeg, post_upload, process_upload

    path = f"/products/{product_id}/photos"
    body = json.dumps({"content_type": "image/jpeg", "alt": "A probe"})
    granted_photos = [client.http.post(path, headers=admin, body=body) for _ in range(2)]
    assert [g.status_code for g in granted_photos] == [201, 201]
    first, second = (g.json_body for g in granted_photos)
    assert post_upload(first["upload"], a_jpeg()).status_code == 204
    watch_off = recorder.watching
    recorder.watching = False  # the image function's work, not this role's
    assert process_upload(first["upload"]["fields"]["key"]) == ["ready"]
    recorder.watching = watch_off
    photo_path = f"{path}/{first['photo']['id']}"
    assert client.http.get(path, headers=admin).json_body["photos"][0]["state"] == "ready"
    assert client.http.patch(photo_path, headers=admin, body=json.dumps({"alt": "Probe"})).status_code == 200
    order = json.dumps({"photo_ids": [second["photo"]["id"], first["photo"]["id"]]})
    assert client.http.put(f"{path}/order", headers=admin, body=order).status_code == 200
    assert client.http.delete(photo_path, headers=admin).status_code == 204  # its renditions go
    assert client.http.delete(f"/products/{product_id}", headers=admin).status_code == 204  # and the other's


def _admin_requests(client: Client, admin: dict[str, str], fields: dict[str, Any]) -> None:
    created = client.http.post("/products", headers=admin, body=json.dumps(fields))
    assert created.status_code == 201
    product_id = created.json_body["id"]
    path = f"/products/{product_id}"
    assert client.http.put(path, headers=admin, body=json.dumps({**fields, "name": "Probe Chew"})).status_code == 200
    assert client.http.post(f"{path}/stock", headers=admin, body=json.dumps({"change": 4})).status_code == 200
    assert client.http.post(f"{path}/stock", headers=admin, body=json.dumps({"change": -99})).status_code == 409
    assert client.http.delete(path, headers=admin).status_code == 204


def run_images(client: Client, tokens: Any, table: Any, make_product: Any, watch: CallRecorder) -> None:
    """Uploads made into renditions, refused, deleted meanwhile (what was written goes again), or gone."""
    from chalicelib.catalog import product_photos
    from chalicelib.catalog.product_table import DynamoProductStore
    from chalicelib.photos import uploads
    from tests.support.photos import a_jpeg, s3_event

    store, product_id, s3 = DynamoProductStore(table), make_product().id, boto3.client("s3")
    bucket = os.environ["UPLOADS_BUCKET"]
    keys_and_bytes: list[tuple[str, bytes | None]] = []
    for data in (a_jpeg(), b"not a photo at all", a_jpeg(colour=(10, 200, 90)), None):
        photo = product_photos.add_photo(store, product_id)
        key = uploads.upload_key(product_id, photo.id)
        if data is not None:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
        keys_and_bytes.append((key, data))
    deleted_meanwhile = uploads.parse_upload_key(keys_and_bytes[2][0])
    assert deleted_meanwhile
    product_photos.remove_photo(store, product_id, deleted_meanwhile[1])
    outcomes = []
    with watch.watch():
        for key, _ in keys_and_bytes:
            event = client.events.generate_sqs_event(message_bodies=[s3_event(bucket, key)])
            client.lambda_.invoke("process_photo_uploads", event)
    for key, _ in keys_and_bytes:
        outcomes.append(next((p.state.value for p in store.get(product_id).photos if key.endswith(p.id)), "gone"))
    assert outcomes == ["ready", "failed", "gone", "processing"]  # the last: granted, never uploaded


def run_authorizer(client: Client, tokens: Any, table: Any, make_product: Any, watch: CallRecorder) -> None:
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {tokens['shopper']['access']}", "methodArn": "arn:x"}
    with watch.watch():
        policy = client.lambda_.invoke("jwt_auth", event).payload
    assert policy["context"]["sub"] == policy["principalId"]  # verified against the pool's JWKS


def run_order_events(client: Client, tokens: Any, table: Any, make_product: Any, watch: CallRecorder) -> None:
    from chalicelib.orders.checkout import cancel_order, place_order
    from chalicelib.orders.order import OrderIn
    from chalicelib.orders.order_table import DynamoOrderStore

    product = make_product(stock=6)
    before = wire_item(table, keys.product_key(product.id))
    body = OrderIn.model_validate({"items": [{"product_id": product.id, "quantity": 6}], "shipping_address": ADDRESS})
    order, _ = place_order(DynamoOrderStore(table), "perm-user", uuid.uuid4().hex, body, email="buyer@example.com")
    placed = wire_item(table, keys.order_key("perm-user", order.id))
    sold_out = record("MODIFY", wire_item(table, keys.product_key(product.id)), before)
    cancel_order(DynamoOrderStore(table), "perm-user", order.id)
    cancelled = record("MODIFY", wire_item(table, keys.order_key("perm-user", order.id)), placed)
    # A confirmation SES rejects (an address without a domain) is recorded in the queue.
    rejected = {**placed, "id": {"S": f"{order.id}-x"}, "email": {"S": "no-domain"}}
    with watch.watch():
        answer = deliver(client, [record("INSERT", placed), sold_out, cancelled, record("INSERT", rejected)])
    assert answer == {"batchItemFailures": []}


def run_indexer(client: Client, tokens: Any, table: Any, make_product: Any, watch: CallRecorder) -> None:
    from chalicelib.search.index_store import KEEP

    product = make_product()
    item = wire_item(table, keys.product_key(product.id))
    repriced = record("MODIFY", {**item, "price_cents": {"N": "999"}}, item)
    with watch.watch():
        applied = client.lambda_.invoke("index_table_stream", {"Records": [repriced]}).payload
        for _ in range(KEEP + 1):  # enough versions that old ones are pruned
            rebuilt = client.lambda_.invoke("index_table_stream", {"rebuild": True}).payload
    assert applied["changes"] == 1 and rebuilt["rebuilt"] and rebuilt["version"] > KEEP


SCENARIOS: dict[str, Callable[[Client, Any, Any, Any, CallRecorder], None]] = {
    "search": run_search,
    "purchase": run_purchase,
    "admin": run_admin,
    "authorizer": run_authorizer,
    "order-events": run_order_events,
    "indexer": run_indexer,
    "images": run_images,
}


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.key)
def test_the_role_grants_exactly_what_the_code_calls(
    function: Function,
    recorder: CallRecorder,
    client: Client,
    tokens: Any,
    table: Any,
    make_product: Any,
    built_stage: Any,
) -> None:
    SCENARIOS[function.key](client, tokens, table, make_product, recorder)
    called = recorder.take()
    assert called or not function.code, f"the {function.key} scenario made no AWS call: it proves nothing"
    expected = called | expand(function.platform)
    for stage in ("dev", "prod"):
        assert granted(built_stage(stage), function) == expected, (
            f"{function.key} ({stage}): missing {sorted(expected - granted(built_stage(stage), function))}, "
            f"unused {sorted(granted(built_stage(stage), function) - expected)}"
        )


def test_every_function_has_a_scenario() -> None:
    assert set(SCENARIOS) == {f.key for f in FUNCTIONS}
