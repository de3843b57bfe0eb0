"""GET /me's answer: who the caller is (chalicelib/accounts/profile.py fills it)."""

from __future__ import annotations

from chalicelib.platform.schema import ShopModel


class Me(ShopModel):
    id: str
    email: str | None
    roles: list[str]
