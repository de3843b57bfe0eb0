"""Who a verified caller is (what the authorizer passes to the views)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    sub: str
    email: str | None
    roles: tuple[str, ...]
