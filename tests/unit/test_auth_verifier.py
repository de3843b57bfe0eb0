"""The JWT verifier, with locally generated RSA keys and no I/O."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import jwt
import moto
import pytest

from chalicelib.accounts.identity import context_of, from_context
from chalicelib.accounts.verifier import MAX_TOKEN_BYTES, AuthSettings, InvalidToken, JwksCache, TokenVerifier
from tests.support.keys import SigningKey, claims, hs256_with_public_key, jwks, tamper, unsigned

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT = "spa-client"
KEY = SigningKey.generate("key-1")
OTHER = SigningKey.generate("key-2")

COGNITO = AuthSettings(
    issuer=ISSUER, audience=CLIENT, jwks_url="https://idp.test/jwks", roles_claim="cognito:groups", cognito=True
)
AUTH0 = AuthSettings(
    issuer="https://shop.eu.auth0.com/",
    audience="https://api.petstore.test",
    jwks_url="https://shop.eu.auth0.com/.well-known/jwks.json",
    roles_claim="https://petstore.test/roles",
    cognito=False,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeJwks:
    """The provider's JWKS endpoint: counts fetches, can go down."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.down = False
        self.calls = 0

    def __call__(self, url: str) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise OSError("connection refused")
        return self.document


def verifier(
    settings: AuthSettings = COGNITO, endpoint: FakeJwks | None = None, clock: FakeClock | None = None
) -> TokenVerifier:
    endpoint = endpoint or FakeJwks(jwks(KEY))
    cache = JwksCache(settings.jwks_url, fetch=endpoint, clock=clock or FakeClock(), trust_moto_key=False)
    return TokenVerifier(settings, jwks=cache)


def access_token(**extra: Any) -> str:
    return KEY.sign(claims(ISSUER, **{"token_use": "access", "client_id": CLIENT, **extra}))


def test_a_cognito_access_token_gives_the_callers_identity() -> None:
    identity = verifier().verify("Bearer " + access_token(**{"cognito:groups": ["admin"], "email": "a@b.c"}))
    assert (identity.sub, identity.email, identity.roles) == ("user-1", "a@b.c", ("admin",))


@pytest.mark.parametrize(
    ("sub", "reason"),
    [
        ("", "subject"),
        ("   ", "subject"),
        ("user\n1", "subject"),
        ("x" * 257, "subject"),
        (None, "invalid"),  # absent: PyJWT's require
        (42, "invalid"),  # not a string: PyJWT's own check
        (["user-1"], "invalid"),
    ],
)
def test_a_token_without_a_usable_subject_is_refused(sub: Any, reason: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        verifier().verify("Bearer " + access_token(sub=sub))
    assert refused.value.reason == reason


def test_a_group_name_with_a_comma_is_one_role_through_the_authorizer_context() -> None:
    identity = verifier().verify("Bearer " + access_token(**{"cognito:groups": ["staff,admin", "b"]}))
    assert identity.roles == ("b", "staff,admin")
    assert from_context(context_of(identity)) == identity


@pytest.mark.parametrize("roles", ["admin", "admin,staff", "", "{}", '"admin"', "[1, 2]", "not json"])
def test_roles_the_authorizer_did_not_write_as_a_json_list_grant_nothing(roles: str) -> None:
    assert from_context({"sub": "user-1", "email": "", "roles": roles}).roles == ()


def test_an_auth0_token_is_checked_against_its_audience_and_roles_claim() -> None:
    token = KEY.sign(claims(AUTH0.issuer, aud=AUTH0.audience, **{AUTH0.roles_claim: ["admin"]}))
    assert verifier(AUTH0).verify(f"Bearer {token}").roles == ("admin",)


def test_an_auth0_token_for_another_api_is_refused() -> None:
    token = KEY.sign(claims(AUTH0.issuer, aud="https://another.api"))
    with pytest.raises(InvalidToken):
        verifier(AUTH0).verify(f"Bearer {token}")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        access_token(),  # "Bearer" missing
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer not.a.jwt",
        "Bearer garbage",
        "Bearer " + unsigned(claims(ISSUER, token_use="access", client_id=CLIENT), KEY.kid),
        "Bearer " + hs256_with_public_key(claims(ISSUER, token_use="access", client_id=CLIENT), KEY),
        "Bearer " + access_token(exp=int(time.time()) - 120),
        "Bearer " + access_token(nbf=int(time.time()) + 600),
        "Bearer " + access_token(iat=None),
        "Bearer " + KEY.sign(claims("https://evil.example/", token_use="access", client_id=CLIENT)),
        "Bearer " + access_token(client_id="another-client"),
        "Bearer " + KEY.sign(claims(ISSUER, token_use="id", aud=CLIENT)),
        "Bearer " + OTHER.sign(claims(ISSUER, token_use="access", client_id=CLIENT)),
        "Bearer " + tamper(access_token(), sub="someone-else"),
        "Bearer " + tamper(access_token(), **{"cognito:groups": ["admin"]}),
        "Bearer " + access_token(padding="x" * MAX_TOKEN_BYTES),
    ],
    ids=[
        "no header",
        "empty header",
        "bearer missing",
        "basic auth",
        "empty bearer",
        "garbled",
        "not a jwt",
        "alg none",
        "hs256 key confusion",
        "expired",
        "nbf in the future",
        "no iat",
        "wrong issuer",
        "wrong client_id",
        "id token",
        "unknown kid",
        "tampered sub",
        "tampered groups",
        "oversized",
    ],
)
def test_bad_tokens_are_refused(authorization: str | None) -> None:
    with pytest.raises(InvalidToken):
        verifier().verify(authorization)


