"""The indexer function: keeps the search index current from the table's stream.

A deployed stage's template points its event source mapping at the table's
stream (``make package``), with the bisect, retry and failure-queue settings
of ``INDEX_STREAM_POLICY``; locally the stream pump (localdev/stream_pump.py)
delivers the same batches. Invoked with ``{"rebuild": true}`` (``make
reindex``), it rebuilds the index from the whole table instead.

A batch is applied whole, as one new index version, or not at all: any
failure raises, and Lambda delivers the batch again (the changes are
upserts by product id, so a redelivery is harmless).
"""

from __future__ import annotations

import os
from typing import Any

from chalice import Blueprint
from chalice.app import DynamoDBEvent

from chalicelib.api.order_events import LOCAL_STREAM_ARN
from chalicelib.bootstrap import get_indexer, get_telemetry
from chalicelib.search.indexing import INDEX_STREAM_POLICY

bp = Blueprint(__name__)


@bp.on_dynamodb_record(
    stream_arn=os.environ.get("TABLE_STREAM_ARN", LOCAL_STREAM_ARN), batch_size=INDEX_STREAM_POLICY.batch_size
)
def index_table_stream(event: DynamoDBEvent) -> dict[str, Any]:
    """Apply one batch to the index (or rebuild it); the log line says what it did."""
    request_id = getattr(event.context, "aws_request_id", None)
    raw = event.to_dict()
    with get_telemetry().invocation("index batch", function="indexer", request_id=request_id) as batch:
        indexer = get_indexer()
        report = indexer.rebuild() if raw.get("rebuild") is True else indexer.apply(raw.get("Records") or [])
        batch.facts.update(
            records=report.records,
            changes=report.changes,
            version=report.version,
            attempts=report.attempts,
            rebuilt=report.rebuilt,
            outcome="ok",
        )
    return {"version": report.version, "changes": report.changes, "rebuilt": report.rebuilt, **report.facts}
