"""GET /me: who the caller is, from the verified token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.accounts.identity import Identity


def describe(identity: Identity, authorization: str, cognito: Callable[[], Any] | None) -> dict[str, Any]:
    """The caller's id, email and roles.

    Cognito access tokens carry no email; then (``cognito`` given) it is read
    with Cognito's GetUser, which the access token itself authorizes (no IAM
    permission).
    """
    email = identity.email
    if email is None and cognito is not None and authorization.lower().startswith("bearer "):
        email = _cognito_email(cognito, authorization[7:].strip())
    return {"id": identity.sub, "email": email, "roles": list(identity.roles)}


def _cognito_email(cognito: Callable[[], Any], access_token: str) -> str | None:
    try:
        user = cognito().get_user(AccessToken=access_token)
    except (ClientError, BotoCoreError):
        return None
    attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    return attributes.get("email")
