"""The photo pipeline of the local stack, end to end against moto's server.

An admin is granted an upload (the admin function), posts the file to the
embedded S3 as a browser does (the presigned POST, checked against its
policy), the uploads bucket reports it to the uploads queue, the upload pump
hands it to the image function (in a child process, as `make run` runs it),
and the SPA's server serves the renditions under /img/ as CloudFront does.
Every outcome is awaited (the pump's ``wait_for``), never slept for.
"""

from __future__ import annotations

import functools
import io
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from chalice.test import Client
from PIL import Image

from chalicelib.api.images import MAX_RECEIVES, uploaded_keys
from chalicelib.photos.photo import CACHE_CONTROL, MAX_UPLOAD_BYTES
from infra.cloudformation import stack_name
from localdev.local_stack import (
    FRONTEND,
    FrontendHandler,
    FrontendServer,
    PhotoSeeding,
    RenditionFiles,
    RenditionsOrigin,
    site_headers,
)
from localdev.resources import create_photo_storage, spa_origins, start_embedded_aws
from localdev.upload_pump import PhotoProcesses, UploadPump
from tests.support.api_calls import bearer
from tests.support.photos import a_jpeg, has_gps
from tests.support.ports import free_port
from tests.support.waiting import eventually

WAIT_S = 60  # a photo takes about a second; a busy machine, much longer
SPA = spa_origins(8080)[0]
SITE_CONFIG = {  # the shape LocalStack._start_web gives the SPA
    "api_url": "http://127.0.0.1:8000",
    "stage": "test",
    "admin_role": "admin",
    "auth": {"provider": "cognito", "region": "us-east-1", "user_pool_id": "us-east-1_test", "client_id": "c"},
}
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect/></svg>\n'


@pytest.fixture(scope="module")
def storage(table: Any) -> dict[str, str]:
    """The local stage's photo buckets and queues, as the local stack creates them (the test
    client gives the app the stage's UPLOADS_BUCKET and RENDITIONS_BUCKET, .chalice/config.json)."""
    names = {name: os.environ[name] for name in ("UPLOADS_BUCKET", "RENDITIONS_BUCKET")}
    prefix = stack_name("local")
    return {**names, **create_photo_storage(prefix, *names.values(), spa_origins(8080))}


@pytest.fixture(scope="module")
def pump(storage: dict[str, str]) -> Iterator[UploadPump]:
    """The uploads queue delivered to the image function in a child process, as `make run` does."""
    processes = PhotoProcesses(workers=1)
    started = UploadPump(storage["UPLOADS_QUEUE_URL"], processes.process_message, workers=1).start()
    yield started
    started.stop()
    processes.stop()


@pytest.fixture(scope="module")
def web(storage: dict[str, str]) -> Iterator[str]:
    """The local SPA's server, serving /img/ from this module's renditions bucket."""
    renditions = RenditionsOrigin(boto3.client("s3"), storage["RENDITIONS_BUCKET"])
    headers = site_headers((FRONTEND / "index.html").read_text())
    handler = functools.partial(FrontendHandler, site_config=SITE_CONFIG, headers=headers, renditions=renditions)
    server = FrontendServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def embedded(aws: str) -> Iterator[str]:
    """The session's embedded AWS as the local stack starts it: browsers may call it from the SPA's origins."""
    port = free_port()
    server = start_embedded_aws(port, allowed_origins=spa_origins(8080))
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture()
def admin(tokens: dict[str, dict[str, str]]) -> dict[str, str]:
    return {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}


def grant(client: Client, admin: dict[str, str], product_id: str, content_type: str = "image/jpeg") -> dict[str, Any]:
    """POST /products/{id}/photos: a photo processing, and its presigned POST."""
    body = json.dumps({"content_type": content_type, "alt": "The chew, from the front"})
    answer = client.http.post(f"/products/{product_id}/photos", headers=admin, body=body)
    assert answer.status_code == 201, answer.body
    granted: dict[str, Any] = answer.json_body
    assert granted["photo"]["state"] == "processing"
    return granted