def test_a_small_clock_skew_is_tolerated() -> None:
    assert verifier().verify("Bearer " + access_token(iat=int(time.time()) + 10)).sub == "user-1"


def test_keys_are_cached_across_requests() -> None:
    endpoint = FakeJwks(jwks(KEY))
    v = verifier(endpoint=endpoint)
    for _ in range(5):
        v.verify("Bearer " + access_token())
    assert endpoint.calls == 1


def test_an_unknown_kid_refetches_at_most_once_a_minute() -> None:
    endpoint, clock = FakeJwks(jwks(KEY)), FakeClock()
    v = verifier(endpoint=endpoint, clock=clock)
    stranger = "Bearer " + OTHER.sign(claims(ISSUER, token_use="access", client_id=CLIENT))
    for _ in range(20):
        with pytest.raises(InvalidToken):
            v.verify(stranger)
    assert endpoint.calls == 1
    # the provider rotates its keys: the new kid is found after the minute
    endpoint.document = jwks(KEY, OTHER)
    clock.now += 61
    assert v.verify(stranger).sub == "user-1"
    assert endpoint.calls == 2


def test_cached_keys_keep_working_while_the_jwks_endpoint_is_down() -> None:
    endpoint, clock = FakeJwks(jwks(KEY)), FakeClock()
    v = verifier(endpoint=endpoint, clock=clock)
    v.verify("Bearer " + access_token())
    endpoint.down = True
    clock.now += 3600
    with pytest.raises(InvalidToken):  # an unknown kid triggers a refetch, which fails
        v.verify("Bearer " + OTHER.sign(claims(ISSUER, token_use="access", client_id=CLIENT)))
    assert v.verify("Bearer " + access_token()).sub == "user-1"


def test_no_keys_and_the_jwks_endpoint_down_is_a_clean_refusal() -> None:
    endpoint = FakeJwks(jwks(KEY))
    endpoint.down = True
    with pytest.raises(InvalidToken):
        verifier(endpoint=endpoint).verify("Bearer " + access_token())


def moto_signing_key() -> tuple[dict[str, Any], dict[str, Any]]:
    resources = Path(moto.__file__).parent / "cognitoidp" / "resources"
    with (
        gzip.open(resources / "jwks-private.json.gz") as private,
        gzip.open(resources / "jwks-public.json.gz") as public,
    ):
        return json.loads(private.read()), json.loads(public.read())


def test_motos_published_key_is_only_trusted_when_allowed() -> None:
    private, public = moto_signing_key()
    token = jwt.encode(
        claims(ISSUER, token_use="access", client_id=CLIENT),
        jwt.PyJWK.from_dict(private).key,
        algorithm="RS256",
        headers={"kid": private["kid"]},
    )
    refusing = TokenVerifier(COGNITO, jwks=JwksCache(COGNITO.jwks_url, fetch=lambda _: public))
    with pytest.raises(InvalidToken):
        refusing.verify(f"Bearer {token}")
    trusting = TokenVerifier(COGNITO, jwks=JwksCache(COGNITO.jwks_url, fetch=lambda _: public, trust_moto_key=True))
    assert trusting.verify(f"Bearer {token}").sub == "user-1"
