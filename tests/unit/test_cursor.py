import pytest

from chalicelib import cursor
from chalicelib.errors import InvalidInput

KEYS = {"PK", "SK", "price"}


def test_a_cursor_round_trips_its_position() -> None:
    position = {"PK": "IDX#ALL", "SK": "4#bowl#b-1", "price": 1299}
    token = cursor.encode(position, "abc")
    assert cursor.decode(token, "abc", KEYS) == position


def test_a_cursor_is_url_safe() -> None:
    token = cursor.encode({"PK": "IDX#W#dog", "SK": "6#~?/+", "price": 1}, "abc")
    assert all(ch.isalnum() or ch in "-_" for ch in token)


@pytest.mark.parametrize("garbled", ["not-base64!!", "e30", "bnVsbA", "eyJrIjpbXX0", "%%%"])
def test_a_garbled_cursor_is_refused_naming_the_parameter(garbled: str) -> None:
    with pytest.raises(InvalidInput) as err:
        cursor.decode(garbled, "abc", KEYS)
    assert err.value.field == "cursor"


def test_a_cursor_of_another_query_is_refused() -> None:
    token = cursor.encode({"PK": "IDX#ALL", "SK": "x", "price": 1}, "query-a")
    with pytest.raises(InvalidInput, match="different query"):
        cursor.decode(token, "query-b", KEYS)


def test_a_cursor_with_unexpected_key_types_is_refused() -> None:
    token = cursor.encode({"PK": "IDX#ALL", "SK": "x", "price": True}, "abc")  # type: ignore[dict-item]
    with pytest.raises(InvalidInput):
        cursor.decode(token, "abc", KEYS)


def test_fingerprints_differ_when_parameters_differ() -> None:
    assert cursor.fingerprint({"sort": "name"}) != cursor.fingerprint({"sort": "price_asc"})
    assert cursor.fingerprint({"a": 1, "b": 2}) == cursor.fingerprint({"b": 2, "a": 1})
