"""JWT verification for the API's custom authorizer: pure, provider-agnostic.

The identity provider (Cognito or Auth0) is configuration (``AuthSettings``);
this module only checks what the provider signed:

- the token is small and has the three parts of a JWS;
- the algorithm is RS256, pinned: ``alg: none`` and HS256 "key confusion"
  tokens (signed with the public key as an HMAC secret) never verify;
- the signing key comes from the provider's JWKS, fetched with a bounded
  timeout, cached across warm invocations, refetched on an unknown ``kid`` at
  most once a minute (so garbage ``kid``s cannot hammer the provider), and
  kept when a refetch fails (the provider being down does not log users out);
- ``exp``, ``nbf`` and ``iat`` with a small leeway, ``iss`` exactly;
- the audience: ``aud`` (Auth0), or ``client_id`` and ``token_use == "access"``
  (Cognito access tokens; an ID token is refused);
- moto's Cognito signs every pool's tokens with one key published in its
  source code: that key is only trusted when the stage says so (local).

Everything that goes wrong is an ``InvalidToken``, which the authorizer turns
into API Gateway's 401.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import jwt

from chalicelib.accounts.identity import Identity
from chalicelib.platform.config import ConfigError, Env
from chalicelib.platform.metrics import DISCARD, JWKS_FETCH_FAILURES, Metric, MetricSink

logger = logging.getLogger(__name__)

ALGORITHM: Final = "RS256"
LEEWAY_S: Final = 30
MAX_TOKEN_BYTES: Final = 8192
MAX_SUBJECT_CHARS: Final = 256  # Cognito's are UUIDs, Auth0's "provider|id"
JWKS_TIMEOUT_S: Final = 3.0
JWKS_MIN_REFETCH_S: Final = 60.0
# SHA-256 of the modulus of moto's well-known Cognito signing key.
MOTO_KEY_FINGERPRINT: Final = "60ececf17e149ab77be01dedd94c3fb8a0c33c70d4a78b1c3807b097c7c506be"


class InvalidToken(Exception):
    """The token does not prove who the caller is; ``reason`` says why, as a
    short code (logged, and the ``Reason`` of the TokensRefused metric)."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class AuthSettings:
    issuer: str
    audience: str
    jwks_url: str
    roles_claim: str
    cognito: bool  # Cognito access tokens: client_id + token_use instead of aud
    email_claim: str = "email"
    trust_moto_key: bool = False


def key_fingerprint(jwk: dict[str, Any]) -> str:
    n = str(jwk.get("n", ""))
    modulus = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    return hashlib.sha256(modulus).hexdigest()


def fetch_json(url: str, timeout: float = JWKS_TIMEOUT_S) -> dict[str, Any]:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise InvalidToken("the JWKS URL must be https (or loopback for local stacks)", "jwks_url")
    # The scheme is checked above.
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # nosec B310
        data = json.loads(response.read(1_000_000))
    if not isinstance(data, dict):
        raise ValueError("JWKS is not a JSON object")
    return data


class JwksCache:
    """The provider's signing keys by ``kid``, shared by every request of a container."""

    def __init__(
        self,
        url: str,
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
        trust_moto_key: bool = False,
        min_refetch_s: float = JWKS_MIN_REFETCH_S,
        clock: Callable[[], float] = time.monotonic,
        metrics: MetricSink = DISCARD,
    ) -> None:
        self.url = url
        self._metrics = metrics
        self._fetch = fetch
        self._trust_moto_key = trust_moto_key
        self._min_refetch_s = min_refetch_s
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._last_fetch: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> Any:
        found = self._keys.get(kid)
        if found is None:
            self._refresh()
            found = self._keys.get(kid)
        if found is None:
            raise InvalidToken("the token was signed with a key the provider does not publish", "unknown_key")
        return found

    def _refresh(self) -> None:
        with self._lock:
            now = self._clock()
            if self._last_fetch is not None and now - self._last_fetch < self._min_refetch_s:
                return
            self._last_fetch = now
            self.fetches += 1
            try:
                document = self._fetch(self.url)
                keys = self._parse(document)
            except InvalidToken:
                raise
            except Exception as exc:  # network, JSON, malformed keys: keep what we had
                self._metrics.append(Metric(JWKS_FETCH_FAILURES))
                logger.warning("could not refresh the JWKS from %s: %s", self.url, exc)
                return
            self._keys = keys

    def _parse(self, document: dict[str, Any]) -> dict[str, Any]:
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
                continue
            if not self._trust_moto_key and key_fingerprint(jwk) == MOTO_KEY_FINGERPRINT:
                logger.error("refusing moto's public test key from %s: it is only trusted locally", self.url)
                continue
            keys[str(jwk.get("kid"))] = jwt.PyJWK.from_dict({**jwk, "alg": ALGORITHM}).key
        return keys


