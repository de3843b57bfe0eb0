"""The order events function: what follows a purchase, from the table's stream.

A deployed stage's template points the event source mapping at the table's
stream by reference (``make package``); TABLE_STREAM_ARN is only read here for
``chalice deploy``. The local stack has no Lambda event sources: it reads the
stream itself and calls this handler (localdev/stream_pump.py), as the mapping would.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from chalice import Blueprint
from chalice.app import DynamoDBEvent

from chalicelib.bootstrap import get_event_deps, get_telemetry
from chalicelib.orders import follow_ups

bp = Blueprint(__name__)

LOCAL_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/petstore-local/stream/local"


@bp.on_dynamodb_record(
    stream_arn=os.environ.get("TABLE_STREAM_ARN", LOCAL_STREAM_ARN), batch_size=follow_ups.STREAM_POLICY.batch_size
)
def handle_table_stream(event: DynamoDBEvent) -> dict[str, Any]:
    """Handle one batch; its log line counts what it did and what failed."""
    request_id = getattr(event.context, "aws_request_id", None)
    with get_telemetry().invocation("stream batch", function="order_events", request_id=request_id) as batch:
        records = event.to_dict()["Records"]
        report = follow_ups.handle_records(records, get_event_deps())
        failed = len(report.retry) + report.dead_lettered
        batch.facts.update(
            records=len(records),
            **report.done,
            retry=len(report.retry),
            dead_lettered=report.dead_lettered,
            outcome="records_failed" if failed else "ok",
        )
        if failed:
            batch.level = logging.WARNING
    return report.lambda_response()  # Lambda retries only the records listed in it
