"""The stage's REST API: which function serves which route, its stage's logs, throttling and CORS.

Chalice writes the API definition from the app's routes; these overrides point
each route's integration at the function of its blueprint, add API Gateway's
own 4XX/5XX (infra/gateway-responses.json) and set the one stage's tracing,
access log and throttling. infra/package.py merges them into the template.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Final

from infra.chalice_config import stage_environment
from infra.functions import FUNCTIONS, Function
from infra.gateway_responses import gateway_responses

LOG_RETENTION_DAYS: Final = {"dev": 30, "prod": 90}
API_KEY_SCHEME: Final = "api_key"  # API Gateway's name for the x-api-key requirement


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
        "Properties": {
            "Name": {"Ref": "AWS::StackName"},
            # Behind the shop's own CloudFront: an edge-optimized API would put a
            # second CloudFront, which the shop cannot configure, in every request.
            "EndpointConfiguration": {"Type": "REGIONAL"},
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
    """The API's access log group.

    API Gateway writes access logs with the role of its "account" setting, one
    per account and region, shared by every API there: `make deploy` sets it
    once, before the stack (infra/api_gateway_account.py), not each stage's
    stack, which would overwrite the other's and leave a role behind.
    """
    return {
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}"},
                "RetentionInDays": LOG_RETENTION_DAYS[stage],
            },
        },
    }


def cors_origin(stage: str) -> str:
    """Which other origins may call the packaged stage's API: "*" or none.

    The shop calls its API on its own origin (CloudFront's /api/*), so it
    needs no CORS; a stage whose settings let any origin in (dev: a SPA on a
    laptop; bearer tokens, not cookies, carry the session) keeps that. Any
    other value in .chalice/config.json (prod's site, for `chalice deploy`)
    is the shop's own origin here: none.
    """
    return "*" if stage_environment(stage).get("CORS_ALLOW_ORIGIN") == "*" else ""


def without_preflights(built: dict[str, Any], stage: str) -> dict[str, Any]:
    """A stage that answers no other origin has no CORS preflight routes.

    Chalice writes them from the CORS settings of the stage's configuration
    (which `chalice deploy` uses); a merge can only add, so they go here.
    """
    if not cors_origin(stage):
        for methods in built["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"].values():
            methods.pop("options", None)
    return built


def api_key_required(built: dict[str, Any]) -> dict[str, Any]:
    """Every method of the API requires the key only CloudFront sends (infra/edge.py, ``origin_key``).

    Added to each method's security requirements (with its authorizer, if it
    has one: both must hold), as API Gateway reads them when it imports the
    definition. CORS preflights stay open: they are answered by API Gateway
    itself (a mock integration), and browsers send no custom headers with them.
    """
    from infra.edge import ORIGIN_KEY_HEADER

    body = built["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    body.setdefault("securityDefinitions", {})[API_KEY_SCHEME] = {
        "type": "apiKey",
        "name": ORIGIN_KEY_HEADER,
        "in": "header",
    }
    for methods in body["paths"].values():
        for method, operation in methods.items():
            if method != "options":
                operation["security"] = [
                    {**requirement, API_KEY_SCHEME: []} for requirement in operation.get("security") or [{}]
                ]
    return built
