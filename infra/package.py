"""Build one stage, offline, into build/<stage>/: ONE template, the zip and the search layer.

    make package STAGE=dev      # python -m infra.package --stage dev

``chalice package`` does the heavy lifting: it builds the deployment zip
(Linux wheels included) and a SAM template with the API, its routes, the
authorizer and the stream handler. Its ``--merge-template`` option deep-merges
a document into that template (dicts recursively, the document's value wins,
lists replaced whole); this module writes that document from
infra/template.yaml and infra/functions.py, so that the result holds:

- the stage's resources (table, user pool and client, admin group, topics,
  failed-records queue, search index bucket, SPA bucket and CloudFront, alarm
  topic);
- six functions, one per blueprint of chalicelib/api/: Chalice's API function
  serves the search routes, and two more functions take over the purchase and
  admin routes (their integrations in the API definition point at them); the
  order events and indexer functions read the table's stream;
- a role per function with exactly the grants of infra/functions.py, on the
  stage's resources by reference; a log group with retention; alarms on its
  errors, throttles and p99 duration, bound to it by reference;
- the stream handlers' event source mappings on the table's stream (by
  reference), with bisection, bounded retries and an on-failure queue;
- the search engine (tantivy, requirements-search.txt) as a Lambda layer,
  ``SearchEngineLayer``, attached to the functions that search or index
  (``search_engine`` in infra/functions.py) and to no other: the deployment
  zip does not carry it;
- API Gateway's own 4XX/5XX with CORS headers (infra/gateway-responses.json)
  inside the API definition, so every deployment of the API carries them;
- the site's security headers as the stage's own CloudFront response headers
  policy (``site_headers_policy``), on the site and on /api/*;
- every environment variable a ``Ref``/``GetAtt``/``Sub``: nothing is copied
  by hand.

The zip is then rewritten with compiled bytecode, and the layer built from the
locked wheel (pip download for Lambda's platform, cached in build/.cache/ so a
second build is offline), both by infra/bundle.py and bounded in size.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from chalicelib.orders.follow_ups import STREAM_POLICY
from chalicelib.platform.stream_records import StreamPolicy
from infra import monitoring
from infra.chalice_config import stage_environment
from infra.expand import lint_copy
from infra.functions import FUNCTIONS, RESOURCES, Function
from infra.gateway_responses import gateway_responses
from infra.template import ROOT, template

STAGES = ("dev", "prod")
BUILD = ROOT / "build"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
LOG_RETENTION_DAYS = {"dev": 30, "prod": 90}
PUSH_TO_LOGS = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
API_THROTTLE = {"dev": (20, 40), "prod": (200, 400)}  # requests per second, burst (docs/operations.md)
API_FUNCTION = "APIHandler"  # Chalice's name for the function behind the API
# Chalice's names for the stream handlers' mappings (on_dynamodb_record).
STREAM_EVENTS = {
    "HandleTableStream": "HandleTableStreamDynamodbEventSource",
    "IndexTableStream": "IndexTableStreamDynamodbEventSource",
}
CHALICE_FUNCTIONS = (API_FUNCTION, "JwtAuth", *STREAM_EVENTS)  # the functions Chalice's template has
SEARCH_LAYER = "SearchEngineLayer"
SEARCH_LAYER_ZIP = "search-layer.zip"
EXPANDED = "expanded.json"  # the SAM transform's result, before upload: what `make test` lints
SEARCH_REQUIREMENTS = ROOT / "requirements-search.txt"
WHEEL_PLATFORM = "manylinux2014_x86_64"  # the functions' architecture, x86_64
CACHE = BUILD / ".cache"
# The site's and the API's security headers at CloudFront: the stage's own
# response headers policy (CloudFront's managed SecurityHeadersPolicy sends
# X-Frame-Options SAMEORIGIN and the deprecated X-XSS-Protection).
SITE_HEADERS_POLICY = "SiteHeadersPolicy"
HSTS_MAX_AGE_S = 31_536_000  # a year, as the managed policy


# -- the merge document --------------------------------------------------------
def intrinsic(value: Any) -> Any:
    """infra/template.yaml's short forms (``!Sub``...) as JSON intrinsics."""
    if isinstance(value, list):
        return [intrinsic(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((name, arg),) = value.items()
        if name == "GetAtt" and isinstance(arg, str):
            return {"Fn::GetAtt": arg.split(".", 1)}
        if name in {"Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split", "FindInMap"}:
            return {f"Fn::{name}": intrinsic(arg)}
    return {k: intrinsic(v) for k, v in value.items()}


def function_name(function: Function) -> dict[str, str]:
    return {"Fn::Sub": f"${{AWS::StackName}}-{function.key}"}


def _log_group_arn(function: Function) -> dict[str, str]:
    return {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"
        f"${{AWS::StackName}}-{function.key}:*"
    }


def policy_statements(function: Function) -> list[dict[str, Any]]:
    """Logs of its own log group, then its grants, one statement per resource set."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": _log_group_arn(function),
        }
    ]
    merged: dict[tuple[str, ...], set[str]] = {}
    for grant in (*function.code, *function.platform):
        merged.setdefault(grant.resources, set()).update(grant.actions)
    for resources, actions in merged.items():
        statements.append(
            {
                "Sid": "".join(r.title().replace("-", "") for r in resources),
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": [RESOURCES[r] for r in resources],
            }
        )
    return statements


def role_id(function: Function) -> str:
    """Chalice names its roles after the function (APIHandler -> ApiHandlerRole)."""
    chalice_roles = {
        "APIHandler": "ApiHandlerRole",
        "JwtAuth": "JwtAuthRole",
        "HandleTableStream": "HandleTableStreamRole",
    }
    return chalice_roles.get(function.logical_id, f"{function.logical_id}Role")


def role(function: Function) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": {"Fn::Sub": f"The {function.key} function of ${{AWS::StackName}}: only what its code calls"},
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [
                {
                    "PolicyName": f"{function.key}-least-privilege",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": policy_statements(function)},
                }
            ],
        },
    }


def concurrency_parameter(function: Function) -> str:
    return f"{function.key.title().replace('-', '')}ReservedConcurrency"


def environment(stage: str, stage_env: dict[str, str]) -> dict[str, Any]:
    """Every function's environment: the stage's settings, its resources by reference."""
    env: dict[str, Any] = {
        "STAGE": stage,
        "TABLE_NAME": {"Ref": "ShopTable"},
        "TABLE_STREAM_ARN": {"Fn::GetAtt": ["ShopTable", "StreamArn"]},
        "LOW_STOCK_TOPIC_ARN": {"Ref": "LowStockTopic"},
        "FAILED_RECORDS_QUEUE_URL": {"Ref": "FailedRecordsQueue"},
        "SEARCH_INDEX_BUCKET": {"Ref": "SearchIndexBucket"},
        "NOTIFY_FROM": {"Ref": "NotifyFrom"},
        "CORS_ALLOW_ORIGIN": cors_origin(stage),
    }
    if stage_env.get("AUTH_PROVIDER", "cognito") == "cognito":
        env.update(
            AUTH_PROVIDER="cognito",
            COGNITO_USER_POOL_ID={"Ref": "UserPool"},
            COGNITO_CLIENT_ID={"Ref": "SpaClient"},
        )
    return env


def function_properties(function: Function, stage: str, stage_env: dict[str, str]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "FunctionName": function_name(function),
        "Handler": function.handler,
        "MemorySize": function.memory_mb,
        "Timeout": function.timeout_s,
        "Role": {"Fn::GetAtt": [role_id(function), "Arn"]},
        "Environment": {"Variables": environment(stage, stage_env)},
        "Tracing": "Active",
    }
    if function.search_engine:
        properties["Layers"] = [{"Ref": SEARCH_LAYER}]
    # None reserved unless a parameter asks: a default account's quota refuses
    # reservations that leave under 100 unreserved.
    properties["ReservedConcurrentExecutions"] = {"Ref": "AWS::NoValue"}
    if function.reserved_concurrency:
        parameter = concurrency_parameter(function)
        properties["ReservedConcurrentExecutions"] = {
            "Fn::If": [f"{parameter}Set", {"Ref": parameter}, {"Ref": "AWS::NoValue"}]
        }
    return properties


def new_function(function: Function, properties: dict[str, Any]) -> dict[str, Any]:
    """An API function Chalice does not create: same zip and runtime as its own."""
    return {
        "Type": "AWS::Serverless::Function",
        "DependsOn": [f"{function.logical_id}LogGroup"],
        "Properties": {
            "Runtime": RUNTIME,
            "CodeUri": "./deployment.zip",
            "Architectures": ["x86_64"],
            **properties,
        },
    }


def invoke_permission(function: Function) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Ref": function.logical_id},
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestAPI}/*"},
        },
    }


def log_group(function: Function, stage: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{function.key}"},
            "RetentionInDays": LOG_RETENTION_DAYS[stage],
        },
    }


def routes(function: Function) -> dict[str, list[str]]:
    """Path -> methods that ``function`` serves, read from its blueprint."""
    from app import app  # every blueprint, registered once (see chalicelib/api/__init__.py)

    served: dict[str, list[str]] = {}
    for path, entries in app.routes.items():
        for method, entry in entries.items():
            if entry.view_function.__module__ == function.blueprint:
                served.setdefault(path, []).append(method)
    return {path: sorted(methods) for path, methods in served.items()}


def api_definition(stage: str) -> dict[str, Any]:
    """Overrides of Chalice's API definition: who serves which route, the gateway's own errors."""
    paths: dict[str, Any] = {}
    for function in FUNCTIONS:
        for path, methods in routes(function).items():
            for method in methods:
                uri = {
                    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                    f"${{{function.logical_id}.Arn}}/invocations"
                }
                paths.setdefault(path, {})[method.lower()] = {"x-amazon-apigateway-integration": {"uri": uri}}
    responses = copy.deepcopy(gateway_responses())
    if not cors_origin(stage):
        for response in responses.values():
            response["responseParameters"] = {
                k: v for k, v in response["responseParameters"].items() if "Access-Control-" not in k
            }
    return {"paths": paths, "x-amazon-apigateway-gateway-responses": responses}


def rest_api(stage: str) -> dict[str, Any]:
    """Chalice's API, named after the stack, traced, logged and throttled per stage."""
    return {
        "DependsOn": ["ApiGatewayAccount"],
        "Properties": {
            "Name": {"Ref": "AWS::StackName"},
            # Without it SAM's deployment also creates a stage named "Stage":
            # unthrottled, unlogged, untraced, yet allowed to invoke every function.
            "OpenApiVersion": "3.0.1",
            "DefinitionBody": api_definition(stage),
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
            },
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
                    "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
                }
            ],
        },
    }