def post_as_browser(
    embedded: str, upload: dict[str, Any], data: bytes, filename: str, **fields: str
) -> requests.Response:
    """The SPA's POST of the file: from its origin, the grant's fields (then ``fields``), then the file."""
    url = embedded + urlsplit(upload["url"]).path  # the bucket's URL on the stack's embedded AWS
    form = {**upload["fields"], **fields}
    return requests.post(url, data=form, files={"file": (filename, data)}, headers={"Origin": SPA}, timeout=60)


def photo_of(client: Client, product_id: str) -> dict[str, Any]:
    [photo] = client.http.get(f"/products/{product_id}").json_body["photos"]
    return dict(photo)


@pytest.fixture()
def ready_photo(
    client: Client, admin: dict[str, str], make_product: Any, pump: UploadPump, embedded: str
) -> tuple[str, dict[str, Any]]:
    """A product with a ready photo: granted, posted as the browser posts it, made by the image function.
    Returns the product's id and the photo as the shop shows it."""
    product = make_product()
    granted = grant(client, admin, product.id)
    assert post_as_browser(embedded, granted["upload"], a_jpeg(), "photo.jpg").status_code == 204
    key = granted["upload"]["fields"]["key"]
    assert pump.wait_for([key], WAIT_S) == {key: "ready"}
    return product.id, photo_of(client, product.id)


def keys_in(bucket: str, prefix: str = "") -> set[str]:
    found = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"] for o in found}


def is_stored(bucket: str, key: str) -> bool:
    return key in keys_in(bucket, key)


def urls(photo: dict[str, Any]) -> list[str]:
    return [entry.split()[0] for entry in f"{photo['srcset']}, {photo['webp_srcset']}".split(", ")]


# -- an admin's photo, from upload to /img/ -------------------------------------------------
def test_an_uploaded_jpeg_becomes_a_ready_photo_whose_renditions_carry_no_gps_and_are_cached_for_good(
    client: Client,
    admin: dict[str, str],
    make_product: Any,
    storage: dict[str, str],
    pump: UploadPump,
    embedded: str,
    web: str,
) -> None:
    # GIVEN a photo granted to an admin
    product = make_product()
    granted = grant(client, admin, product.id)
    key = granted["upload"]["fields"]["key"]

    # WHEN the browser posts a JPEG taken with a GPS fix
    posted = post_as_browser(embedded, granted["upload"], a_jpeg(1600, 1200, gps=True), "photo.jpg")
    assert posted.status_code == 204 and posted.headers["Access-Control-Allow-Origin"] == SPA

    # THEN the image function makes it ready, with a srcset of every width up to its own
    assert pump.wait_for([key], WAIT_S) == {key: "ready"}
    photo = photo_of(client, product.id)
    assert photo["state"] == "ready" and photo["alt"] == "The chew, from the front"
    assert [entry.split()[1] for entry in photo["srcset"].split(", ")] == ["160w", "320w", "640w", "1280w"]
    assert photo["src"].startswith("/img/") and all(
        url.startswith(f"/img/{photo['content_id']}/v1/") for url in urls(photo)
    )
    # AND every rendition, served under /img/, keeps no EXIF (no GPS) and is cached for good
    for url in urls(photo):
        served = requests.get(web + url, timeout=30)
        assert served.status_code == 200, url
        assert served.headers["Cache-Control"] == CACHE_CONTROL == "public, max-age=31536000, immutable"
        assert served.headers["Content-Type"] == ("image/webp" if url.endswith(".webp") else "image/jpeg")
        with Image.open(io.BytesIO(served.content)) as image:
            assert not image.getexif() and "exif" not in image.info
        assert not has_gps(served.content)
    # AND the upload is gone
    assert not is_stored(storage["UPLOADS_BUCKET"], key)


