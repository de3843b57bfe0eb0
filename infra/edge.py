"""The stage's edge: one CloudFront distribution for the site and the API, its headers and WAF.

The shop and its API share one origin: CloudFront serves the SPA from the
site bucket and sends /api/* to API Gateway, so the browser needs no CORS.
infra/package.py merges these resources into the stage's template.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from infra import monitoring

# The site's and the API's security headers at CloudFront: the stage's own
# response headers policy (CloudFront's managed SecurityHeadersPolicy sends
# X-Frame-Options SAMEORIGIN and the deprecated X-XSS-Protection).
SITE_HEADERS_POLICY: Final = "SiteHeadersPolicy"
HSTS_MAX_AGE_S: Final = 31_536_000  # a year, as the managed policy


def edge(site_distribution: dict[str, Any]) -> dict[str, Any]:
    """The API on the shop's own origin: CloudFront sends /api/* to API Gateway.

    Catalog reads are cached as briefly as their Cache-Control says (no
    header: not cached); the token is part of the cache key, so a signed-in
    answer is never served to anyone else (and private answers say no-store).
    An optional WAF rate rule guards it (CloudFront's WAF lives in us-east-1).
    """
    distribution = copy.deepcopy(site_distribution)
    config = distribution["Properties"]["DistributionConfig"]
    config["Origins"].append(
        {
            "Id": "api",
            "DomainName": {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
            "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]},
        }
    )
    config["CacheBehaviors"] = [
        {
            "PathPattern": f"{monitoring.API_STAGE}/*",  # the API's stage is its path: /api/products
            "TargetOriginId": "api",
            "ViewerProtocolPolicy": "https-only",
            "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
            "CachedMethods": ["GET", "HEAD"],
            "Compress": True,
            "CachePolicyId": {"Ref": "ApiCachePolicy"},
            "OriginRequestPolicyId": {"Ref": "ApiOriginRequestPolicy"},
            "ResponseHeadersPolicyId": {"Ref": SITE_HEADERS_POLICY},
        }
    ]
    config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = {"Ref": SITE_HEADERS_POLICY}
    config["WebACLId"] = {"Fn::If": ["HasWaf", {"Fn::GetAtt": ["WebAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]}
    return {
        "SiteDistribution": distribution,
        SITE_HEADERS_POLICY: site_headers_policy(),
        "ApiCachePolicy": {
            "Type": "AWS::CloudFront::CachePolicy",
            "Properties": {
                "CachePolicyConfig": {
                    "Name": {"Fn::Sub": "${AWS::StackName}-api"},
                    "Comment": "Honours the API's Cache-Control; the token is part of the key",
                    "MinTTL": 0,
                    "DefaultTTL": 0,
                    "MaxTTL": 300,
                    "ParametersInCacheKeyAndForwardedToOrigin": {
                        "EnableAcceptEncodingGzip": True,
                        "EnableAcceptEncodingBrotli": True,
                        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]},
                        "QueryStringsConfig": {"QueryStringBehavior": "all"},
                        "CookiesConfig": {"CookieBehavior": "none"},
                    },
                }
            },
        },
        "ApiOriginRequestPolicy": {
            "Type": "AWS::CloudFront::OriginRequestPolicy",
            "Properties": {
                "OriginRequestPolicyConfig": {
                    "Name": {"Fn::Sub": "${AWS::StackName}-api"},
                    "Comment": "What the API reads besides the token: body type, idempotency key",
                    "HeadersConfig": {
                        "HeaderBehavior": "whitelist",
                        "Headers": ["Accept", "Content-Type", "Idempotency-Key", "If-Match"],
                    },
                    "QueryStringsConfig": {"QueryStringBehavior": "all"},
                    "CookiesConfig": {"CookieBehavior": "none"},
                }
            },
        },
        "WebAcl": {
            "Type": "AWS::WAFv2::WebACL",
            "Condition": "HasWaf",
            "Properties": {
                "Scope": "CLOUDFRONT",
                "DefaultAction": {"Allow": {}},
                "VisibilityConfig": _waf_visibility("${AWS::StackName}"),
                "Rules": [
                    {
                        "Name": "requests-per-address",
                        "Priority": 0,
                        "Action": {"Block": {}},
                        "Statement": {
                            "RateBasedStatement": {"Limit": {"Ref": "WafRateLimit"}, "AggregateKeyType": "IP"}
                        },
                        "VisibilityConfig": _waf_visibility("${AWS::StackName}-rate"),
                    }
                ],
            },
        },
    }


def site_headers_policy() -> dict[str, Any]:
    """The security headers CloudFront adds to every answer, the site's and the API's.

    HSTS, nosniff and the referrer policy as CloudFront's managed
    SecurityHeadersPolicy sends them; ``X-Frame-Options: DENY`` (not
    SAMEORIGIN) and a CSP header of ``frame-ancestors 'none'``, which the
    page's meta tag cannot carry (its other directives are in the tag,
    written at publish with the stage's origins: infra/publish_spa.py); no
    ``X-XSS-Protection``, which browsers no longer honour. `make run`'s SPA
    server sends the same (localdev/local_stack.py, ``site_headers``).
    """
    return {
        "Type": "AWS::CloudFront::ResponseHeadersPolicy",
        "Properties": {
            "ResponseHeadersPolicyConfig": {
                "Name": {"Fn::Sub": "${AWS::StackName}-security-headers"},
                "Comment": "HSTS, nosniff, strict referrer, no framing (X-Frame-Options DENY, frame-ancestors)",
                "SecurityHeadersConfig": {
                    "StrictTransportSecurity": {"AccessControlMaxAgeSec": HSTS_MAX_AGE_S, "Override": True},
                    "ContentTypeOptions": {"Override": True},
                    "FrameOptions": {"FrameOption": "DENY", "Override": True},
                    "ReferrerPolicy": {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": True},
                    "ContentSecurityPolicy": {"ContentSecurityPolicy": "frame-ancestors 'none'", "Override": True},
                },
            }
        },
    }


def _waf_visibility(name: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": {"Fn::Sub": name}}
