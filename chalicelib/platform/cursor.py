"""Opaque paging cursors.

A cursor is the position after the last item of a page (a search's offset
in its ranking, a DynamoDB ``ExclusiveStartKey`` for a user's orders) plus a
fingerprint of the query it belongs to, as url-safe base64 JSON. Clients must
treat it as opaque; a cursor that does not decode, or belongs to another
query, is refused with a 400 naming ``cursor``.

Cursors are not signed, so one may be edited by hand: every value of the
position is checked against a rule of the query it is used with (a bounded
whole number for an offset; for a key, its partition, the prefix its sort key
must have and the sizes DynamoDB accepts) before it is used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from chalicelib.platform.errors import InvalidInput

Position = dict[str, str | int]
Rule = Callable[[object], bool]

MAX_KEY_BYTES: Final = 1024  # DynamoDB's limit for a sort key (a partition key's is 2,048)
MAX_NUMBER: Final = 10**12


def key_text(prefix: str = "") -> Rule:
    """A non-empty key string that starts with ``prefix`` and fits in a key."""

    def check(value: object) -> bool:
        return (
            isinstance(value, str)
            and bool(value)
            and value.startswith(prefix)
            and len(value.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES
        )

    return check


def equal_to(expected: str) -> Rule:
    return lambda value: value == expected


def number_between(low: int = 0, high: int = MAX_NUMBER) -> Rule:
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def fingerprint(parts: dict[str, Any]) -> str:
    """Short stable hash of the parameters that define a result list."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode(position: Position, query_fingerprint: str) -> str:
    raw = json.dumps({"k": position, "q": query_fingerprint}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, query_fingerprint: str, rules: Mapping[str, Rule]) -> Position:
    """The position a cursor holds, checked against the query it is used with:
    the fingerprint, then each key of the position by its rule."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeEncodeError, binascii.Error, RecursionError) as exc:
        raise InvalidInput("cursor is not a cursor returned by this API", field="cursor") from exc
    if not isinstance(data, dict) or not isinstance(data.get("k"), dict):
        raise InvalidInput("cursor is not a cursor returned by this API", field="cursor")
    if data.get("q") != query_fingerprint:
        raise InvalidInput("cursor belongs to a different query; start again without it", field="cursor")
    position = data["k"]
    if set(position) != set(rules) or not all(rules[name](value) for name, value in position.items()):
        raise InvalidInput("cursor is not a cursor returned by this API", field="cursor")
    return position
