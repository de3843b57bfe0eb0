"""Where an admin's browser posts a photo: the uploads bucket's own regional endpoint, or the embedded AWS by path.

Presigning is computed locally (no request is sent): fake keys do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import bootstrap
from chalicelib.photos.uploads import presigned_upload

BUCKET = "petstore-dev-uploadsbucket-1a2b"


@pytest.fixture()
def cloud_stage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A deployed stage's function: its settings, a region, keys; no endpoint of its own."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name, value in {
        "STAGE": "dev",
        "TABLE_NAME": "petstore-dev",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    yield monkeypatch
    bootstrap.reset()


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("eu-west-1", f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/"),
        ("ap-southeast-2", f"https://{BUCKET}.s3.ap-southeast-2.amazonaws.com/"),
        ("us-east-1", f"https://{BUCKET}.s3.amazonaws.com/"),  # us-east-1's regional endpoint is the global one
    ],
)
def test_an_upload_is_posted_to_the_buckets_regional_endpoint_not_the_global_one(
    cloud_stage: pytest.MonkeyPatch, region: str, url: str
) -> None:
    # GIVEN a stage in ``region`` WHEN the admin function grants an upload THEN the POST goes to the region's endpoint
    cloud_stage.setenv("AWS_DEFAULT_REGION", region)
    assert presigned_upload(bootstrap.get_s3(), BUCKET, "uploads/chew-1/ph-0123456789", "image/jpeg")["url"] == url


def test_the_embedded_aws_is_posted_to_by_path(cloud_stage: pytest.MonkeyPatch) -> None:
    # GIVEN the embedded AWS, by a name a bucket cannot be put in front of WHEN an upload is granted THEN by path
    cloud_stage.setenv("AWS_DEFAULT_REGION", "us-east-1")
    cloud_stage.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    upload = presigned_upload(bootstrap.get_s3(), BUCKET, "uploads/chew-1/ph-0123456789", "image/jpeg")
    assert upload["url"] == f"http://localhost:4566/{BUCKET}"
