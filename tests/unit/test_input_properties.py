"""Properties of everything a client can put in a request, over arbitrary text.

- A free-text field of a request body either validates to clean text (NFC,
  stripped, within its bounds, no control character, separator or bidi
  control) or is refused with the 400 that names that field; nothing else is
  ever raised. Clean text within bounds comes back exactly as its NFC form.
- A cursor, whatever string it is, decodes to a position its rules accept or
  is refused with the shop's InvalidInput; a cursor the shop made round-trips.
- For any product text, its item's keys and size are within DynamoDB's limits.

The oracle for "refused character" is written from Unicode categories here,
independently of the regular expressions of chalicelib/platform/user_text.py.
"""

from __future__ import annotations

import base64
import json
import string
import unicodedata
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal, cast

import pytest
from chalice.app import Request
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from chalicelib.api.http import json_body
from chalicelib.catalog.product import MAX_DESCRIPTION_LINES, Product, ProductIn, ProductUpdate, StockChange
from chalicelib.catalog.product_table import product_item
from chalicelib.orders.order import OrderIn, OrderListParams
from chalicelib.platform import cursor
from chalicelib.platform.errors import InvalidInput
from chalicelib.search.results import SearchParams

bounded = settings(max_examples=120, deadline=None, derandomize=True, database=None)

MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_ITEM_BYTES = 400 * 1024
BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
REFUSED_CATEGORIES: tuple[Literal["Cc", "Cs", "Zl", "Zp"], ...] = ("Cc", "Cs", "Zl", "Zp")

PRODUCT: dict[str, Any] = {
    "name": "Salmon Bites",
    "description": "Soft treats.",
    "species": "dog",
    "category": "treats",
    "brand": "Barkwell",
    "price_cents": 899,
    "stock": 12,
}
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
ORDER: dict[str, Any] = {"items": [{"product_id": "barkwell-salmon-bites", "quantity": 1}], "shipping_address": ADDRESS}


@dataclass(frozen=True)
class TextField:
    model: type[BaseModel]
    body: dict[str, Any]
    path: tuple[str | int, ...]
    min_length: int
    max_length: int
    max_lines: int = 1

    @property
    def name(self) -> str:
        return ".".join(map(str, self.path))

    def body_with(self, value: str) -> dict[str, Any]:
        body = json.loads(json.dumps(self.body))
        place = body
        for step in self.path[:-1]:
            place = place[step]
        place[self.path[-1]] = value
        return cast(dict[str, Any], body)

    def value_in(self, model: BaseModel) -> str:
        found: Any = model.model_dump()
        for step in self.path:
            found = found[step]
        return cast(str, found)


TEXT_FIELDS = [
    TextField(ProductIn, PRODUCT, ("name",), 3, 120),
    TextField(ProductIn, PRODUCT, ("brand",), 1, 60),
    TextField(ProductIn, PRODUCT, ("description",), 1, 2000, MAX_DESCRIPTION_LINES),
    TextField(ProductUpdate, PRODUCT, ("image",), 0, 200),
    TextField(OrderIn, ORDER, ("items", 0, "product_id"), 1, 64),
    *(
        TextField(OrderIn, ORDER, ("shipping_address", name), minimum, maximum)
        for name, minimum, maximum in [
            ("name", 1, 100),
            ("line1", 1, 200),
            ("line2", 0, 200),
            ("city", 1, 100),
            ("postal_code", 1, 20),
        ]
    ),
]
SINGLE_LINE = [f for f in TEXT_FIELDS if f.max_lines == 1]
ids = [f"{f.model.__name__}.{f.name}" for f in TEXT_FIELDS]


def refused(ch: str, field: TextField) -> bool:
    if field.max_lines > 1 and ch in "\n\t\r":  # "\r" and "\r\n" become "\n"
        return False
    return ch in BIDI_CONTROLS or unicodedata.category(ch) in REFUSED_CATEGORIES


def send(field: TextField, value: str) -> BaseModel:
    """The body through the API's own parsing, as JSON with escapes (so lone surrogates arrive too)."""
    request = cast(Request, SimpleNamespace(raw_body=json.dumps(field.body_with(value)).encode()))
    return json_body(request, field.model)