@pytest.mark.parametrize(
    ("content_type", "data", "filename", "code", "reason"),
    [
        (
            "image/jpeg",
            b"Just some words, saved with the wrong name.\n",
            "photo.jpg",
            "not_an_image",
            "This file is not a photo we can read (JPEG, PNG or WebP).",
        ),
        (
            "image/png",
            SVG,
            "logo.svg",
            "unsupported_type",
            "SVG files are not accepted: upload a JPEG, PNG or WebP photo.",
        ),
    ],
    ids=["text-named-photo.jpg", "svg"],
)
def test_a_file_that_is_not_a_photo_becomes_a_failed_photo_with_its_reason_and_nothing_else_changes(
    client: Client,
    admin: dict[str, str],
    make_product: Any,
    storage: dict[str, str],
    pump: UploadPump,
    embedded: str,
    content_type: str,
    data: bytes,
    filename: str,
    code: str,
    reason: str,
) -> None:
    product = make_product()
    granted = grant(client, admin, product.id, content_type)
    key = granted["upload"]["fields"]["key"]
    renditions_before = keys_in(storage["RENDITIONS_BUCKET"])
    fields_before = client.http.get(f"/products/{product.id}").json_body

    assert post_as_browser(embedded, granted["upload"], data, filename).status_code == 204

    assert pump.wait_for([key], WAIT_S) == {key: "failed"}
    photo = photo_of(client, product.id)
    assert (photo["state"], photo["code"], photo["reason"]) == ("failed", code, reason)
    assert photo["src"] is None and photo["srcset"] == "" and photo["renditions"] == []
    assert keys_in(storage["RENDITIONS_BUCKET"]) == renditions_before  # no rendition written
    assert not is_stored(storage["UPLOADS_BUCKET"], key)  # the upload deleted
    after = client.http.get(f"/products/{product.id}").json_body
    assert {k: v for k, v in after.items() if k != "photos"} == {
        k: v for k, v in fields_before.items() if k != "photos"
    }


def test_a_file_over_ten_megabytes_is_refused_by_the_uploads_policy_and_never_stored(
    client: Client, admin: dict[str, str], make_product: Any, storage: dict[str, str], pump: UploadPump, embedded: str
) -> None:
    product = make_product()
    granted = grant(client, admin, product.id)
    key = granted["upload"]["fields"]["key"]
    too_large = a_jpeg() + b"\0" * (MAX_UPLOAD_BYTES + 1 - len(a_jpeg()))

    refused = post_as_browser(embedded, granted["upload"], too_large, "huge.jpg")

    # S3's own answer (the embedded S3 checks the policy as S3 does: localdev/resources.py, S3PostPolicy)
    assert refused.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in refused.text
    assert f"<ProposedSize>{MAX_UPLOAD_BYTES + 1}</ProposedSize>" in refused.text
    assert f"<MaxSizeAllowed>{MAX_UPLOAD_BYTES}</MaxSizeAllowed>" in refused.text
    assert refused.headers["Access-Control-Allow-Origin"] == SPA  # the SPA can read why
    assert not is_stored(storage["UPLOADS_BUCKET"], key)  # so no event either: the photo waits for an upload
    assert photo_of(client, product.id)["state"] == "processing"
    # The policy is the grant's: not another key, not another type
    other_key = post_as_browser(
        embedded, granted["upload"], a_jpeg(), "photo.jpg", key=f"uploads/{product.id}/ph-not-granted"
    )
    assert other_key.status_code == 403 and "Policy Condition failed" in other_key.text
    other_type = post_as_browser(embedded, granted["upload"], a_jpeg(), "photo.jpg", **{"Content-Type": "image/png"})
    assert other_type.status_code == 403 and "Policy Condition failed" in other_type.text
    assert not keys_in(storage["UPLOADS_BUCKET"], f"uploads/{product.id}/")


