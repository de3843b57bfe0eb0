"""The image function's work on one upload: renditions made, recorded on the product, the upload deleted.

Run for each object the uploads bucket reports (through its queue:
chalicelib/api/images.py). Harmless when delivered twice: the renditions'
keys name the photo and its bytes, and a photo that is no longer
``processing`` is left as it is. The outcomes:

- ``ready``: the renditions are in the renditions bucket and on the product;
- ``failed``: the bytes were refused (not JPEG, PNG or WebP, animated, too
  many pixels...): the reason, in plain words, is on the photo;
- ``gone``: the product or the photo was deleted meanwhile (or recorded by
  an earlier delivery): what this run wrote is deleted again;
- anything unexpected is raised, so the queue delivers it again; on the last
  delivery the photo is first marked failed ("could not be processed"), and
  the message goes on to the failed-events queue, whose alarm a person hears.

Imports Pillow (through chalicelib/photos/renditions.py): only the image
function loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from chalicelib.catalog import product_photos
from chalicelib.catalog.product_store import ProductStore
from chalicelib.photos import uploads
from chalicelib.photos.photo import MAX_UPLOAD_BYTES, Photo
from chalicelib.photos.renditions import PhotoRefused, make_renditions
from chalicelib.platform.aws import is_missing

Outcome = Literal["ready", "failed", "gone", "ignored"]
NOT_PROCESSED = "The photo could not be processed. Try uploading it again."


@dataclass(frozen=True)
class PhotoWork:
    store: ProductStore
    s3: Any
    buckets: uploads.PhotoBuckets


def process_upload(work: PhotoWork, key: str, *, last_attempt: bool = False) -> Outcome:
    """Make the renditions of the upload at ``key`` and record them (see the module's docstring)."""
    names = uploads.parse_upload_key(key)
    if names is None:
        return "ignored"  # not an upload the shop granted
    product_id, photo_id = names
    try:
        data = _read(work, key)
        if data is None:
            return "gone"  # deleted already: an earlier delivery finished
        result = _renditions(work, photo_id, data)
    except PhotoRefused as refused:
        result = Photo.failed(photo_id, refused.code, refused.reason)
    except Exception:
        if last_attempt:
            product_photos.record_result(work.store, product_id, Photo.failed(photo_id, "not_processed", NOT_PROCESSED))
        raise
    recorded = product_photos.record_result(work.store, product_id, result)
    if recorded is None and result.content_id:
        uploads.delete_renditions(work.s3, work.buckets.renditions, result.content_id)
    work.s3.delete_object(Bucket=work.buckets.uploads, Key=key)
    if recorded is None:
        return "gone"
    return "ready" if result.state == "ready" else "failed"


def _read(work: PhotoWork, key: str) -> bytes | None:
    """The upload's bytes; None if it is gone; ``PhotoRefused`` if over the limit (not even downloaded)."""
    try:
        head = work.s3.head_object(Bucket=work.buckets.uploads, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
    if int(head.get("ContentLength", 0)) > MAX_UPLOAD_BYTES:  # the POST's policy bounds it; checked again
        raise PhotoRefused("too_large", f"The file is too large: at most {MAX_UPLOAD_BYTES // 2**20} MB.")
    body: bytes = work.s3.get_object(Bucket=work.buckets.uploads, Key=key)["Body"].read()
    return body


def _renditions(work: PhotoWork, photo_id: str, data: bytes) -> Photo:
    """A ready photo with its renditions written (``PhotoRefused`` if the bytes are not a photo it takes)."""
    made = make_renditions(data, owner=photo_id)
    for rendition in made.renditions:
        uploads.put_rendition(work.s3, work.buckets.renditions, rendition.key, rendition.body, rendition.content_type)
    return made.photo(photo_id, alt="")
