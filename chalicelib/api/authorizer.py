"""The authorizer function: verifies the caller's JWT (chalicelib/accounts/verifier.py).

It reads no data, so its role grants nothing but logs; the verifier and its
JWKS cache are built on first use and kept across warm invocations. How long
API Gateway caches its answer is AUTH_CACHE_TTL_S (chalicelib/platform/config.py).
"""

from __future__ import annotations

from chalice import AuthResponse, Blueprint, UnauthorizedError
from chalice.app import AuthRequest

from chalicelib.platform.config import auth_cache_ttl_from_env

bp = Blueprint(__name__)


# API Gateway caches the answer per token for AUTH_CACHE_TTL_S (0-300 s, default
# 300): a revoked token works until it expires, and up to that long after.
@bp.authorizer(ttl_seconds=auth_cache_ttl_from_env())
def jwt_auth(auth_request: AuthRequest) -> AuthResponse:
    """Verify the caller's JWT.

    API Gateway answers 401 when a TOKEN authorizer fails with exactly
    "Unauthorized". The policy allows every route ("*") because API Gateway
    caches it per token for all routes: which route a caller may use (admin
    only, own orders only) is decided in the views, from the identity passed
    in the context. Context values must be strings there, so the roles travel
    as a JSON list: a group name may hold any character (Cognito allows a
    comma), and joining with a separator would let a group named
    ``staff,admin`` read back as two roles.

    A refused token is the authorizer doing its job: logged at INFO with its
    reason and counted (TokensRefused), never an error.
    """
    from chalicelib.accounts.identity import context_of
    from chalicelib.accounts.verifier import InvalidToken
    from chalicelib.bootstrap import get_telemetry, get_verifier
    from chalicelib.platform.metrics import TOKENS_REFUSED, Metric
    from chalicelib.platform.observability import arn_route

    telemetry = get_telemetry()
    with telemetry.invocation("authorizer", function="authorizer", route=arn_route(auth_request.method_arn)) as call:
        try:
            identity = get_verifier().verify(auth_request.token)
        except InvalidToken as exc:
            call.facts.update(outcome="token_refused", reason=exc.reason, detail=str(exc))
            telemetry.metrics.append(Metric(TOKENS_REFUSED, reason=exc.reason))
            raise UnauthorizedError("Unauthorized") from exc
        call.facts.update(outcome="ok", caller=telemetry.caller_of(identity.sub))
    return AuthResponse(
        routes=["*"],
        principal_id=identity.sub,
        context=context_of(identity),
    )