class TokenVerifier:
    def __init__(self, settings: AuthSettings, jwks: JwksCache | None = None, metrics: MetricSink = DISCARD) -> None:
        self.settings = settings
        self.jwks = jwks or JwksCache(settings.jwks_url, trust_moto_key=settings.trust_moto_key, metrics=metrics)

    def verify(self, authorization: str | None) -> Identity:
        token = _bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("the token is not a JWT", "malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"the token must be signed with {ALGORITHM}", "algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no signing key", "malformed")
        claims = self._decode(token, self.jwks.key(kid))
        return Identity(
            sub=_subject(claims.get("sub")),
            email=_optional_str(claims.get(self.settings.email_claim)),
            roles=_roles(claims.get(self.settings.roles_claim)),
        )

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=s.issuer,
                audience=None if s.cognito else s.audience,
                leeway=LEEWAY_S,
                options={
                    "require": ["exp", "iat", "iss", "sub"] + ([] if s.cognito else ["aud"]),
                    "verify_aud": not s.cognito,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired", "expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is not valid: {exc}", "invalid") from exc
        if s.cognito:
            if claims.get("token_use") != "access":
                raise InvalidToken("an access token is required (token_use must be 'access')", "wrong_token_use")
            if claims.get("client_id") != s.audience:
                raise InvalidToken("the token was issued to another client", "wrong_client")
        return claims


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise InvalidToken("no Authorization header", "missing")
    if len(authorization) > MAX_TOKEN_BYTES:
        raise InvalidToken("the token is too large", "too_large")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be 'Bearer <token>'", "malformed")
    return token.strip()


def _subject(value: Any) -> str:
    """The caller's stable id: a non-blank string of printable characters.

    PyJWT's ``require`` only checks that ``sub`` is present, so ``""``, ``" "``
    or ``42`` would pass it; orders live under the subject, so those are refused.
    """
    if not isinstance(value, str) or not value.strip() or not value.isprintable() or len(value) > MAX_SUBJECT_CHARS:
        raise InvalidToken("the token names no usable subject (sub)", "subject")
    return value


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _roles(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        return ()
    return tuple(sorted({r for r in value if isinstance(r, str) and r}))


def auth_settings_from_env(environ: Mapping[str, str] | None = None) -> AuthSettings:
    """The identity provider of the stage: AUTH_PROVIDER=cognito or auth0.

    cognito: COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID, COGNITO_REGION (or
    AWS_REGION); roles from ``cognito:groups``.
    auth0: AUTH0_DOMAIN, AUTH0_AUDIENCE (the API identifier), AUTH_ROLES_CLAIM
    (the namespaced claim an Auth0 Action adds, e.g.
    ``https://petstore.example.com/roles``).
    Either: AUTH_ISSUER and AUTH_JWKS_URL override what is derived, and
    AUTH_EMAIL_CLAIM names the claim holding the email.
    """
    env = Env(environ)
    provider = env.need("AUTH_PROVIDER")
    if provider == "cognito":
        region = env.get("COGNITO_REGION") or env.need("AWS_REGION")
        issuer = (
            env.get("AUTH_ISSUER") or f"https://cognito-idp.{region}.amazonaws.com/{env.need('COGNITO_USER_POOL_ID')}"
        )
        audience = env.need("COGNITO_CLIENT_ID")
        roles_claim = env.get("AUTH_ROLES_CLAIM", "cognito:groups")
        jwks_url = env.get("AUTH_JWKS_URL") or f"{issuer}/.well-known/jwks.json"
    elif provider == "auth0":
        issuer = env.get("AUTH_ISSUER") or f"https://{env.need('AUTH0_DOMAIN')}/"
        audience = env.need("AUTH0_AUDIENCE")
        roles_claim = env.need("AUTH_ROLES_CLAIM")
        jwks_url = env.get("AUTH_JWKS_URL") or f"{issuer.rstrip('/')}/.well-known/jwks.json"
    else:
        raise ConfigError(f"AUTH_PROVIDER must be 'cognito' or 'auth0', not {provider!r}")
    return AuthSettings(
        issuer=issuer,
        audience=audience,
        jwks_url=jwks_url,
        roles_claim=roles_claim,
        cognito=provider == "cognito",
        email_claim=env.get("AUTH_EMAIL_CLAIM", "email"),
        # moto signs with a published key: only the local stage may trust it.
        trust_moto_key=env.need("STAGE") == "local",
    )
