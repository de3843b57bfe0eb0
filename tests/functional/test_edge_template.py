"""The stage's edge as CloudFormation runs it (build/<stage>/expanded.json): one CloudFront in front of a regional API.

The shop's CloudFront is the API's only door: the API is regional (no second,
hidden CloudFront), every method requires the API key CloudFront adds and no
viewer can supply (infra/edge.py, ``origin_key``), and the names CloudFront
keeps per account carry the region.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from app import app
from chalicelib.api.responses import BEST_SELLERS_CACHE
from infra.edge import BEST_SELLERS_PATH, ORIGIN_KEY_HEADER, ORIGIN_KEY_SECRET, ORIGIN_KEY_VALUE


@pytest.fixture(scope="module", params=["dev", "prod"])
def expanded(request: pytest.FixtureRequest, expanded_stage: Any) -> dict[str, Any]:
    return dict(expanded_stage(request.param))


def api_origin(template: dict[str, Any]) -> dict[str, Any]:
    config = template["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = [o for o in config["Origins"] if o["Id"] == "api"]
    return dict(origin)


def test_the_api_is_regional_behind_the_shops_own_cloudfront(expanded: dict[str, Any]) -> None:
    api = expanded["Resources"]["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    origin = api_origin(expanded)
    assert origin["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}


def test_every_method_requires_the_key_and_keeps_its_authorizer(expanded: dict[str, Any]) -> None:
    body = expanded["Resources"]["RestAPI"]["Properties"]["Body"]
    assert body["securityDefinitions"]["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    checked = 0
    for path, entries in app.routes.items():
        for method, entry in entries.items():
            operation = body["paths"][path][method.lower()]
            wanted = {"api_key": [], **({"jwt_auth": []} if entry.authorizer else {})}
            assert operation["security"] == [wanted], f"{method} {path}"
            checked += 1
    assert checked >= 12  # every route of every blueprint
    for methods in body["paths"].values():  # preflights: answered by API Gateway itself
        assert "security" not in methods.get("options", {})


def test_only_cloudfront_holds_the_key_and_no_viewer_can_send_one(expanded: dict[str, Any]) -> None:
    resources = expanded["Resources"]
    secret = resources[ORIGIN_KEY_SECRET]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert ORIGIN_KEY_VALUE == {"Fn::Sub": "{{resolve:secretsmanager:${OriginKeySecret}}}"}
    assert resources["OriginApiKey"]["Properties"] == {**resources["OriginApiKey"]["Properties"], "Enabled": True}
    assert resources["OriginApiKey"]["Properties"]["Value"] == ORIGIN_KEY_VALUE
    assert api_origin(expanded)["OriginCustomHeaders"] == [
        {"HeaderName": ORIGIN_KEY_HEADER, "HeaderValue": ORIGIN_KEY_VALUE}
    ]
    plan = resources["OriginUsagePlan"]["Properties"]
    (stage_id,) = [k for k, v in resources.items() if v["Type"] == "AWS::ApiGateway::Stage"]
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": stage_id}}]
    assert "Quota" not in plan and "Throttle" not in plan  # the stage's own throttling applies
    binding = resources["OriginUsagePlanKey"]["Properties"]
    assert binding == {
        "KeyId": {"Ref": "OriginApiKey"},
        "KeyType": "API_KEY",
        "UsagePlanId": {"Ref": "OriginUsagePlan"},
    }
    # A viewer's x-api-key is neither forwarded nor part of the cache key (CloudFront's header replaces it).
    forwarded = resources["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]
    cached = resources["ApiCachePolicy"]["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    for headers in (forwarded["Headers"], cached["HeadersConfig"]["Headers"]):
        assert ORIGIN_KEY_HEADER not in {h.lower() for h in headers}


def test_names_cloudfront_keeps_per_account_carry_the_region(expanded: dict[str, Any]) -> None:
    named = 0
    for logical_id, resource in expanded["Resources"].items():
        if not resource["Type"].startswith("AWS::CloudFront::") or resource["Type"].endswith("Distribution"):
            continue
        (config,) = [v for k, v in resource["Properties"].items() if k.endswith("Config")]
        name = config["Name"]["Fn::Sub"]
        assert "${AWS::Region}" in name and "${AWS::StackName}" in name, logical_id
        named += 1
    # the site's access control, the API's and the best sellers' cache policies, the origin request policy, the headers
    assert named == 5


def test_the_best_sellers_are_kept_at_the_edge_for_everyone_as_long_as_the_api_says(expanded: dict[str, Any]) -> None:
    resources = expanded["Resources"]
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    patterns = [b["PathPattern"] for b in config["CacheBehaviors"]]
    # CloudFront takes the first pattern that matches: the best sellers' before the API's own.
    assert BEST_SELLERS_PATH == "api/products/best-sellers"
    assert patterns.index(BEST_SELLERS_PATH) < patterns.index("api/*")
    (behaviour,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == BEST_SELLERS_PATH]
    assert behaviour["TargetOriginId"] == "api" and behaviour["ViewerProtocolPolicy"] == "https-only"
    assert behaviour["AllowedMethods"] == behaviour["CachedMethods"] == ["GET", "HEAD"]
    assert behaviour["CachePolicyId"] == {"Ref": "BestSellersCachePolicy"}
    # Only what the key holds reaches the API: no parameter outside the key can change the answer kept.
    assert "OriginRequestPolicyId" not in behaviour
    policy = resources["BestSellersCachePolicy"]
    assert policy["Type"] == "AWS::CloudFront::CachePolicy"
    cache = policy["Properties"]["CachePolicyConfig"]
    # The API's s-maxage decides (no Cache-Control: not kept), within the policy's bounds.
    shared_age = int(re.search(r"s-maxage=(\d+)", BEST_SELLERS_CACHE)[1])  # type: ignore[index]
    assert cache["MinTTL"] == 0 and cache["DefaultTTL"] == 0 and cache["MaxTTL"] >= shared_age
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}  # no Authorization: one copy for every shopper
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "whitelist", "QueryStrings": ["limit"]}


def test_the_best_sellers_route_is_public_and_served_by_the_search_function(expanded: dict[str, Any]) -> None:
    body = expanded["Resources"]["RestAPI"]["Properties"]["Body"]
    operation = body["paths"]["/products/best-sellers"]["get"]
    assert operation["security"] == [{"api_key": []}]  # CloudFront's key; no authorizer
    searched = body["paths"]["/products"]["get"]["x-amazon-apigateway-integration"]["uri"]
    assert operation["x-amazon-apigateway-integration"]["uri"] == searched
