"""The JWT authorizer and the admin role, through the Chalice test client,
with tokens from moto's Cognito and from a local Auth0-style issuer."""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import jwt
import moto
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.accounts.verifier import InvalidToken, TokenVerifier, auth_settings_from_env
from chalicelib.platform import keys
from tests.support.api_calls import bearer
from tests.support.keys import SigningKey, claims, hs256_with_public_key, jwks, tamper, unsigned
from tests.support.ports import free_port
from tests.support.waiting import eventually

NEW_PRODUCT = {
    "name": "Zanzibar Test Feeder",
    "description": "A feeder made for the admin tests.",
    "species": "bird",
    "category": "accessories",
    "brand": "Testbrand",
    "price_cents": 1234,
    "stock": 7,
}


@cache
def moto_private_key() -> dict[str, Any]:
    path = Path(moto.__file__).parent / "cognitoidp" / "resources" / "jwks-private.json.gz"
    with gzip.open(path) as file:
        return dict(json.loads(file.read()))


def moto_signed(payload: dict[str, Any], **header: Any) -> str:
    """A token signed like the local pool signs them (moto's published key)."""
    private = moto_private_key()
    key = jwt.PyJWK.from_dict(private).key
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": private["kid"], **header})


def pool_claims(user_pool: dict[str, str], **extra: Any) -> dict[str, Any]:
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{user_pool['user_pool_id']}"
    return claims(issuer, **{"token_use": "access", "client_id": user_pool["client_id"], **extra})


