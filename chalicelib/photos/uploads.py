"""Where photos travel in S3: the upload an admin is granted, and the renditions made of it.

An admin's browser uploads straight to the private uploads bucket with a
presigned POST: the key is the shop's (``uploads/<product>/<photo>``), and
the policy S3 enforces bounds the size (``content-length-range``) and fixes
the declared type. The bucket's events reach the image function, which reads
the bytes, writes the renditions to the renditions bucket (private, served by
CloudFront under ``/img/``, cached for good: their keys name their content)
and deletes the upload. Nothing here decodes an image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from chalicelib.photos.photo import ACCEPTED, CACHE_CONTROL, MAX_UPLOAD_BYTES, renditions_prefix
from chalicelib.platform.config import Env

UPLOAD_PREFIX: Final = "uploads/"
UPLOAD_EXPIRES_S: Final = 600  # the grant: ten minutes to start the upload
_UPLOAD_KEY: Final = re.compile(
    r"^uploads/(?P<product>[a-z0-9][a-z0-9-]{1,62}[a-z0-9])/(?P<photo>[A-Za-z0-9_-]{8,64})$"
)
CONTENT_TYPES: Final = frozenset(ACCEPTED.values())


def upload_key(product_id: str, photo_id: str) -> str:
    return f"{UPLOAD_PREFIX}{product_id}/{photo_id}"


def parse_upload_key(key: str) -> tuple[str, str] | None:
    """(product id, photo id) of an upload's key; None for any other key."""
    found = _UPLOAD_KEY.match(key)
    return (found["product"], found["photo"]) if found else None


def presigned_upload(s3: Any, bucket: str, key: str, content_type: str) -> dict[str, Any]:
    """A presigned POST for one upload: this key, this type, 1 byte to MAX_UPLOAD_BYTES, for ten minutes."""
    post: dict[str, Any] = s3.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, MAX_UPLOAD_BYTES]],
        ExpiresIn=UPLOAD_EXPIRES_S,
    )
    return {
        "url": post["url"],
        "fields": post["fields"],
        "max_bytes": MAX_UPLOAD_BYTES,
        "expires_in": UPLOAD_EXPIRES_S,
    }


def put_rendition(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, CacheControl=CACHE_CONTROL)


def delete_renditions(s3: Any, bucket: str, content_id: str) -> int:
    """Every rendition of one photo (one prefix: no other photo's); returns how many were deleted."""
    prefix = renditions_prefix(content_id)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    if keys:  # a photo has at most 8 renditions per version: one page, one request
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
    return len(keys)


@dataclass(frozen=True)
class PhotoBuckets:
    uploads: str  # UPLOADS_BUCKET: private; admins' browsers write, the image function reads and deletes
    renditions: str  # RENDITIONS_BUCKET: private; the image function writes, CloudFront reads (/img/)


def photo_buckets_from_env(environ: Mapping[str, str] | None = None) -> PhotoBuckets:
    env = Env(environ)
    return PhotoBuckets(uploads=env.need("UPLOADS_BUCKET"), renditions=env.need("RENDITIONS_BUCKET"))
