"""Locally generated signing keys and tokens for the auth tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: Any = field(repr=False)

    @classmethod
    @cache
    def generate(cls, kid: str) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid, **header})


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.jwk for k in keys]}


def claims(issuer: str, **extra: Any) -> dict[str, Any]:
    """Standard claims plus ``extra``; an ``extra`` of None removes that claim."""
    now = int(time.time())
    merged = {"iss": issuer, "sub": "user-1", "iat": now, "exp": now + 600, **extra}
    return {k: v for k, v in merged.items() if v is not None}


def unsigned(payload: dict[str, Any], kid: str) -> str:
    """An ``alg: none`` token."""
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."


def hs256_with_public_key(payload: dict[str, Any], key: SigningKey) -> str:
    """Key confusion: HS256 with the RSA public key as the HMAC secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(key.public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def tamper(token: str, **changes: Any) -> str:
    """The same signature over a payload changed after signing."""
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    return f"{header}.{b64(json.dumps(data).encode())}.{signature}"
