"""Who a verified caller is, and how that crosses API Gateway's authorizer context.

The authorizer writes the context (``context_of``), the views read it back
(``from_context``); both live here so the two can never disagree. API Gateway
only carries string values, so the roles are a JSON list, never a joined
string: a group name may contain any separator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Identity:
    sub: str
    email: str | None
    roles: tuple[str, ...]


def context_of(identity: Identity) -> dict[str, str]:
    """The authorizer's context for ``identity`` (strings only, as API Gateway requires)."""
    return {"sub": identity.sub, "email": identity.email or "", "roles": json.dumps(list(identity.roles))}


def from_context(context: Mapping[str, Any]) -> Identity:
    """The identity ``context_of`` wrote. Anything else in ``roles`` grants no role."""
    return Identity(sub=str(context["sub"]), email=context.get("email") or None, roles=_roles(context.get("roles")))


def _roles(raw: Any) -> tuple[str, ...]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(r for r in value if isinstance(r, str) and r)