# One JSON line per request; the caller is the authorizer's principal (a user
# id), never the token.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "time": "$context.requestTimeEpoch",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "principal": "$context.authorizer.principalId",
    "error": "$context.error.responseType",
    "bytes": "$context.responseLength",
}


def api_logging(stage: str) -> dict[str, Any]:
    """The API's access log group, and the account setting API Gateway logs with.

    API Gateway writes access logs through one role per account and region
    (its "account" setting). It is set here; the role is kept when the stage
    is destroyed, since other APIs of the account may use it.
    """
    return {
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}"},
                "RetentionInDays": LOG_RETENTION_DAYS[stage],
            },
        },
        "ApiGatewayLoggingRole": {
            "Type": "AWS::IAM::Role",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [{"Fn::Sub": f"arn:${{AWS::Partition}}:iam::aws:policy/{PUSH_TO_LOGS}"}],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]}},
        },
    }


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


# Beyond the policy: the indexer publishes one index version per batch, so it
# waits a second for fuller batches, one at a time per shard.
INDEXER_BATCHING: Final = {"MaximumBatchingWindowInSeconds": 1, "ParallelizationFactor": 1}


def stream_policies() -> dict[str, tuple[StreamPolicy, dict[str, int]]]:
    """Each stream handler's delivery policy (the app's, which the local pump follows too) and extras."""
    from chalicelib.search.indexing import INDEX_STREAM_POLICY  # imports tantivy: only when building

    return {"HandleTableStream": (STREAM_POLICY, {}), "IndexTableStream": (INDEX_STREAM_POLICY, INDEXER_BATCHING)}