# -- text -----------------------------------------------------------------------------
NASTY = ["\x00", "\x07", "\x1c", "\x7f", "\x85", "\u202e", "\u2066", "\u2028", "\ud800", "\n", "\t", "\r\n", "\r"]
NASTY += ["e\u0301", "\u1e9b\u0323", "\ufb03", "\u0958", "\u2000", "\ufdfa", "\u00a0", " ", "\u200d", "\ufeff"]
any_char = st.one_of(st.characters(exclude_categories=()), st.sampled_from(NASTY))
any_text = st.lists(any_char, max_size=260).map("".join)
clean_char = st.characters(exclude_categories=REFUSED_CATEGORIES, exclude_characters=BIDI_CONTROLS)
refused_char = st.one_of(
    st.sampled_from([*sorted(BIDI_CONTROLS), "\x00", "\x1b", "\x7f", "\x9f", "\u2028", "\u2029", "\udfff"]),
    st.characters(categories=["Cc"]),
)


def clean_line(max_size: int) -> st.SearchStrategy[str]:
    return st.text(clean_char, max_size=max_size).map(str.strip)


def clean_text(field: TextField) -> st.SearchStrategy[str]:
    if field.max_lines == 1:
        return clean_line(field.max_length + 5)
    lines = st.lists(clean_line(80), max_size=field.max_lines + 3)
    return lines.map("\n".join).map(str.strip)


