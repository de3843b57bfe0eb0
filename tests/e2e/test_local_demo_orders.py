"""`make run` gives the demo shopper a few orders, through the API, once per data dir.

The stack places them in the background (localdev/demo_orders.py); the order
events handler and the indexer, fed by the table's stream, turn them into
units sold. So a first start opens on best sellers in the plan's order, and
a restart on the same data dir adds no order: not with its record file, nor
without it (the Idempotency-Keys replay).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from infra.import_catalog import read_catalog
from localdev.demo_orders import ORDERS, SHIPPING_ADDRESS, UNITS, expected_best_sellers, plan_orders
from localdev.local_stack import SEED_FILE
from tests.support.running_shop import DEMO_SHOPPER, RunningStack, bearer_of, stack_environment, start_stack
from tests.support.waiting import eventually

WAIT_S = 90  # 12 orders, then the stream's two consumers; a busy machine is slow


def best_sellers(stack: RunningStack) -> list[str]:
    response = requests.get(f"{stack.api}/products/best-sellers", params={"limit": 24}, timeout=10)
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["items"]]


def orders_of(stack: RunningStack, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = requests.get(f"{stack.api}/orders", params={"limit": 50}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return list(response.json()["items"])


def printed(stack: RunningStack, text: str) -> str:
    """The stack's first output line holding ``text``, once printed."""
    return str(eventually(lambda: next((line for line in stack.output if text in line), None), WAIT_S))


def test_demo_orders_rank_the_best_sellers_once_per_data_dir(tmp_path: Path) -> None:
    seed = {p.id: p for p in read_catalog(SEED_FILE)}
    plan = plan_orders(list(seed.values()))
    expected = expected_best_sellers(plan)
    assert len(plan) == ORDERS and [units for _, units in expected] == list(UNITS)  # all different: a clear ranking
    assert len({(seed[pid].species, seed[pid].category) for pid, _ in expected}) == len(expected)
    ranking = [pid for pid, _ in expected]
    data_dir = tmp_path / "local-data"
    env = stack_environment(data_dir, demo_orders=True)

    stack = start_stack(env)
    try:
        assert "LOCAL_DEMO_ORDERS=0" in "".join(stack.output)  # the banner says how to do without
        eventually(lambda: best_sellers(stack) == ranking, WAIT_S)
        empty_search = requests.get(f"{stack.api}/products", params={"limit": len(ranking)}, timeout=10).json()
        assert [p["id"] for p in empty_search["items"]] == ranking  # the front page opens on them
        for pid, units in expected:  # sold through the API: the stock went down by the units sold
            product = requests.get(f"{stack.api}/products/{pid}", timeout=10).json()
            assert product["stock"] == seed[pid].stock - units
        shopper = bearer_of(stack, *DEMO_SHOPPER)
        placed = orders_of(stack, shopper)
        assert len(placed) == ORDERS
        assert sorted(sorted((line["product_id"], line["quantity"]) for line in o["items"]) for o in placed) == sorted(
            sorted(order.lines) for order in plan
        )
        addresses = [{k: v for k, v in o["shipping_address"].items() if v is not None} for o in placed]
        assert addresses == [SHIPPING_ADDRESS] * ORDERS and {o["status"] for o in placed} == {"placed"}
        assert "replayed" not in printed(stack, f"demo orders: {ORDERS} placed")
    finally:
        assert stack.stop() == 0
    ids = sorted(o["id"] for o in placed)

    again = start_stack(env)  # the record file says they were placed: none is sent
    try:
        printed(again, "demo orders: none to place")
        assert not [line for line in again.output if "demo orders: placing" in line]
        assert sorted(o["id"] for o in orders_of(again, bearer_of(again, *DEMO_SHOPPER))) == ids
        assert best_sellers(again) == ranking
    finally:
        assert again.stop() == 0

    (data_dir / "demo-orders.jsonl").unlink()  # lost: every order is sent again, with its key
    third = start_stack(env)
    try:
        assert f"{ORDERS} of them replayed" in printed(third, f"demo orders: {ORDERS} placed")
        assert sorted(o["id"] for o in orders_of(third, bearer_of(third, *DEMO_SHOPPER))) == ids
        eventually(lambda: best_sellers(third) == ranking, WAIT_S)
        pid, units = expected[0]
        assert requests.get(f"{third.api}/products/{pid}", timeout=10).json()["stock"] == seed[pid].stock - units
    finally:
        assert third.stop() == 0