def stream_event(policy: StreamPolicy = STREAM_POLICY, extra: dict[str, int] | None = None) -> dict[str, Any]:
    """An event source mapping: by reference, and unable to jam (docs/order-events.md)."""
    properties: dict[str, Any] = {
        "Stream": {"Fn::GetAtt": ["ShopTable", "StreamArn"]},
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": policy.batch_size,
        "BisectBatchOnFunctionError": policy.bisect_batch_on_function_error,
        "MaximumRetryAttempts": policy.maximum_retry_attempts,
        "MaximumRecordAgeInSeconds": policy.maximum_record_age_s,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["FailedRecordsQueue", "Arn"]}}},
        **(extra or {}),
    }
    if policy.report_batch_item_failures:
        properties["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    return {"Type": "DynamoDB", "Properties": properties}


def search_layer() -> dict[str, Any]:
    """The search engine (tantivy), for the functions that search or index."""
    return {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "LayerName": {"Fn::Sub": "${AWS::StackName}-search-engine"},
            "Description": "tantivy (requirements-search.txt), for the search and indexer functions",
            "ContentUri": f"./{SEARCH_LAYER_ZIP}",
            "CompatibleRuntimes": [RUNTIME],
            "CompatibleArchitectures": ["x86_64"],
            "LicenseInfo": "MIT",
            "RetentionPolicy": "Delete",
        },
    }


