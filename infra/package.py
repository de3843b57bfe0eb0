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
  ``SearchEngineLayer`` (infra/layers.py), attached to the functions
  that search or index (``search_engine`` in infra/functions.py) and to no
  other: the deployment zip does not carry it;
- the API (infra/rest_api.py): each route's function, API Gateway's own
  4XX/5XX with CORS headers (infra/gateway-responses.json) inside the API
  definition, so every deployment of the API carries them, and its one stage's
  logs and throttling;
- the edge (infra/edge.py): CloudFront for the site and /api/*, the stage's
  own security headers, an optional WAF;
- every environment variable a ``Ref``/``GetAtt``/``Sub``: nothing is copied
  by hand.

The zip is then rewritten with compiled bytecode, and the layer built from the
locked wheel (pip download for Lambda's platform, cached in build/.cache/ so a
second build is offline), both by infra/bundle.py and bounded in size. The
functions run on the Lambda runtime of the Python that builds them (3.11, 3.12
or 3.13; any other is refused before anything is built). Last, the SAM
template is expanded (infra/expand.py) into build/<stage>/expanded.json,
which `make test` lints.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

from chalicelib.orders.follow_ups import STREAM_POLICY
from chalicelib.platform.stream_records import StreamPolicy
from infra import monitoring
from infra.bundle import RUNTIME, BundleError, require_supported_runtime
from infra.chalice_config import admin_role, stage_environment
from infra.edge import edge
from infra.expand import lint_copy
from infra.functions import FUNCTIONS, RESOURCES, Function
from infra.layers import IMAGE_LIBRARY, LAYERS, SEARCH_LAYER, build_layer, layer_resource
from infra.rest_api import LOG_RETENTION_DAYS, api_key_required, api_logging, cors_origin, rest_api, without_preflights
from infra.template import ROOT, template

STAGES = ("dev", "prod")
BUILD = ROOT / "build"
EXPANDED = "expanded.json"  # the SAM transform's result, before upload: what `make test` lints
API_THROTTLE = {"dev": (20, 40), "prod": (200, 400)}  # requests per second, burst (docs/operations.md)
# A WAF rate-based rule counts requests per address over 5 minutes, from 10 to 2e9.
WAF_MIN_RATE_LIMIT: Final = 10
WAF_MAX_RATE_LIMIT: Final = 2_000_000_000
API_FUNCTION = "APIHandler"  # Chalice's name for the function behind the API
# Chalice's names for the stream handlers' mappings (on_dynamodb_record).
STREAM_EVENTS = {
    "HandleTableStream": "HandleTableStreamDynamodbEventSource",
    "IndexTableStream": "IndexTableStreamDynamodbEventSource",
}
# Chalice's name for the image function's mapping (on_sqs_message): the uploads queue.
QUEUE_EVENTS = {"ProcessPhotoUploads": "ProcessPhotoUploadsSqsEventSource"}
CHALICE_FUNCTIONS = (API_FUNCTION, "JwtAuth", *STREAM_EVENTS, *QUEUE_EVENTS)  # the functions Chalice's template has


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
    merged: dict[tuple[tuple[str, ...], tuple[tuple[str, str, str], ...]], set[str]] = {}
    for grant in (*function.code, *function.platform):
        merged.setdefault((grant.resources, grant.condition), set()).update(grant.actions)
    for (resources, condition), actions in merged.items():
        statement: dict[str, Any] = {
            "Sid": "".join(r.title().replace("-", "") for r in resources),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": [RESOURCES[r] for r in resources],
        }
        for operator, key, parameter in condition:
            statement.setdefault("Condition", {}).setdefault(operator, {})[key] = {"Ref": parameter}
        statements.append(statement)
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
    """Every function's environment: the stage's settings, then its resources by reference.

    Chalice gives its own functions the stage's ``environment_variables``
    (.chalice/config.json); the functions it does not make (purchase, admin)
    would get none of them, so every function gets them here. A value the
    stack owns (its table, topics, pool...) is a reference, whatever the
    stage's settings hold (`make chalice-config` writes literal copies there
    for `chalice deploy`).
    """
    env: dict[str, Any] = {
        **stage_env,
        "ADMIN_ROLE": admin_role(stage_env),
        "STAGE": stage,
        "TABLE_NAME": {"Ref": "ShopTable"},
        "TABLE_STREAM_ARN": {"Fn::GetAtt": ["ShopTable", "StreamArn"]},
        "LOW_STOCK_TOPIC_ARN": {"Ref": "LowStockTopic"},
        "FAILED_RECORDS_QUEUE_URL": {"Ref": "FailedRecordsQueue"},
        "SEARCH_INDEX_BUCKET": {"Ref": "SearchIndexBucket"},
        "UPLOADS_BUCKET": {"Ref": "UploadsBucket"},
        "RENDITIONS_BUCKET": {"Ref": "RenditionsBucket"},
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
    layers = [SEARCH_LAYER] * function.search_engine + [IMAGE_LIBRARY.logical_id] * function.image_library
    if layers:
        properties["Layers"] = [{"Ref": layer} for layer in layers]
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


def uploads_event() -> dict[str, Any]:
    """The image function on the uploads queue, one upload at a time, by reference."""
    return {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["UploadsQueue", "Arn"]}, "BatchSize": 1}}


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
        "MaxValue": WAF_MAX_RATE_LIMIT,
        "Description": f"Requests per 5 minutes one address may make before WAF blocks it, from {WAF_MIN_RATE_LIMIT} "
        "(e.g. 2000); 0: no WAF. "
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


def rules() -> dict[str, Any]:
    """Checks of the parameters before CloudFormation changes anything (it cannot compare numbers)."""
    too_low = [str(n) for n in range(1, WAF_MIN_RATE_LIMIT)]
    return {
        "WafRateLimitIsOffOrAtLeastTheMinimum": {
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Contains": [too_low, {"Ref": "WafRateLimit"}]}]},
                    "AssertDescription": f"WafRateLimit is 0 (no WAF) or at least {WAF_MIN_RATE_LIMIT}, "
                    "the least a WAF rate rule accepts",
                }
            ]
        }
    }


def merge_document(stage: str, stage_env: dict[str, str]) -> dict[str, Any]:
    """What ``chalice package --merge-template`` merges into Chalice's template."""
    infra = intrinsic(template())
    infra["Resources"]["AdminGroup"]["Properties"]["GroupName"] = admin_role(stage_env)
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
    for logical_id, event in QUEUE_EVENTS.items():
        resources[logical_id]["Properties"]["Events"] = {event: uploads_event()}
    for layer in LAYERS:
        resources[layer.logical_id] = layer_resource(layer)
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
        "Rules": rules(),
        "Conditions": conditions,
        "Resources": resources,
        "Outputs": outputs,
    }


# -- the build -------------------------------------------------------------------
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
    built = api_key_required(without_preflights(json.loads((out / "chalice" / "sam.json").read_text()), stage))
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
    for layer in LAYERS:
        print(build_layer(out, layer), flush=True)
    return out


def main(argv: list[str] | None = None, python: tuple[int, ...] = tuple(sys.version_info[:2])) -> None:
    parser = argparse.ArgumentParser(description="Build a stage's template and zip offline into build/<stage>/.")
    parser.add_argument("--stage", required=True, choices=STAGES)
    args = parser.parse_args(argv)
    try:
        require_supported_runtime(python)  # before anything is built
        build(args.stage)
    except BundleError as exc:
        raise SystemExit(f"package: {exc}") from exc


if __name__ == "__main__":
    main()
