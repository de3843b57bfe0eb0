"""What the stage keeps, protects and accepts: retention, deletion protection, parameters and their rules.

Read from the built template (build/<stage>/template.json) and its expansion;
docs/deploy.md ("What destroy keeps") says the same.
"""

from __future__ import annotations

from typing import Any

import pytest

RETAINED = ("ShopTable", "UserPool", "SpaClient", "AdminGroup", "RenditionsBucket")


@pytest.fixture(scope="module", params=["dev", "prod"])
def stage(request: pytest.FixtureRequest, built_stage: Any) -> tuple[str, dict[str, Any]]:
    return request.param, built_stage(request.param)


def evaluate(value: Any, parameters: dict[str, str]) -> Any:
    """The rule functions the template uses, as CloudFormation evaluates them (parameter values are strings)."""
    if isinstance(value, dict):
        ((name, arg),) = value.items()
        if name == "Ref":
            return parameters[arg]
        if name == "Fn::Not":
            return not evaluate(arg[0], parameters)
        if name == "Fn::Contains":
            return evaluate(arg[1], parameters) in [evaluate(v, parameters) for v in arg[0]]
        raise AssertionError(f"no evaluation of {name} here: add it")
    return value


def accepted(template: dict[str, Any], **parameters: str) -> bool:
    return all(
        evaluate(assertion["Assert"], parameters)
        for rule in template["Rules"].values()
        for assertion in rule["Assertions"]
    )


def test_accounts_and_orders_outlive_the_stack_with_the_pools_client_and_admin_group(stage: Any) -> None:
    _, template = stage
    for logical_id in RETAINED:
        resource = template["Resources"][logical_id]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain", logical_id
    kept = {k for k, v in template["Resources"].items() if v.get("DeletionPolicy") == "Retain"}
    assert kept == set(RETAINED)  # nothing else is left behind by a destroy


def test_prods_pool_and_table_cannot_be_deleted_by_accident(stage: Any) -> None:
    name, template = stage
    resources = template["Resources"]
    assert template["Parameters"]["Stage"]["Default"] == name
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert resources["UserPool"]["Properties"]["DeletionProtection"] == {"Fn::If": ["IsProd", "ACTIVE", "INACTIVE"]}
    assert resources["ShopTable"]["Properties"]["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}


def test_a_waf_rate_limit_is_off_or_one_waf_accepts(stage: Any) -> None:
    _, template = stage
    limit = template["Parameters"]["WafRateLimit"]
    assert (limit["Default"], limit["MinValue"], limit["MaxValue"]) == (0, 0, 2_000_000_000)
    for value in ("0", "10", "2000", "2000000000"):
        assert accepted(template, WafRateLimit=value), value
    for value in ("1", "5", "9"):
        assert not accepted(template, WafRateLimit=value), value


def test_low_stock_alerts_reach_a_person_when_an_address_is_given(stage: Any) -> None:
    _, template = stage
    assert template["Parameters"]["LowStockEmail"]["Default"] == ""
    subscription = template["Resources"]["LowStockEmailSubscription"]
    assert subscription["Condition"] == "HasLowStockEmail"
    assert template["Conditions"]["HasLowStockEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "LowStockEmail"}, ""]}]}
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "LowStockTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "LowStockEmail"},
    }