def parameters_and_conditions(infra: dict[str, Any], stage: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parameters = dict(infra["Parameters"])
    parameters["Stage"] = {**parameters["Stage"], "Default": stage}
    parameters["NotifyFrom"] = {
        "Type": "String",
        "Default": "",
        "Description": "The SES-verified sender of order confirmations; empty sends none",
    }
    rate, burst = API_THROTTLE[stage]
    parameters["ApiRateLimit"] = {
        "Type": "Number",
        "Default": rate,
        "MinValue": 1,
        "Description": "Requests per second the API's stage accepts (steady rate) before answering 429",
    }
    parameters["ApiBurstLimit"] = {
        "Type": "Number",
        "Default": burst,
        "MinValue": 1,
        "Description": "Requests the API's stage accepts at once (burst) before answering 429",
    }
    parameters["WafRateLimit"] = {
        "Type": "Number",
        "Default": 0,
        "MinValue": 0,
        "Description": "Requests per 5 minutes one address may make before WAF blocks it (e.g. 2000); 0: no WAF. "
        "CloudFront's WAF exists in us-east-1 only: elsewhere this has no effect",
    }
    conditions = dict(infra["Conditions"])
    conditions["HasWaf"] = {
        "Fn::And": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "WafRateLimit"}, "0"]}]},
            {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
        ]
    }
    for function in FUNCTIONS:
        if function.reserved_concurrency:
            name = concurrency_parameter(function)
            parameters[name] = {
                "Type": "Number",
                "Default": 0,
                "MinValue": 0,
                "Description": f"Concurrency reserved for the {function.key} function; 0 reserves none "
                "(the account's unreserved pool must keep at least 100)",
            }
            conditions[f"{name}Set"] = {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, "0"]}]}
    return parameters, conditions


