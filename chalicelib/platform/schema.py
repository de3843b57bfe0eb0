"""What every schema of the API shares: the base model, page sizes and the error body.

Requests are validated into typed models (one per direction); responses are
built from them, never from raw DynamoDB items. The OpenAPI document
(chalicelib/api/openapi.py) is generated from the same classes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_PAGE = 100
DEFAULT_PAGE = 24


class ShopModel(BaseModel):
    """Every schema of the shop. Validators are built on first use, not at
    import: each function uses a few of these models, and building all of
    them was a fifth of a cold start."""

    model_config = ConfigDict(defer_build=True)


class ErrorBody(ShopModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str | None = Field(description="What went wrong, for a human.")
    field: str | None = Field(default=None, description="The parameter or body field at fault.")
