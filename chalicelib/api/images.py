"""The image function: each photo an admin uploads, made into renditions (chalicelib/catalog/photo_processing.py).

The uploads bucket reports each new object to a queue (S3 event
notifications); the queue invokes this function one message at a time (a
photo can take a second and a few hundred MB). A message it raises on comes
back after the queue's visibility timeout; after ``MAX_RECEIVES`` deliveries
it moves to the failed-events queue (its alarm reaches a person), and the
last delivery marks the photo failed first. A deployed stage's template
points the mapping at the queue by reference (``make package``); the local
stack polls the embedded queue and calls this handler (localdev/upload_pump.py).
"""

from __future__ import annotations

import json
import logging
from typing import Final
from urllib.parse import unquote_plus

from chalice import Blueprint
from chalice.app import SQSEvent

from chalicelib.bootstrap import get_photo_work, get_telemetry

bp = Blueprint(__name__)

MAX_RECEIVES: Final = 3  # the uploads queue's redrive policy (maxReceiveCount)
LOCAL_QUEUE_ARN: Final = "arn:aws:sqs:us-east-1:000000000000:petstore-local-uploads"


def uploaded_keys(body: str) -> list[str]:
    """The object keys of an S3 event notification (none for S3's test event or anything else)."""
    try:
        event = json.loads(body)
    except ValueError:
        return []
    records = event.get("Records", []) if isinstance(event, dict) else []
    return [
        unquote_plus(str(r["s3"]["object"]["key"]))  # S3 sends keys URL-encoded
        for r in records
        if isinstance(r, dict) and str(r.get("eventName", "")).startswith("ObjectCreated")
    ]


def process_message(body: str, receive_count: int) -> list[str]:
    """Process every upload a message names; returns their outcomes."""
    from chalicelib.catalog.photo_processing import process_upload  # Pillow: this function only

    last = receive_count >= MAX_RECEIVES
    return [process_upload(get_photo_work(), key, last_attempt=last) for key in uploaded_keys(body)]


@bp.on_sqs_message(queue_arn=LOCAL_QUEUE_ARN, batch_size=1)
def process_photo_uploads(event: SQSEvent) -> None:
    request_id = getattr(event.context, "aws_request_id", None)
    with get_telemetry().invocation("photo upload", function="images", request_id=request_id) as run:
        outcomes: list[str] = []
        for record in event.to_dict()["Records"]:
            receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            outcomes += process_message(record["body"], receives)
        run.facts.update(uploads=len(outcomes), outcome=",".join(outcomes) or "nothing")
        if "failed" in outcomes:
            run.level = logging.WARNING