def merge_document(stage: str, stage_env: dict[str, str]) -> dict[str, Any]:
    """What ``chalice package --merge-template`` merges into Chalice's template."""
    infra = intrinsic(template())
    parameters, conditions = parameters_and_conditions(infra, stage)
    resources: dict[str, Any] = dict(infra["Resources"])
    for function in FUNCTIONS:
        properties = function_properties(function, stage, stage_env)
        resources[role_id(function)] = role(function)
        resources[f"{function.logical_id}LogGroup"] = log_group(function, stage)
        if function.logical_id in CHALICE_FUNCTIONS:
            resources[function.logical_id] = {
                "DependsOn": [f"{function.logical_id}LogGroup"],
                "Properties": properties,
            }
        else:
            resources[function.logical_id] = new_function(function, properties)
            resources[f"{function.logical_id}InvokePermission"] = invoke_permission(function)
    policies = stream_policies()
    for logical_id, event in STREAM_EVENTS.items():
        resources[logical_id]["Properties"]["Events"] = {event: stream_event(*policies[logical_id])}
    resources[SEARCH_LAYER] = search_layer()
    resources["RestAPI"] = rest_api(stage)
    resources.update(api_logging(stage))
    resources.update(monitoring.resources())
    resources.update(edge(resources["SiteDistribution"]))
    outputs = dict(infra["Outputs"])
    outputs["ApiUrl"] = {
        "Description": "The API's base URL (the SPA's api_url)",
        "Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"},
    }
    outputs["SearchEngineLayerArn"] = {
        "Description": "The search engine layer's version (make chalice-config gives it to `chalice deploy`)",
        "Value": {"Ref": SEARCH_LAYER},
    }
    return {
        "Description": infra["Description"],
        "Parameters": parameters,
        "Conditions": conditions,
        "Resources": resources,
        "Outputs": outputs,
    }


# -- the search engine layer ----------------------------------------------------
@dataclass(frozen=True)
class Pin:
    """One requirement of a hashed lock: name==version and the hashes of its files."""

    name: str
    version: str
    hashes: frozenset[str]


def locked(requirements: Path) -> list[Pin]:
    """The pins of a lock written by pip-compile --generate-hashes (``make lock``)."""
    pins = []
    for block in re.split(r"\n(?=\S)", requirements.read_text()):  # a pin and its indented hashes
        if pin := re.match(r"([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s;\\]+)", block):
            pins.append(Pin(pin[1], pin[2], frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))))
    unhashed = [p.name for p in pins if not p.hashes]
    if unhashed:
        raise SystemExit(f"{requirements.name} pins {', '.join(unhashed)} without hashes: run `make lock`")
    return pins


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _wheel_of(filename: str) -> tuple[str, str]:
    """(distribution, version) of a wheel's file name: name-version[-build]-python-abi-platform.whl."""
    name, version, *_ = [*filename.split("-"), "", ""]
    return _normalised(name), version


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cached_wheels(cache: Path, pins: list[Pin]) -> list[Path] | None:
    """A wheel of every pin, with a hash the lock names, from ``cache``; None if one is missing."""
    found = []
    for pin in pins:
        wheels = [w for w in sorted(cache.glob("*.whl")) if _wheel_of(w.name) == (_normalised(pin.name), pin.version)]
        matching = [w for w in wheels if _sha256(w) in pin.hashes]
        if not matching:
            return None
        found.append(matching[0])
    return found