def assert_refused_naming(field: TextField, value: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        send(field, value)
    assert refusal.value.field == field.name
    assert refusal.value.message.startswith(field.name)


@pytest.mark.parametrize("field", TEXT_FIELDS, ids=ids)
@bounded
@given(sent=any_text)
def test_any_text_is_accepted_clean_or_refused_naming_its_field(field: TextField, sent: str) -> None:
    try:
        value = field.value_in(send(field, sent))
    except InvalidInput as refusal:
        assert refusal.field == field.name
        return
    assert unicodedata.is_normalized("NFC", value) and value == value.strip()
    assert field.min_length <= len(value) <= field.max_length
    assert value.count("\n") < field.max_lines
    assert not any(refused(ch, field) for ch in value)
    assert value == unicodedata.normalize("NFC", sent.replace("\r\n", "\n").replace("\r", "\n")).strip()


@pytest.mark.parametrize("field", TEXT_FIELDS, ids=ids)
@bounded
@given(data=st.data())
def test_clean_text_within_bounds_is_accepted_as_its_nfc(field: TextField, data: st.DataObject) -> None:
    sent = data.draw(clean_text(field))
    nfc = unicodedata.normalize("NFC", sent)
    within = field.min_length <= len(nfc) <= field.max_length and nfc.count("\n") < field.max_lines
    if within:
        assert field.value_in(send(field, sent)) == nfc
    else:
        assert_refused_naming(field, sent)


@pytest.mark.parametrize("field", TEXT_FIELDS, ids=ids)
@bounded
@given(head=clean_line(40), bad=refused_char, tail=clean_line(40))
def test_a_refused_character_inside_the_text_is_a_400_naming_the_field(
    field: TextField, head: str, bad: str, tail: str
) -> None:
    assume(refused(bad, field))
    assert_refused_naming(field, f"x{head}{bad}{tail}x")


@pytest.mark.parametrize("field", TEXT_FIELDS, ids=ids)
def test_text_one_character_over_the_bound_is_refused_even_when_it_composes(field: TextField) -> None:
    assert field.value_in(send(field, "e\u0301" * field.max_length)) == "\u00e9" * field.max_length
    assert_refused_naming(field, "e" * (field.max_length + 1))


def test_a_description_keeps_its_lines_and_tabs_up_to_its_bound() -> None:
    description = next(f for f in TEXT_FIELDS if f.max_lines > 1)
    lines = [f"line\t{n}" for n in range(MAX_DESCRIPTION_LINES)]
    assert description.value_in(send(description, "\r\n".join(lines))) == "\n".join(lines)
    assert_refused_naming(description, "\n".join([*lines, "one too many"]))


@pytest.mark.parametrize("model", [ProductIn, ProductUpdate, OrderIn, StockChange, OrderListParams, SearchParams])
def test_every_string_a_request_may_hold_has_a_maximum_length(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    unbounded = [
        f"{owner}.{name}"
        for owner, properties in string_properties(schema)
        for name, prop in properties
        if prop.get("type") == "string" and "maxLength" not in prop and "enum" not in prop
    ]
    assert unbounded == []


def string_properties(schema: dict[str, Any]) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """Each object schema's properties, a nullable property's non-null branch included."""
    objects = [(schema["title"], schema), *schema.get("$defs", {}).items()]
    found = []
    for owner, definition in objects:
        props = [
            (name, branch)
            for name, prop in definition.get("properties", {}).items()
            for branch in prop.get("anyOf", [prop])
        ]
        found.append((owner, props))
    return found


# -- cursors --------------------------------------------------------------------------
FINGERPRINT = cursor.fingerprint({"q": "salmon"})
RULES = {
    "PK": cursor.equal_to("IDX#W#sal"),
    "SK": cursor.key_text("salmon#"),
    "price": cursor.number_between(100, 5000),
    "name_key": cursor.key_text(),
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
json_cursors = st.fixed_dictionaries(
    {"k": st.dictionaries(st.sampled_from([*RULES, "other"]), json_values, max_size=5)},
    optional={"q": st.sampled_from([FINGERPRINT, "0" * 16]) | json_values},
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


any_cursor = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=string.ascii_letters + string.digits + "-_=", max_size=300),
    st.binary(max_size=200).map(b64),
    json_values.map(lambda v: b64(json.dumps(v).encode())),
    json_cursors.map(lambda v: b64(json.dumps(v).encode())),
    st.sampled_from([1, 500, 1_500, 50_000]).map(lambda depth: b64(("[" * depth + "]" * depth).encode())),
)
key_text_in = st.text(max_size=300).filter(lambda t: len(t.encode("utf-8", "surrogatepass")) <= 1000)
positions = st.fixed_dictionaries(
    {
        "PK": st.just("IDX#W#sal"),
        "SK": key_text_in.map(lambda t: "salmon#" + t),
        "price": st.integers(100, 5000),
        "name_key": key_text_in.filter(bool),
    }
)


@bounded
@given(token=any_cursor)
def test_any_string_as_a_cursor_is_a_position_its_rules_accept_or_invalid_input(token: str) -> None:
    try:
        position = cursor.decode(token, FINGERPRINT, RULES)
    except InvalidInput as refusal:
        assert refusal.field == "cursor"
        return
    assert set(position) == set(RULES) and all(RULES[name](value) for name, value in position.items())


@bounded
@given(position=positions)
def test_a_cursor_the_shop_made_round_trips_and_only_for_its_own_query(position: cursor.Position) -> None:
    token = cursor.encode(position, FINGERPRINT)
    assert cursor.decode(token, FINGERPRINT, RULES) == position
    with pytest.raises(InvalidInput):
        cursor.decode(token, cursor.fingerprint({"q": "other"}), RULES)


# -- index keys -----------------------------------------------------------------------
EXPANDING = ["\ufdfa", "\ufb03", "\u2474", "\u3392", "\u00df", "\u0390", "\u1e9e", "\u2163"]
product_char = st.one_of(clean_char, st.sampled_from([*EXPANDING, " ", "-", "\n", "\t"]))
word = st.one_of(st.text(string.ascii_lowercase, min_size=1, max_size=12), st.text(product_char, max_size=12))
# A word as long as a description may be (the index cuts each word; a cut that is
# lost would give sort keys over 1,024 bytes).
long_word = st.builds(
    lambda piece, size: (piece * size)[:size],
    st.text(string.ascii_letters + "\u00e9", min_size=1, max_size=8),
    st.integers(min_value=100, max_value=1990),
)
# More distinct words than a product has index entries for.
many_words = st.integers(min_value=1, max_value=300).map(
    lambda count: " ".join(
        f"{string.ascii_lowercase[n % 26]}{string.ascii_lowercase[n // 26]}word{n}" for n in range(count)
    )
)
product_text = st.one_of(
    st.lists(word, max_size=400).map(" ".join),
    many_words,
    long_word,
    st.text(product_char, max_size=2000),
)


@st.composite
def products(draw: st.DrawFn) -> Product:
    fields = {
        **PRODUCT,
        "id": draw(st.from_regex(r"\A[a-z0-9][a-z0-9-]{1,62}[a-z0-9]\Z")),
        "name": ("Toy " + draw(product_text))[:120],
        "brand": ("B" + draw(product_text))[:60],
        "description": "\n".join(("D " + draw(product_text)).split("\n")[:MAX_DESCRIPTION_LINES])[:2000],
    }
    try:
        return Product.model_validate(fields)
    except ValueError:
        assume(False)
        raise


def key_bytes(value: object) -> int:
    assert isinstance(value, str) and value, value
    return len(value.encode("utf-8"))


@bounded
@given(product=products())
def test_the_item_of_any_product_fits_dynamodbs_key_and_item_limits(product: Product) -> None:
    item = product_item(product)
    assert key_bytes(item["PK"]) <= MAX_PARTITION_KEY_BYTES
    assert key_bytes(item["SK"]) <= MAX_SORT_KEY_BYTES
    assert len(json.dumps(item).encode()) < MAX_ITEM_BYTES
