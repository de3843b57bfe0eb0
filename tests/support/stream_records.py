"""Stream records as the table's stream carries them, for the order events tests.

Images are the items really written, read back in DynamoDB's wire format.
"""

from __future__ import annotations

import uuid
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from chalice.test import Client

_sequence = iter(range(10**20, 10**21))  # DynamoDB's sequence numbers: 21 digits


def wire_item(table: Any, key: dict[str, str]) -> dict[str, Any]:
    """An item in DynamoDB's wire format, as stream records carry images."""
    item = table.get_item(Key=key, ConsistentRead=True)["Item"]
    return {k: TypeSerializer().serialize(v) for k, v in item.items()}


def record(event: str, new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    images = {"NewImage": new, **({"OldImage": old} if old else {})}
    stream = {"Keys": {k: new[k] for k in ("PK", "SK") if k in new}, "SequenceNumber": str(next(_sequence)), **images}
    return {"eventID": uuid.uuid4().hex, "eventName": event, "eventSource": "aws:dynamodb", "dynamodb": stream}


def deliver(client: Client, records: list[dict[str, Any]]) -> Any:
    """Invoke the stream handler as Lambda would; returns what it answers Lambda."""
    return client.lambda_.invoke("handle_table_stream", {"Records": records}).payload
