"""Photos for the tests: JPEGs made here, an upload as a browser posts it, S3's event for it."""

from __future__ import annotations

import io
import json
import os
from typing import Any

import requests
from PIL import Image

GPS_IFD = 0x8825


def a_jpeg(
    width: int = 640, height: int = 480, gps: bool = False, colour: tuple[int, int, int] = (200, 120, 40)
) -> bytes:
    """A JPEG; with ``gps``, EXIF that says where it was taken (which no rendition may keep)."""
    image = Image.new("RGB", (width, height), colour)
    for x in range(0, width, 16):  # some detail, so it compresses like a photo
        image.paste((x % 255, 90, 200 - x % 200), (x, 0, x + 8, height))
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "Probe Camera"  # Make
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes() if gps else b"")
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(GPS_IFD))


def post_upload(upload: dict[str, Any], data: bytes, filename: str = "photo.jpg") -> requests.Response:
    """What the admin's browser does with a grant: the presigned POST's fields, then the file."""
    answer = requests.post(upload["url"], data=upload["fields"], files={"file": (filename, data)}, timeout=30)
    return answer


def s3_event(bucket: str, key: str) -> str:
    """The body S3 sends the uploads queue for a new object (keys URL-encoded, as S3 does)."""
    from urllib.parse import quote_plus

    record = {"eventName": "ObjectCreated:Post", "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key)}}}
    return json.dumps({"Records": [record]})


def process_upload(key: str, receive_count: int = 1) -> list[str]:
    """The image function's work on one upload, as its queue would deliver it."""
    from chalicelib.api.images import process_message

    return process_message(s3_event(os.environ["UPLOADS_BUCKET"], key), receive_count)
