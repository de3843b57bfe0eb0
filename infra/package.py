"""Build one stage, offline, into build/<stage>/: ONE template and the zip.

    make package STAGE=dev      # python -m infra.package --stage dev

``chalice package`` does the heavy lifting: it builds the deployment zip
(Linux wheels included) and a SAM template with the API, its routes, the
authorizer and the stream handler. Its ``--merge-template`` option deep-merges
a document into that template (dicts recursively, the document's value wins,
lists replaced whole); this module writes that document from
infra/template.yaml and infra/functions.py, so that the result holds:

- the stage's resources (table, user pool and client, admin group, topics,
  failed-records queue, SPA bucket and CloudFront, alarm topic);
- five functions, one per blueprint of chalicelib/api/: Chalice's API function
  serves the search routes, and two more functions take over the purchase and
  admin routes (their integrations in the API definition point at them);
- a role per function with exactly the grants of infra/functions.py, on the
  stage's resources by reference; a log group with retention; alarms on its
  errors, throttles and p99 duration, bound to it by reference;
- the stream handler's event source mapping on the table's stream (by
  reference), with bisection, bounded retries and an on-failure queue;
- API Gateway's own 4XX/5XX with CORS headers (infra/gateway-responses.json)
  inside the API definition, so every deployment of the API carries them;
- every environment variable a ``Ref``/``GetAtt``/``Sub``: nothing is copied
  by hand.

The zip is then rewritten with compiled bytecode (infra/bundle.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalicelib.events import STREAM_POLICY
from scripts.gateway import gateway_responses
from scripts.resources import ROOT, template

from . import monitoring
from .functions import FUNCTIONS, RESOURCES, Function

STAGES = ("dev", "prod")
BUILD = ROOT / "build"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
LOG_RETENTION_DAYS = {"dev": 30, "prod": 90}
PUSH_TO_LOGS = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
API_THROTTLE = {"dev": (20, 40), "prod": (200, 400)}  # requests per second, burst (docs/operations.md)
API_FUNCTION = "APIHandler"  # Chalice's name for the function behind the API
STREAM_EVENT = "HandleTableStreamDynamodbEventSource"  # Chalice's name for the stream mapping
# The shop calls its API on its own origin (CloudFront's /api/*), so it needs
# no CORS. Dev also lets any origin call it (a SPA on a laptop: bearer tokens,
# not cookies, carry the session); prod answers no other origin at all.
CORS_ORIGIN = {"dev": "*", "prod": ""}
# Managed CloudFront policy: the security headers (HSTS, nosniff, frame options...).
SECURITY_HEADERS_POLICY = "67f7725c-6f97-4210-82d7-5512b31e9d03"


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
        "NOTIFY_FROM": {"Ref": "NotifyFrom"},
        "CORS_ALLOW_ORIGIN": CORS_ORIGIN[stage],
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
    if not CORS_ORIGIN[stage]:
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
            "ResponseHeadersPolicyId": SECURITY_HEADERS_POLICY,
        }
    ]
    config["WebACLId"] = {"Fn::If": ["HasWaf", {"Fn::GetAtt": ["WebAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]}
    return {
        "SiteDistribution": distribution,
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
                        "Headers": ["Accept", "Content-Type", "Idempotency-Key"],
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


def _waf_visibility(name: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": {"Fn::Sub": name}}


def stream_event() -> dict[str, Any]:
    """The event source mapping: by reference, and unable to jam (docs/order-events.md)."""
    policy = STREAM_POLICY
    return {
        "Type": "DynamoDB",
        "Properties": {
            "Stream": {"Fn::GetAtt": ["ShopTable", "StreamArn"]},
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": policy.batch_size,
            "BisectBatchOnFunctionError": policy.bisect_batch_on_function_error,
            "MaximumRetryAttempts": policy.maximum_retry_attempts,
            "MaximumRecordAgeInSeconds": policy.maximum_record_age_s,
            "FunctionResponseTypes": ["ReportBatchItemFailures"] if policy.report_batch_item_failures else [],
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["FailedRecordsQueue", "Arn"]}}},
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
        if function.logical_id in (API_FUNCTION, "JwtAuth", "HandleTableStream"):
            resources[function.logical_id] = {
                "DependsOn": [f"{function.logical_id}LogGroup"],
                "Properties": properties,
            }
        else:
            resources[function.logical_id] = new_function(function, properties)
            resources[f"{function.logical_id}InvokePermission"] = invoke_permission(function)
    resources["HandleTableStream"]["Properties"]["Events"] = {STREAM_EVENT: stream_event()}
    resources["RestAPI"] = rest_api(stage)
    resources.update(api_logging(stage))
    resources.update(monitoring.resources())
    resources.update(edge(resources["SiteDistribution"]))
    outputs = dict(infra["Outputs"])
    outputs["ApiUrl"] = {
        "Description": "The API's base URL (the SPA's api_url)",
        "Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"},
    }
    return {
        "Description": infra["Description"],
        "Parameters": parameters,
        "Conditions": conditions,
        "Resources": resources,
        "Outputs": outputs,
    }


# -- the build -------------------------------------------------------------------
def stage_environment(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    if stage not in config["stages"]:
        raise SystemExit(f"no stage {stage!r} in .chalice/config.json")
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def run_chalice_package(stage: str, merge_file: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    env.pop("TABLE_STREAM_ARN", None)  # the template wires the stream by reference
    chalice = Path(sys.executable).parent / "chalice"
    command = [str(chalice), "package", "--stage", stage, "--merge-template", str(merge_file), str(out)]
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603 (our own venv's chalice)


def build(stage: str, out: Path | None = None) -> Path:
    """Write build/<stage>/template.json and deployment.zip; returns the folder."""
    from .bundle import bundle

    out = out or BUILD / stage
    out.mkdir(parents=True, exist_ok=True)
    merge_file = out / "merge.json"
    merge_file.write_text(json.dumps(merge_document(stage, stage_environment(stage)), indent=2) + "\n")
    print(f"chalice package --stage {stage} --merge-template {merge_file.relative_to(ROOT)}", flush=True)
    run_chalice_package(stage, merge_file, out / "chalice")
    built = without_preflights(json.loads((out / "chalice" / "sam.json").read_text()), stage)
    (out / "template.json").write_text(json.dumps(built, indent=2, sort_keys=True) + "\n")
    report = bundle(out / "chalice" / "deployment.zip", out / "deployment.zip")
    print(f"{out.relative_to(ROOT)}/template.json: {len(built['Resources'])} resources")
    size_mb = report.size_bytes / 1e6
    print(f"{out.relative_to(ROOT)}/deployment.zip: {size_mb:.1f} MB, {report.compiled} modules compiled")
    return out


def without_preflights(built: dict[str, Any], stage: str) -> dict[str, Any]:
    """A stage that answers no other origin has no CORS preflight routes.

    Chalice writes them from the CORS settings of the stage's configuration
    (which `chalice deploy` uses); a merge can only add, so they go here.
    """
    if not CORS_ORIGIN[stage]:
        for methods in built["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"].values():
            methods.pop("options", None)
    return built


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build a stage's template and zip offline into build/<stage>/.")
    parser.add_argument("--stage", required=True, choices=STAGES)
    args = parser.parse_args(argv)
    build(args.stage)


if __name__ == "__main__":
    main()
