"""The running shop's REST API over HTTP, to set up and check what a browser test did."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests


@dataclass
class ShopApi:
    """The shop's REST API, as the demo admin, to set up and check what the browser did."""

    url: str
    admin: dict[str, str]

    def product(self, product_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/products/{product_id}", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def create(self, **fields: Any) -> dict[str, Any]:
        """A new product, once search finds it (the index follows the table by seconds)."""
        response = requests.post(f"{self.url}/products", json=fields, headers=self.admin, timeout=10)
        assert response.status_code == 201, response.text
        product = dict(response.json())
        searched(self.url, {"q": product["name"] + " "}, lambda ids: product["id"] in ids)
        return product

    def delete(self, product_id: str) -> None:
        requests.delete(f"{self.url}/products/{product_id}", headers=self.admin, timeout=10)

    def orders_of(self, headers: dict[str, str]) -> list[dict[str, Any]]:
        """Every order of the caller, all pages."""
        orders: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            page = requests.get(f"{self.url}/orders", params=params, headers=headers, timeout=10).json()
            orders += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return orders


def searched(api: str, params: dict[str, Any], check: Callable[[list[str]], bool], timeout_s: float = 20) -> list[str]:
    """The ids GET /products answers to ``params``, once ``check`` holds of them:
    the search index follows the table by seconds, so tests wait for it."""
    deadline = time.monotonic() + timeout_s
    while True:
        ids = [p["id"] for p in requests.get(f"{api}/products", params=params, timeout=30).json()["items"]]
        if check(ids) or time.monotonic() > deadline:
            assert check(ids), f"after {timeout_s} s, {params} still finds {ids}"
            return ids
        time.sleep(0.1)
