import pytest

from chalicelib.platform import cursor
from chalicelib.platform.errors import InvalidInput

KEYS = {"PK": cursor.key_text(), "SK": cursor.key_text(), "price": cursor.number_between()}


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


@pytest.mark.parametrize(
    "position",
    [
        {"PK": "IDX#W#dog", "SK": "dog#3#ab#x", "price": 100},  # another list
        {"PK": "IDX#W#sal", "SK": "toy#3#ab#x", "price": 100},  # outside the list's sort key prefix
        {"PK": "IDX#W#sal", "SK": "", "price": 100},  # an empty key
        {"PK": "IDX#W#sal", "SK": "salmon#" + "x" * 1100, "price": 100},  # longer than a key may be
        {"PK": "IDX#W#sal", "SK": "salmon#3#ab#x", "price": "100"},  # a price that is not a number
        {"PK": "IDX#W#sal", "SK": "salmon#3#ab#x", "price": 10**40},  # beyond DynamoDB's numbers
        {"PK": "IDX#W#sal", "SK": "salmon#3#ab#x", "price": 99},  # outside the query's price range
    ],
)
def test_a_hand_edited_position_is_refused_before_it_reaches_dynamodb(position: dict[str, object]) -> None:
    rules = {"PK": cursor.equal_to("IDX#W#sal"), "SK": cursor.key_text("salmon#"), "price": cursor.number_between(100)}
    token = cursor.encode(position, "abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as err:
        cursor.decode(token, "abc", rules)
    assert err.value.field == "cursor"
