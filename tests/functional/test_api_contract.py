"""The API's contract through the real app: a valid OpenAPI document, one
error body for every error (Chalice's own 405 and 415 too; API Gateway's own
403 for what the API does not define), the headers every
answer carries, and inputs that once reached a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from chalice import Blueprint
from chalice.test import Client
from openapi_spec_validator import validate

from chalicelib.api import shop_app
from chalicelib.api.responses import CATALOG_CACHE
from chalicelib.search.language import MAX_WORD_LEN
from tests.support.api_calls import bearer
from tests.support.waiting import eventually

PRODUCT = {
    "name": "Contract Test Feeder",
    "description": "A feeder made for the contract tests.",
    "species": "bird",
    "category": "accessories",
    "brand": "Testbrand",
    "price_cents": 999,
    "stock": 3,
}


@pytest.fixture()
def admin(tokens: dict[str, Any]) -> dict[str, str]:
    return {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}


@pytest.fixture()
def created(client: Client, admin: dict[str, str]) -> Any:
    ids: list[str] = []
    yield ids
    for product_id in ids:
        client.http.delete(f"/products/{product_id}", headers=admin)


def create(client: Client, admin: dict[str, str], created: list[str], **fields: Any) -> Any:
    response = client.http.post("/products", headers=admin, body=json.dumps({**PRODUCT, **fields}))
    if response.status_code == 201:
        created.append(response.json_body["id"])
    return response


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body: dict[str, Any] = response.json_body
    assert body["code"] == code and isinstance(body["message"], str)
    assert "Code" not in body and "Message" not in body
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return body


# -- the document -----------------------------------------------------------------
def test_the_served_openapi_document_is_valid(client: Client) -> None:
    validate(client.http.get("/openapi.json").json_body)


def test_every_documented_error_has_the_one_error_body(client: Client) -> None:
    doc = client.http.get("/openapi.json").json_body
    for path, entry in doc["paths"].items():
        for method, operation in entry.items():
            if method == "parameters":
                continue
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{method} {path} {status}"
            if operation.get("security"):
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(operation["responses"]), f"{method} {path}"


# -- Chalice's own answers, in the shop's body ---------------------------------------
def test_a_method_the_path_does_not_have_is_api_gateways_403_before_any_function_runs(client: Client) -> None:
    response = client.http.request("PATCH", "/products", headers={}, body=b"")
    assert response.status_code == 403
    assert response.json_body == {"code": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"}


def proxy_event(method: str, resource: str) -> dict[str, Any]:
    """What API Gateway's proxy integration hands a function, as Lambda delivers it."""
    return {
        "httpMethod": method,
        "path": resource,
        "resource": resource,
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"httpMethod": method, "resourcePath": resource, "requestId": "r-1"},
        "body": None,
        "isBase64Encoded": False,
    }


def test_a_method_a_function_does_not_serve_is_a_405_with_allow_in_the_shops_body(client: Client) -> None:
    """Should a request reach a function for a method it has no view for, Chalice's 405 wears the shop's body."""
    from app import app

    answer = app(proxy_event("PATCH", "/products"), None)
    assert answer["statusCode"] == 405
    assert json.loads(answer["body"])["code"] == "method_not_allowed"
    assert set(answer["headers"]["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert answer["headers"]["Cache-Control"] == "no-store"


def test_a_body_that_is_not_json_is_a_415(client: Client, admin: dict[str, str]) -> None:
    response = client.http.post("/products", headers={**admin, "Content-Type": "text/plain"}, body=b"name=x")
    assert_error(response, 415, "unsupported_media_type")


def test_every_app_shop_app_builds_answers_the_same(aws: str) -> None:
    """The packaged functions' own apps are built by shop_app() too."""
    blueprint = Blueprint("tests.contract")

    @blueprint.route("/things", methods=["POST"])
    def make_thing() -> dict[str, str]:
        return {}

    own = shop_app(blueprint)
    answer = own(proxy_event("GET", "/things"), None)
    assert answer["statusCode"] == 405 and json.loads(answer["body"])["code"] == "method_not_allowed"
    with Client(own) as client:
        assert_error(
            client.http.post("/things", headers={"Content-Type": "text/plain"}, body=b"x"),
            415,
            "unsupported_media_type",
        )


# -- headers --------------------------------------------------------------------------
def test_catalog_reads_may_be_cached_by_shared_caches(client: Client, seed_products: list[dict[str, Any]]) -> None:
    for path in ("/products?limit=2", f"/products/{seed_products[0]['id']}"):
        response = client.http.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == CATALOG_CACHE
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_private_answers_and_errors_are_never_stored(client: Client, tokens: dict[str, Any]) -> None:
    shopper = bearer(tokens["shopper"]["access"])
    for path in ("/me", "/orders"):
        response = client.http.get(path, headers=shopper)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert_error(client.http.get("/products/no-such-product"), 404, "product_not_found")
    assert_error(client.http.get("/products?limit=0"), 400, "invalid_input")


# -- inputs that once reached a 500 -------------------------------------------------------
def test_json_nested_a_thousand_deep_is_a_400(client: Client, admin: dict[str, str]) -> None:
    body = assert_error(
        client.http.post("/products", headers=admin, body="[" * 1000 + "]" * 1000), 400, "invalid_input"
    )
    assert body["field"] == "body"


def test_a_body_over_the_limit_is_a_413(client: Client, admin: dict[str, str]) -> None:
    huge = json.dumps({**PRODUCT, "description": "x" * 100_000})
    assert_error(client.http.post("/products", headers=admin, body=huge), 413, "payload_too_large")


def test_a_thousand_letter_word_is_indexed_and_found(client: Client, admin: dict[str, str], created: list[str]) -> None:
    word = "zq" * 500
    product = create(client, admin, created, description=f"Made with {word} inside.").json_body
    search = f"/products?q={word[:150]}%20"  # q: at most 200
    found = eventually(lambda: client.http.get(search).json_body["items"])  # once the index has it
    assert [p["id"] for p in found] == [product["id"]]
    assert len(word) > MAX_WORD_LEN


def test_a_name_without_latin_letters_is_sorted_with_the_others(
    client: Client, admin: dict[str, str], created: list[str]
) -> None:
    product = create(client, admin, created, name="[¢|").json_body
    listed = "/products?sort=name&brand=Testbrand&limit=100"
    eventually(lambda: product["id"] in [p["id"] for p in client.http.get(listed).json_body["items"]])


def edited(token: str, **position: Any) -> str:
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    data["k"].update(position)
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "position",
    [{"o": 0}, {"o": -3}, {"o": "5"}, {"o": 10**13}, {"o": True}, {"SK": "salmon#"}],
    ids=["zero", "negative", "a string", "too far", "a boolean", "another key"],
)
def test_a_hand_edited_search_cursor_is_a_400(client: Client, position: dict[str, Any]) -> None:
    cursor = client.http.get("/products?q=salmon%20&limit=1").json_body["next_cursor"]
    response = client.http.get(f"/products?q=salmon%20&limit=1&cursor={edited(cursor, **position)}")
    assert assert_error(response, 400, "invalid_input")["field"] == "cursor"


def test_a_price_cursor_outside_the_price_range_is_a_400(client: Client) -> None:
    query = "/products?sort=price_asc&min_price=1000&max_price=5000&limit=1"
    cursor = client.http.get(query).json_body["next_cursor"]
    for price in (1, 10**40, "1500"):
        response = client.http.get(f"{query}&cursor={edited(cursor, price=price)}")
        assert assert_error(response, 400, "invalid_input")["field"] == "cursor"