def pip_download(requirements: Path, into: Path) -> None:
    """The locked wheels for the functions' platform (Lambda's Linux, x86_64, this runtime)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--platform",
        WHEEL_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        RUNTIME.removeprefix("python"),
        "--require-hashes",
        "--no-deps",
        "-r",
        str(requirements),
        "-d",
        str(into),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own pip)
    if result.returncode:
        raise SystemExit(
            f"could not download the search engine's wheels ({requirements.name}) for {WHEEL_PLATFORM}: "
            f"{(result.stderr or result.stdout).strip()}\n(a first build needs the package index; "
            f"later builds use {CACHE.relative_to(ROOT) if CACHE.is_relative_to(ROOT) else CACHE}/)"
        )


def search_engine_wheels(
    requirements: Path = SEARCH_REQUIREMENTS,
    cache: Path | None = None,
    download: Callable[[Path, Path], None] = pip_download,
) -> list[Path]:
    """The locked search engine wheels, from the cache, downloaded into it the first time."""
    cache = cache or CACHE / "search-layer" / f"{WHEEL_PLATFORM}-{RUNTIME}"
    pins = locked(requirements)
    if not pins:
        raise SystemExit(f"{requirements.name} pins nothing: run `make lock`")
    wheels = cached_wheels(cache, pins)
    if wheels is None:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache.parent) as tmp:
            download(requirements, Path(tmp))
            for wheel in Path(tmp).glob("*.whl"):
                os.replace(wheel, cache / wheel.name)
        wheels = cached_wheels(cache, pins)
        if wheels is None:
            raise SystemExit(f"pip downloaded no wheel of {requirements.name} with a hash it names")
    return wheels


def build_search_layer(out: Path, requirements: Path = SEARCH_REQUIREMENTS) -> str:
    """Write build/<stage>/search-layer.zip; returns the line that reports it."""
    from infra.bundle import bundle_layer

    wheels = search_engine_wheels(requirements)
    report = bundle_layer(wheels, out / SEARCH_LAYER_ZIP, runtime=RUNTIME)
    carried = ", ".join(f"{p.name} {p.version}" for p in locked(requirements))
    where = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    size_mb = report.size_bytes / 1e6
    return f"{where}/{SEARCH_LAYER_ZIP}: {size_mb:.1f} MB ({carried}), {report.compiled} modules compiled"


# -- the build -------------------------------------------------------------------
def cors_origin(stage: str) -> str:
    """Which other origins may call the packaged stage's API: "*" or none.

    The shop calls its API on its own origin (CloudFront's /api/*), so it
    needs no CORS; a stage whose settings let any origin in (dev: a SPA on a
    laptop; bearer tokens, not cookies, carry the session) keeps that. Any
    other value in .chalice/config.json (prod's site, for `chalice deploy`)
    is the shop's own origin here: none.
    """
    return "*" if stage_environment(stage).get("CORS_ALLOW_ORIGIN") == "*" else ""


def build_region() -> str:
    """The region the build names (the template itself is region-free: ``${AWS::Region}``)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def run_chalice_package(stage: str, merge_file: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    env = {**os.environ, "AWS_DEFAULT_REGION": build_region()}
    env.pop("TABLE_STREAM_ARN", None)  # the template wires the stream by reference
    chalice = Path(sys.executable).parent / "chalice"
    command = [str(chalice), "package", "--stage", stage, "--merge-template", str(merge_file), str(out)]
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603 (our own venv's chalice)


def build(stage: str, out: Path | None = None) -> Path:
    """Write build/<stage>/template.json, deployment.zip and search-layer.zip; returns the folder."""
    from infra.bundle import bundle

    out = out or BUILD / stage
    out.mkdir(parents=True, exist_ok=True)
    merge_file = out / "merge.json"
    merge_file.write_text(json.dumps(merge_document(stage, stage_environment(stage)), indent=2) + "\n")
    print(f"chalice package --stage {stage} --merge-template {merge_file.relative_to(ROOT)}", flush=True)
    run_chalice_package(stage, merge_file, out / "chalice")
    built = without_preflights(json.loads((out / "chalice" / "sam.json").read_text()), stage)
    (out / "template.json").write_text(json.dumps(built, indent=2, sort_keys=True) + "\n")
    expanded = lint_copy(built, region=build_region())
    (out / EXPANDED).write_text(json.dumps(expanded, indent=2, sort_keys=True) + "\n")
    report = bundle(out / "chalice" / "deployment.zip", out / "deployment.zip")
    print(
        f"{out.relative_to(ROOT)}/template.json: {len(built['Resources'])} resources; "
        f"expanded by the SAM transform ({EXPANDED}): {len(expanded['Resources'])}"
    )
    size_mb = report.size_bytes / 1e6
    print(f"{out.relative_to(ROOT)}/deployment.zip: {size_mb:.1f} MB, {report.compiled} modules compiled")
    print(build_search_layer(out), flush=True)
    return out


def without_preflights(built: dict[str, Any], stage: str) -> dict[str, Any]:
    """A stage that answers no other origin has no CORS preflight routes.

    Chalice writes them from the CORS settings of the stage's configuration
    (which `chalice deploy` uses); a merge can only add, so they go here.
    """
    if not cors_origin(stage):
        for methods in built["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"].values():
            methods.pop("options", None)
    return built


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build a stage's template and zip offline into build/<stage>/.")
    parser.add_argument("--stage", required=True, choices=STAGES)
    args = parser.parse_args(argv)
    from infra.bundle import BundleError

    try:
        build(args.stage)
    except BundleError as exc:
        raise SystemExit(f"package: {exc}") from exc


if __name__ == "__main__":
    main()
