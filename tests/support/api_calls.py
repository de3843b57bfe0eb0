"""The functional tier's calls to the API through Chalice's test client: a
bearer header, a search and every page of one, a checkout."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from chalice.test import Client

# A shipping address every checkout of the tests sends.
ADDRESS = {
    "name": "Ada Shopper",
    "line1": "1 Kibble Lane",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def search(client: Client, **params: Any) -> dict[str, Any]:
    """One page of GET /products; the call must succeed."""
    response = client.http.get("/products?" + urlencode(params))
    assert response.status_code == 200, response.body
    return response.json_body  # type: ignore[no-any-return]


def walk(client: Client, **params: Any) -> list[dict[str, Any]]:
    """Every item of a search, following the cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        page = search(client, **params, **({"cursor": cursor} if cursor else {}))
        assert page["items"] or not (items or page["next_cursor"]), "an empty page while results follow"
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def checkout(client: Client, token: str, items: list[dict[str, Any]], key: str | None = None, **extra: Any) -> Any:
    """POST /orders as ``token``'s user; ``key=False`` sends no Idempotency-Key."""
    headers = {**bearer(token), "Content-Type": "application/json"}
    if key is not False:
        headers["Idempotency-Key"] = key or uuid.uuid4().hex
    body = {"items": items, "shipping_address": ADDRESS, **extra}
    return client.http.post("/orders", headers=headers, body=json.dumps(body))
