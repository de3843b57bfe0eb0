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
CACHING_OPTIMIZED: Final = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # managed: honours Cache-Control, long TTLs
# CloudFront's policies and access controls are named per account, not per
# region: the same stage in two regions must not clash.
GLOBAL_NAME: Final = "${AWS::StackName}-${AWS::Region}"
# The API key CloudFront adds to every request it sends the API (origin_key).
ORIGIN_KEY_HEADER: Final = "x-api-key"
ORIGIN_KEY_SECRET: Final = "OriginKeySecret"  # noqa: S105 (a logical id; the value is generated in the stack)
ORIGIN_KEY_VALUE: Final = {"Fn::Sub": f"{{{{resolve:secretsmanager:${{{ORIGIN_KEY_SECRET}}}}}}}"}
# The front page's best sellers: the same answer for everyone, kept at the edge
# as long as the API's Cache-Control says (chalicelib/api/responses.py,
# BEST_SELLERS_CACHE), keyed by `limit` alone: no token, no cookie.
BEST_SELLERS_PATH: Final = f"{monitoring.API_STAGE}/products/best-sellers"
BEST_SELLERS_MAX_TTL_S: Final = 600


def edge(site_distribution: dict[str, Any]) -> dict[str, Any]:
    """The API on the shop's own origin: CloudFront sends /api/* to API Gateway.

    Catalog reads are cached as briefly as their Cache-Control says (no
    header: not cached); the token is part of the cache key, so a signed-in
    answer is never served to anyone else (and private answers say no-store).
    The best sellers, public and the same for everyone, have a behaviour of
    their own whose key is `limit` alone, so every shopper shares one copy.
    An optional WAF rate rule guards it (CloudFront's WAF lives in us-east-1).
    CloudFront proves itself to the API with the origin key (``origin_key``).
    """
    distribution = copy.deepcopy(site_distribution)
    config = distribution["Properties"]["DistributionConfig"]
    config["Origins"].append(
        {
            "Id": "api",
            "DomainName": {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
            "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]},
            # Replaces any x-api-key a viewer sends.
            "OriginCustomHeaders": [{"HeaderName": ORIGIN_KEY_HEADER, "HeaderValue": ORIGIN_KEY_VALUE}],
        }
    )
    config["Origins"].append(
        {
            "Id": "photos",
            "DomainName": {"Fn::GetAtt": ["RenditionsBucket", "RegionalDomainName"]},
            "OriginAccessControlId": {"Fn::GetAtt": ["SiteOriginAccess", "Id"]},
            "S3OriginConfig": {"OriginAccessIdentity": ""},
        }
    )
    config["CacheBehaviors"] = [
        {
            # Photos' renditions: the path is the key (img/<content id>/...); immutable, cached for good.
            "PathPattern": "img/*",
            "TargetOriginId": "photos",
            "ViewerProtocolPolicy": "https-only",
            "AllowedMethods": ["GET", "HEAD"],
            "CachedMethods": ["GET", "HEAD"],
            "Compress": False,  # WebP and JPEG are compressed already
            "CachePolicyId": CACHING_OPTIMIZED,
            "ResponseHeadersPolicyId": {"Ref": SITE_HEADERS_POLICY},
        },
        {
            # Before the API's own behaviour: CloudFront takes the first pattern that matches.
            "PathPattern": BEST_SELLERS_PATH,
            "TargetOriginId": "api",
            "ViewerProtocolPolicy": "https-only",
            "AllowedMethods": ["GET", "HEAD"],
            "CachedMethods": ["GET", "HEAD"],
            "Compress": True,
            # No origin request policy: the API gets only what the key holds
            # (`limit`), so no other parameter can make the answer kept for it differ.
            "CachePolicyId": {"Ref": "BestSellersCachePolicy"},
            "ResponseHeadersPolicyId": {"Ref": SITE_HEADERS_POLICY},
        },
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
        },
    ]
    config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = {"Ref": SITE_HEADERS_POLICY}
    config["WebACLId"] = {"Fn::If": ["HasWaf", {"Fn::GetAtt": ["WebAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]}
    return {
        "SiteDistribution": distribution,
        SITE_HEADERS_POLICY: site_headers_policy(),
        **origin_key(),
        "ApiCachePolicy": {
            "Type": "AWS::CloudFront::CachePolicy",
            "Properties": {
                "CachePolicyConfig": {
                    "Name": {"Fn::Sub": f"{GLOBAL_NAME}-api"},
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
        "BestSellersCachePolicy": {
            "Type": "AWS::CloudFront::CachePolicy",
            "Properties": {
                "CachePolicyConfig": {
                    "Name": {"Fn::Sub": f"{GLOBAL_NAME}-best-sellers"},
                    "Comment": "The best sellers: as long as the API's Cache-Control says, the same for everyone",
                    "MinTTL": 0,
                    "DefaultTTL": 0,  # no Cache-Control (an error): not kept
                    "MaxTTL": BEST_SELLERS_MAX_TTL_S,
                    "ParametersInCacheKeyAndForwardedToOrigin": {
                        "EnableAcceptEncodingGzip": True,
                        "EnableAcceptEncodingBrotli": True,
                        "HeadersConfig": {"HeaderBehavior": "none"},
                        "QueryStringsConfig": {"QueryStringBehavior": "whitelist", "QueryStrings": ["limit"]},
                        "CookiesConfig": {"CookieBehavior": "none"},
                    },
                }
            },
        },
        "ApiOriginRequestPolicy": {
            "Type": "AWS::CloudFront::OriginRequestPolicy",
            "Properties": {
                "OriginRequestPolicyConfig": {
                    "Name": {"Fn::Sub": f"{GLOBAL_NAME}-api"},
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


def origin_key() -> dict[str, Any]:
    """Only CloudFront may call the API: every method requires an API key that only CloudFront sends.

    The API's execute-api address is public; without this, a client could call
    it directly and skip the WAF, the edge's cache and its security headers.
    API Gateway refuses a request without the key itself (403, before the
    authorizer or any function runs), so the check costs no invocation and
    cannot be forgotten by a function. The key's value is
    generated by Secrets Manager in the stack and given, by dynamic
    reference, to the key and to CloudFront's origin header; it never leaves
    AWS. (A WAF on the API's stage could check a header too, at $5 a month
    and more per rule; a secret compared in every function would be off
    wherever its variable is missing.) `make package` marks every method as
    requiring the key (infra/rest_api.py, ``api_key_required``).
    """
    return {
        ORIGIN_KEY_SECRET: {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Description": {"Fn::Sub": "The key CloudFront sends to ${AWS::StackName}'s API (x-api-key)"},
                "GenerateSecretString": {"PasswordLength": 40, "ExcludePunctuation": True},
            },
        },
        "OriginApiKey": {
            "Type": "AWS::ApiGateway::ApiKey",
            "Properties": {
                "Description": "Sent by the shop's CloudFront only: direct calls to the API are refused",
                "Enabled": True,
                "Value": ORIGIN_KEY_VALUE,
            },
        },
        "OriginUsagePlan": {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Properties": {
                "Description": "The API's stage, for the key CloudFront sends (the stage throttles; no quota)",
                "ApiStages": [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}],
            },
        },
        "OriginUsagePlanKey": {
            "Type": "AWS::ApiGateway::UsagePlanKey",
            "Properties": {
                "KeyId": {"Ref": "OriginApiKey"},
                "KeyType": "API_KEY",
                "UsagePlanId": {"Ref": "OriginUsagePlan"},
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
                "Name": {"Fn::Sub": f"{GLOBAL_NAME}-security-headers"},
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
