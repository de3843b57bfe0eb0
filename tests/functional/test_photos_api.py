"""The admin photo routes' answers to what a client gets wrong: 400 naming the field, 403, 404, 409.

The happy path, upload to renditions, is tests/functional/test_local_photo_pipeline.py.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from chalice.test import Client

from tests.support.api_calls import bearer


@pytest.fixture()
def photo_buckets(client: Client) -> dict[str, str]:
    """The local stage's photo buckets (.chalice/config.json; the test client sets its environment per call)."""
    return {name: os.environ[name] for name in ("UPLOADS_BUCKET", "RENDITIONS_BUCKET")}


@pytest.fixture()
def admin(tokens: dict[str, Any]) -> dict[str, str]:
    return {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}


def grant(client: Client, admin: dict[str, str], product_id: str, **body: Any) -> Any:
    wanted = {"content_type": "image/jpeg", **body}
    return client.http.post(f"/products/{product_id}/photos", headers=admin, body=json.dumps(wanted))


def test_a_grant_names_its_key_type_and_size_limit_and_records_a_processing_photo(
    client: Client, admin: dict[str, str], make_product: Any, photo_buckets: dict[str, str]
) -> None:
    product = make_product()
    answer = grant(client, admin, product.id, alt="  The front  ")
    assert answer.status_code == 201, answer.body
    photo, upload = answer.json_body["photo"], answer.json_body["upload"]
    assert photo["state"] == "processing" and photo["alt"] == "The front" and photo["src"] is None
    assert answer.headers["Location"] == f"/products/{product.id}/photos/{photo['id']}"
    assert upload["fields"]["key"] == f"uploads/{product.id}/{photo['id']}"
    assert upload["fields"]["Content-Type"] == "image/jpeg"
    assert photo_buckets["UPLOADS_BUCKET"] in upload["url"] or upload["fields"].get("bucket") is None
    assert (upload["max_bytes"], upload["expires_in"]) == (10 * 1024 * 1024, 600)
    listed = client.http.get(f"/products/{product.id}/photos", headers=admin).json_body["photos"]
    assert [p["id"] for p in listed] == [photo["id"]]
    shown = client.http.get(f"/products/{product.id}").json_body["photos"]
    assert [p["state"] for p in shown] == ["processing"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content_type": "image/svg+xml"}, "content_type"),
        ({"content_type": "image/gif"}, "content_type"),
        ({}, "content_type"),
        ({"content_type": "image/png", "alt": "x" * 201}, "alt"),
        ({"content_type": "image/png", "size": 12}, "size"),
    ],
)
def test_a_bad_grant_request_is_a_400_naming_the_field_and_records_nothing(
    client: Client,
    admin: dict[str, str],
    make_product: Any,
    photo_buckets: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    product = make_product()
    answer = client.http.post(f"/products/{product.id}/photos", headers=admin, body=json.dumps(body))
    assert answer.status_code == 400 and answer.json_body["field"] == field, answer.body
    assert client.http.get(f"/products/{product.id}").json_body["photos"] == []


def test_only_an_admin_may_manage_photos(
    client: Client, tokens: dict[str, Any], make_product: Any, photo_buckets: dict[str, str]
) -> None:
    product = make_product()
    shopper = {**bearer(tokens["shopper"]["access"]), "Content-Type": "application/json"}
    assert grant(client, shopper, product.id).status_code == 403
    assert client.http.get(f"/products/{product.id}/photos", headers=shopper).status_code == 403
    assert client.http.post(f"/products/{product.id}/photos", body="{}").status_code == 401


def test_unknown_products_and_photos_are_404s_and_the_ninth_photo_a_409(
    client: Client, admin: dict[str, str], make_product: Any, photo_buckets: dict[str, str]
) -> None:
    product = make_product()
    assert grant(client, admin, "no-such-product").status_code == 404
    photos = f"/products/{product.id}/photos"
    unknown = f"{photos}/ph-unknown-0000"
    assert client.http.patch(unknown, headers=admin, body=json.dumps({"alt": "x"})).json_body["code"] == (
        "photo_not_found"
    )
    assert client.http.delete(unknown, headers=admin).status_code == 404
    granted = [grant(client, admin, product.id).json_body["photo"]["id"] for _ in range(8)]
    ninth = grant(client, admin, product.id)
    assert ninth.status_code == 409 and "at most 8" in ninth.json_body["message"]
    order = client.http.put(f"{photos}/order", headers=admin, body=json.dumps({"photo_ids": granted[:7]}))
    assert order.status_code == 400 and order.json_body["field"] == "photo_ids"
    reordered = client.http.put(f"{photos}/order", headers=admin, body=json.dumps({"photo_ids": granted[::-1]}))
    assert [p["id"] for p in reordered.json_body["photos"]] == granted[::-1]
    assert client.http.delete(f"{photos}/{granted[0]}", headers=admin).status_code == 204
    assert [p["id"] for p in client.http.get(photos, headers=admin).json_body["photos"]] == granted[:0:-1]
