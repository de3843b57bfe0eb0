"""The authorizer function: verifies the caller's JWT (chalicelib/auth.py).

It reads no data, so its role grants nothing but logs; the verifier and its
JWKS cache are built on first use and kept across warm invocations.
"""

from __future__ import annotations

import logging

from chalice import AuthResponse, Blueprint, UnauthorizedError
from chalice.app import AuthRequest

bp = Blueprint(__name__)
logger = logging.getLogger(__name__)


@bp.authorizer(ttl_seconds=300)
def jwt_auth(auth_request: AuthRequest) -> AuthResponse:
    """Verify the caller's JWT.

    API Gateway answers 401 when a TOKEN authorizer fails with exactly
    "Unauthorized". The policy allows every route ("*") because API Gateway
    caches it per token for all routes: which route a caller may use (admin
    only, own orders only) is decided in the views, from the identity passed
    in the context (values must be strings there, hence the joined roles).
    """
    from ..auth import InvalidToken
    from ..bootstrap import get_verifier

    try:
        identity = get_verifier().verify(auth_request.token)
    except InvalidToken as exc:
        logger.info("refused a token: %s", exc)
        raise UnauthorizedError("Unauthorized") from exc
    return AuthResponse(
        routes=["*"],
        principal_id=identity.sub,
        context={"sub": identity.sub, "email": identity.email or "", "roles": ",".join(identity.roles)},
    )