def test_deleting_a_photo_deletes_its_renditions(
    client: Client, admin: dict[str, str], storage: dict[str, str], ready_photo: tuple[str, dict[str, Any]], web: str
) -> None:
    product_id, photo = ready_photo
    prefix = f"img/{photo['content_id']}/"
    assert len(keys_in(storage["RENDITIONS_BUCKET"], prefix)) == 6  # 160, 320 and 640 wide (its own), twice

    deleted = client.http.delete(f"/products/{product_id}/photos/{photo['id']}", headers=admin)

    assert deleted.status_code == 204
    assert keys_in(storage["RENDITIONS_BUCKET"], prefix) == set()
    assert [requests.get(web + url, timeout=30).status_code for url in urls(photo)] == [404] * 6


# -- /img/ as CloudFront serves it ------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/img/",
        "/img/0123456789abcdef0123456789abcdef/",
        "/img/0123456789abcdef0123456789abcdef/v1/640.jpg",  # no such rendition
        "/img/%2e%2e/index.html",
        "/img/./x.jpg",
        "/img//x.jpg",
        "/img/a%2Fb.jpg",
    ],
)
def test_img_serves_no_listing_nothing_outside_img_and_a_plain_404_for_a_missing_key(web: str, path: str) -> None:
    answer = requests.get(web + path, timeout=30)

    assert (answer.status_code, answer.headers["Content-Type"]) == (404, "text/plain; charset=utf-8")


# -- the uploads queue's redrive, as the stage's ----------------------------------------------------
def test_a_message_the_function_raises_on_comes_back_and_after_three_receives_goes_to_the_failed_events_queue(
    aws: str,
) -> None:
    # GIVEN uploads reported to a queue whose failed deliveries come back after a second
    prefix = f"redrive-{uuid.uuid4().hex[:8]}"
    queues = create_photo_storage(
        prefix, f"{prefix}-uploads", f"{prefix}-renditions", spa_origins(8080), visibility_timeout_s=1
    )
    receives: list[int] = []

    def failing(body: str, receive_count: int) -> list[str]:
        if not uploaded_keys(body):
            return []  # S3's test event
        receives.append(receive_count)
        raise RuntimeError("the image function failed")

    pump = UploadPump(queues["UPLOADS_QUEUE_URL"], failing, workers=1).start()
    try:
        # WHEN an upload comes in
        key = "uploads/some-product/ph-12345678"
        boto3.client("s3").put_object(Bucket=f"{prefix}-uploads", Key=key, Body=a_jpeg())

        # THEN the function is given it MAX_RECEIVES times, the last known as the last
        assert pump.wait_for([key], WAIT_S) == {key: "error"}
        assert receives == [1, 2, 3] == list(range(1, MAX_RECEIVES + 1))
        assert [d.given_up for d in pump.deliveries if d.keys] == [False, False, True]
        # AND then the queue moves it to the failed-events queue, as SQS does
        failures = queues["PHOTO_FAILURES_QUEUE_URL"]
        moved = eventually(lambda: boto3.client("sqs").receive_message(QueueUrl=failures).get("Messages"), WAIT_S)
        assert uploaded_keys(moved[0]["Body"]) == [key]
    finally:
        pump.stop()
    assert receives == [1, 2, 3]  # never again