def assert_gateway_401(response: Any) -> None:
    assert response.status_code == 401, response.body
    assert response.json_body == {"code": "UNAUTHORIZED", "message": "Unauthorized"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# -- who am I -------------------------------------------------------------------
def test_me_returns_the_callers_id_email_and_roles(client: Client, tokens: dict[str, Any]) -> None:
    shopper = client.http.get("/me", headers=bearer(tokens["shopper"]["access"])).json_body
    admin = client.http.get("/me", headers=bearer(tokens["admin"]["access"])).json_body
    assert shopper["email"] == "shopper@example.com" and shopper["roles"] == []
    assert admin["email"] == "admin@example.com" and admin["roles"] == ["admin"]
    assert shopper["id"] != admin["id"]


def test_no_token_is_a_401_with_json_and_cors(client: Client) -> None:
    assert_gateway_401(client.http.get("/me"))


BAD_TOKENS: dict[str, str] = {}


def bad_tokens(user_pool: dict[str, str], tokens: dict[str, Any]) -> dict[str, str]:
    good = tokens["shopper"]["access"]
    now = int(time.time())
    stranger = SigningKey.generate("stranger")
    return {
        "bearer missing": good,
        "garbled": "Bearer abc.def.ghi",
        "alg none": "Bearer " + unsigned(pool_claims(user_pool), "dummy"),
        "hs256 key confusion": "Bearer " + hs256_with_public_key(pool_claims(user_pool), _moto_public_as_signing_key()),
        "expired": "Bearer " + moto_signed(pool_claims(user_pool, exp=now - 300, iat=now - 4000)),
        "nbf in the future": "Bearer " + moto_signed(pool_claims(user_pool, nbf=now + 600)),
        "wrong issuer": "Bearer " + moto_signed({**pool_claims(user_pool), "iss": "https://evil.example"}),
        "wrong client_id": "Bearer " + moto_signed(pool_claims(user_pool, client_id="someone-else")),
        "id token": "Bearer " + tokens["shopper"]["id"],
        "unknown kid": "Bearer " + stranger.sign(pool_claims(user_pool)),
        "tampered": "Bearer " + tamper(good, **{"cognito:groups": ["admin"]}),
        "oversized": "Bearer " + moto_signed(pool_claims(user_pool, junk="x" * 10_000)),
        "empty sub": "Bearer " + moto_signed(pool_claims(user_pool, sub="")),
        "blank sub": "Bearer " + moto_signed(pool_claims(user_pool, sub="  ")),
        "numeric sub": "Bearer " + moto_signed(pool_claims(user_pool, sub=42)),
    }


def _moto_public_as_signing_key() -> SigningKey:
    """SigningKey whose public PEM is moto's public key (for the HS256 confusion)."""
    key = SigningKey("dummy", jwt.PyJWK.from_dict(moto_private_key()).key)
    return key


@pytest.mark.parametrize(
    "case",
    [
        "bearer missing",
        "garbled",
        "alg none",
        "hs256 key confusion",
        "expired",
        "nbf in the future",
        "wrong issuer",
        "wrong client_id",
        "id token",
        "unknown kid",
        "tampered",
        "oversized",
        "empty sub",
        "blank sub",
        "numeric sub",
    ],
)
def test_a_refused_token_is_a_401_never_a_500(
    client: Client, user_pool: dict[str, str], tokens: dict[str, Any], case: str
) -> None:
    if not BAD_TOKENS:
        BAD_TOKENS.update(bad_tokens(user_pool, tokens))
    authorization = BAD_TOKENS[case]
    assert_gateway_401(client.http.get("/me", headers={"Authorization": authorization}))
    assert_gateway_401(client.http.post("/products", headers={"Authorization": authorization}, body="{}"))


def test_jwks_down_and_no_cached_keys_is_a_clean_401(
    client: Client, tokens: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_JWKS_URL", f"http://127.0.0.1:{free_port()}/.well-known/jwks.json")
    bootstrap.reset()
    assert_gateway_401(client.http.get("/me", headers=bearer(tokens["shopper"]["access"])))


def test_motos_key_is_refused_outside_the_local_stage(auth_env: dict[str, str], tokens: dict[str, Any]) -> None:
    local = TokenVerifier(auth_settings_from_env({**auth_env, "STAGE": "local"}))
    assert local.verify("Bearer " + tokens["shopper"]["access"]).sub
    prod = TokenVerifier(auth_settings_from_env({**auth_env, "STAGE": "prod"}))
    with pytest.raises(InvalidToken):
        prod.verify("Bearer " + tokens["shopper"]["access"])


# -- admin role -----------------------------------------------------------------
@pytest.fixture()
def created(client: Client, tokens: dict[str, Any]) -> Iterator[list[str]]:
    """Ids of products a test creates; deleted afterwards (the seed stays as it was)."""
    ids: list[str] = []
    yield ids
    table = boto3.resource("dynamodb").Table("petstore-local")
    from chalicelib.catalog.product_table import DynamoProductStore
    from chalicelib.catalog.products import delete_product
    from chalicelib.platform.errors import ProductNotFound

    for product_id in ids:
        with contextlib.suppress(ProductNotFound):
            delete_product(DynamoProductStore(table), product_id)


def search_ids(client: Client, q: str) -> list[str]:
    return [p["id"] for p in client.http.get(f"/products?q={q}").json_body["items"]]


def test_a_shopper_cannot_manage_the_catalog(client: Client, tokens: dict[str, Any]) -> None:
    headers = {**bearer(tokens["shopper"]["access"]), "Content-Type": "application/json"}
    for method, path in [
        ("POST", "/products"),
        ("PUT", "/products/x-1"),
        ("DELETE", "/products/x-1"),
        ("POST", "/products/x-1/stock"),
    ]:
        response = client.http.request(method, path, headers=headers, body=json.dumps(NEW_PRODUCT))
        assert response.status_code == 403, (method, response.body)
        assert response.json_body["code"] == "forbidden"
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_group_whose_name_holds_a_comma_grants_no_other_role(client: Client, user_pool: dict[str, str]) -> None:
    # GIVEN a signed, valid token of a plain user in a group named "staff,admin"
    token = moto_signed(pool_claims(user_pool, sub="comma-user", **{"cognito:groups": ["staff,admin"]}))
    headers = {**bearer(token), "Content-Type": "application/json"}
    # THEN the caller has exactly that one role, and it is not admin
    me = client.http.get("/me", headers=headers)
    assert me.status_code == 200, me.body
    assert me.json_body["roles"] == ["staff,admin"]
    response = client.http.post("/products", headers=headers, body=json.dumps(NEW_PRODUCT))
    assert response.status_code == 403, response.body


def test_admin_creates_updates_and_deletes_a_product_and_search_follows(
    client: Client, tokens: dict[str, Any], created: list[str]
) -> None:
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    response = client.http.post("/products", headers=headers, body=json.dumps(NEW_PRODUCT))
    assert response.status_code == 201, response.body
    product = response.json_body
    created.append(product["id"])
    assert response.headers["Location"] == f"/products/{product['id']}"
    eventually(lambda: search_ids(client, "zanzibar") == [product["id"]])

    renamed = {**NEW_PRODUCT, "name": "Quokka Test Feeder", "price_cents": 999}
    response = client.http.put(f"/products/{product['id']}", headers=headers, body=json.dumps(renamed))
    assert response.status_code == 200 and response.json_body["price_cents"] == 999
    eventually(lambda: search_ids(client, "zanzibar ") == [])
    eventually(lambda: search_ids(client, "quokka") == [product["id"]])
    by_price = client.http.get("/products?q=quokka&sort=price_asc&max_price=1000").json_body["items"]
    assert [p["id"] for p in by_price] == [product["id"]]

    assert client.http.delete(f"/products/{product['id']}", headers=headers).status_code == 204
    assert client.http.get(f"/products/{product['id']}").status_code == 404
    eventually(lambda: search_ids(client, "quokka") == [])
    assert client.http.delete(f"/products/{product['id']}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_PRODUCT, "price_cents": -5}, "price_cents"),
        ({**NEW_PRODUCT, "price_cents": "12.5"}, "price_cents"),
        ({**NEW_PRODUCT, "species": "dragon"}, "species"),
        ({**NEW_PRODUCT, "stock": -1}, "stock"),
        ({k: v for k, v in NEW_PRODUCT.items() if k != "name"}, "name"),
        ({**NEW_PRODUCT, "colour": "red"}, "colour"),
        ({**NEW_PRODUCT, "id": "Not An Id!"}, "id"),
    ],
)
def test_invalid_product_bodies_are_a_400_naming_the_field(
    client: Client, tokens: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    response = client.http.post("/products", headers=headers, body=json.dumps(body))
    assert response.status_code == 400, response.body
    assert response.json_body["field"] == field


def test_a_body_that_is_not_json_is_a_400(client: Client, tokens: dict[str, Any]) -> None:
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    response = client.http.post("/products", headers=headers, body="{not json")
    assert response.status_code == 400 and response.json_body["field"] == "body"


def test_updating_an_unknown_product_is_a_404(client: Client, tokens: dict[str, Any]) -> None:
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    for product_id in ("no-such-product", "NOT_AN_ID"):
        response = client.http.put(f"/products/{product_id}", headers=headers, body=json.dumps(NEW_PRODUCT))
        assert response.status_code == 404, response.body


def test_an_update_without_stock_keeps_the_stock_as_purchases_left_it(
    client: Client, tokens: dict[str, Any], make_product: Any, table: Any
) -> None:
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    product = make_product(stock=5)
    fields = product.model_dump(mode="json", exclude={"id", "stock"})
    # GIVEN a purchase took 2 after the admin opened the form
    table.update_item(
        Key=keys.product_key(product.id),
        UpdateExpression="SET stock = :s",
        ExpressionAttributeValues={":s": 3},
    )

    response = client.http.put(
        f"/products/{product.id}", headers=headers, body=json.dumps({**fields, "price_cents": 777})
    )

    assert response.status_code == 200, response.body
    assert response.json_body["stock"] == 3 and response.json_body["price_cents"] == 777
    assert client.http.get(f"/products/{product.id}").json_body["stock"] == 3


def adjust_stock(client: Client, tokens: dict[str, Any], product_id: str, body: str) -> Any:
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    return client.http.post(f"/products/{product_id}/stock", headers=headers, body=body)


def test_admin_adjusts_stock_relative_to_what_it_is_now(
    client: Client, tokens: dict[str, Any], make_product: Any
) -> None:
    product = make_product(stock=3)

    response = adjust_stock(client, tokens, product.id, '{"change": 7}')
    assert response.status_code == 200, response.body
    assert response.json_body["stock"] == 10
    response = adjust_stock(client, tokens, product.id, '{"change": -4}')
    assert response.json_body["stock"] == 6
    assert client.http.get(f"/products/{product.id}").json_body["stock"] == 6


def test_stock_adjustments_that_would_go_below_zero_are_a_409_and_change_nothing(
    client: Client, tokens: dict[str, Any], make_product: Any
) -> None:
    product = make_product(stock=2)
    response = adjust_stock(client, tokens, product.id, '{"change": -3}')
    assert response.status_code == 409, response.body
    assert response.json_body["field"] == "change" and "stock is 2" in response.json_body["message"]
    assert client.http.get(f"/products/{product.id}").json_body["stock"] == 2


@pytest.mark.parametrize("body", ['{"change": 0}', '{"change": "5"}', "{}", '{"change": 5, "extra": 1}'])
def test_bad_stock_adjustments_are_a_400_naming_the_field(
    client: Client, tokens: dict[str, Any], make_product: Any, body: str
) -> None:
    product = make_product(stock=2)
    response = adjust_stock(client, tokens, product.id, body)
    assert response.status_code == 400, response.body
    assert response.json_body["field"] in ("change", "extra")


def test_adjusting_the_stock_of_an_unknown_product_is_a_404(client: Client, tokens: dict[str, Any]) -> None:
    response = adjust_stock(client, tokens, "no-such-product", '{"change": 1}')
    assert response.status_code == 404, response.body


def test_creating_an_existing_id_is_a_409(client: Client, tokens: dict[str, Any], created: list[str]) -> None:
    headers = {**bearer(tokens["admin"]["access"]), "Content-Type": "application/json"}
    body = json.dumps({**NEW_PRODUCT, "id": "zanzibar-twice"})
    assert client.http.post("/products", headers=headers, body=body).status_code == 201
    created.append("zanzibar-twice")
    response = client.http.post("/products", headers=headers, body=body)
    assert response.status_code == 409 and response.json_body["field"] == "id"


# -- Auth0-style provider ----------------------------------------------------------
AUTH0_KEY = SigningKey.generate("auth0-key")
AUTH0_ISSUER = "https://petstore-test.eu.auth0.com/"
AUTH0_AUDIENCE = "https://api.petstore.test"
ROLES_CLAIM = "https://petstore.test/roles"


@pytest.fixture(scope="module")
def auth0_jwks_url() -> Iterator[str]:
    """A local issuer's JWKS, served on loopback like Auth0 serves its own."""
    body = json.dumps(jwks(AUTH0_KEY)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


@pytest.fixture()
def auth0_client(client: Client, auth0_jwks_url: str, monkeypatch: pytest.MonkeyPatch) -> Client:
    for name, value in {
        "AUTH_PROVIDER": "auth0",
        "AUTH0_DOMAIN": "petstore-test.eu.auth0.com",
        "AUTH0_AUDIENCE": AUTH0_AUDIENCE,
        "AUTH_ROLES_CLAIM": ROLES_CLAIM,
        "AUTH_JWKS_URL": auth0_jwks_url,
    }.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    return client


def test_an_auth0_admin_can_manage_the_catalog(auth0_client: Client, created: list[str]) -> None:
    token = AUTH0_KEY.sign(claims(AUTH0_ISSUER, aud=AUTH0_AUDIENCE, **{ROLES_CLAIM: ["admin"]}))
    me = auth0_client.http.get("/me", headers=bearer(token)).json_body
    assert me == {"id": "user-1", "email": None, "roles": ["admin"]}
    response = auth0_client.http.post(
        "/products",
        headers={**bearer(token), "Content-Type": "application/json"},
        body=json.dumps({**NEW_PRODUCT, "id": "zanzibar-auth0"}),
    )
    assert response.status_code == 201, response.body
    created.append("zanzibar-auth0")


def test_auth0_tokens_for_another_audience_or_without_the_role_are_refused(auth0_client: Client) -> None:
    other_api = AUTH0_KEY.sign(claims(AUTH0_ISSUER, aud="https://another.api", **{ROLES_CLAIM: ["admin"]}))
    assert_gateway_401(auth0_client.http.get("/me", headers=bearer(other_api)))
    shopper = AUTH0_KEY.sign(claims(AUTH0_ISSUER, aud=AUTH0_AUDIENCE))
    response = auth0_client.http.delete("/products/anything", headers=bearer(shopper))
    assert response.status_code == 403
