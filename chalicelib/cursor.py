"""Opaque paging cursors.

A cursor is the position after the last item of a page (a DynamoDB
``ExclusiveStartKey``) plus a fingerprint of the query it belongs to, as
url-safe base64 JSON. Clients must treat it as opaque; a cursor that does not
decode, or belongs to another query, is refused with a 400 naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from .errors import InvalidInput

Position = dict[str, str | int]


def fingerprint(parts: dict[str, Any]) -> str:
    """Short stable hash of the parameters that define a result list."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode(position: Position, query_fingerprint: str) -> str:
    raw = json.dumps({"k": position, "q": query_fingerprint}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, query_fingerprint: str, allowed_keys: set[str]) -> Position:
    """The position a cursor holds, checked against the query it is used with."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeEncodeError, binascii.Error) as exc:
        raise InvalidInput("cursor is not a cursor returned by this API", field="cursor") from exc
    if not isinstance(data, dict) or not isinstance(data.get("k"), dict):
        raise InvalidInput("cursor is not a cursor returned by this API", field="cursor")
    if data.get("q") != query_fingerprint:
        raise InvalidInput("cursor belongs to a different query; start again without it", field="cursor")
    position = data["k"]
    if set(position) != allowed_keys or not all(
        isinstance(v, (str, int)) and not isinstance(v, bool) for v in position.values()
    ):
        raise InvalidInput("cursor is not a cursor returned by this API", field="cursor")
    return position