# -- the seeded products' photos, and the renditions kept across a restart ---------------------------
def test_seeding_gives_each_seed_product_without_a_photo_one_through_the_pipeline_once(
    client: Client, admin: dict[str, str], make_product: Any, pump: UploadPump, tmp_path: Path, table: Any
) -> None:
    from chalicelib.catalog.product_table import DynamoProductStore

    # GIVEN seed products: two without photos, one with an admin's
    bare = [make_product(name="Seeded Chew"), make_product(name="Seeded Ball", category="toys")]
    has_one = make_product(name="Photographed Chew")
    grant(client, admin, has_one.id)
    record = tmp_path / "seeded-photos.jsonl"
    processes = PhotoProcesses(workers=1)
    try:
        seeding = PhotoSeeding([p.id for p in [*bare, has_one]], record, pump, processes, out=lambda _: None)

        # WHEN the seeding runs
        seeding.start()
        assert pump.wait_until(lambda: seeding.made == 2, WAIT_S)
        seeding.stop()

        # THEN each bare product has a ready photo, described by its name; the other, only its own
        for product in bare:
            photo = photo_of(client, product.id)
            assert (photo["state"], photo["alt"], photo["width"], photo["height"]) == ("ready", product.name, 1280, 960)
        assert photo_of(client, has_one.id)["alt"] == "The chew, from the front"
        assert len(record.read_text().split("\n")[1:]) == 2  # a line per photo
        # AND a restart has nothing to do: a photo of ours, once made (or deleted), is not made again
        store = DynamoProductStore(table)
        again = PhotoSeeding([p.id for p in [*bare, has_one]], record, pump, processes)
        assert again.todo(store) == []
        client.http.delete(f"/products/{bare[0].id}/photos/{photo_of(client, bare[0].id)['id']}", headers=admin)
        assert again.todo(store) == []
    finally:
        processes.stop()


def test_a_seeded_photo_still_processing_at_a_start_is_finished_under_its_own_key(
    make_product: Any, pump: UploadPump, tmp_path: Path, table: Any
) -> None:
    from chalicelib.catalog import product_photos
    from chalicelib.catalog.product_table import DynamoProductStore

    # GIVEN a photo granted by the seeding whose upload was lost (the stack stopped before it was processed)
    store = DynamoProductStore(table)
    product = make_product()
    lost = product_photos.add_photo(store, product.id, alt=product.name)
    record = tmp_path / "seeded-photos.jsonl"
    record.write_text("\n" + json.dumps({"product_id": product.id, "photo_id": lost.id}) + '\n{"product_id": "cut sh')

    seeding = PhotoSeeding([product.id], record, pump, PhotoProcesses(workers=1), out=lambda _: None)

    assert [(p.id, photo_id) for p, photo_id in seeding.todo(store)] == [(product.id, lost.id)]
    try:
        seeding.start()
        assert pump.wait_until(lambda: seeding.made == 1, WAIT_S)
    finally:
        seeding.stop()
        seeding.processes.stop()
    [photo] = store.get(product.id).photos  # type: ignore[union-attr]
    assert (photo.id, photo.state) == (lost.id, "ready")


def test_the_renditions_are_kept_in_files_and_put_back_with_their_type_and_caching(
    client: Client,
    admin: dict[str, str],
    storage: dict[str, str],
    ready_photo: tuple[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    product_id, photo = ready_photo
    prefix = f"img/{photo['content_id']}/"
    bucket = storage["RENDITIONS_BUCKET"]
    saved = RenditionFiles(bucket, tmp_path / "renditions")

    saved.save()
    files = {p.relative_to(tmp_path / "renditions").as_posix() for p in (tmp_path / "renditions").rglob("*.*")}
    assert {f for f in files if f.startswith(prefix)} == keys_in(bucket, prefix)

    # A restart: a new, empty bucket, the files put back
    restored_bucket = f"restored-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=restored_bucket)
    assert RenditionFiles(restored_bucket, tmp_path / "renditions").restore() == len(files)
    a_key = sorted(keys_in(restored_bucket, prefix))[0]
    found = boto3.client("s3").get_object(Bucket=restored_bucket, Key=a_key)
    original = boto3.client("s3").get_object(Bucket=bucket, Key=a_key)
    assert found["Body"].read() == original["Body"].read()
    assert (found["ContentType"], found["CacheControl"]) == (original["ContentType"], CACHE_CONTROL)

    # A photo deleted: its files go at the next save
    client.http.delete(f"/products/{product_id}/photos/{photo['id']}", headers=admin)
    saved.save()
    assert not (tmp_path / "renditions" / prefix).exists()
