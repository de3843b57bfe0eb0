"""The table's stream as its consumers see it: how records are delivered, and their images.

Two functions read the stream (order follow-ups and the search indexer), each
with its own ``StreamPolicy``; the stage template's event source mappings
and the local pump read the same policy, so both retry alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

deserialize = TypeDeserializer().deserialize


@dataclass(frozen=True)
class StreamPolicy:
    """How a consumer of the table's stream is delivered its records.

    The stage template's event source mapping and the local pump
    (localdev/stream_pump.py) both read it, so both retry alike.
    """

    batch_size: int = 50
    maximum_retry_attempts: int = 3
    bisect_batch_on_function_error: bool = True
    maximum_record_age_s: int = 3600
    report_batch_item_failures: bool = True  # handle_records relies on it: it reports, never raises


def image(record: dict[str, Any], which: str) -> dict[str, Any]:
    raw = record.get("dynamodb", {}).get(which) or {}
    return {k: deserialize(v) for k, v in raw.items()}
