"""Fill a stage's environment (and search layer) in .chalice/config.json from its stack, for `chalice deploy`.

    python -m infra.stage_config --stage dev        (make chalice-config STAGE=dev)

`make deploy` needs none of this; it is the developer's path: `chalice deploy
--stage dev` then runs one API function against the stack's table, pool and
search index bucket, with the stack's search engine layer (tantivy is not in
requirements.txt) on the functions that search or index. Only the stack's
values are written; every other key stays as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.chalice_config import CHALICE_CONFIG, read_config, stage_environment, write_config
from infra.cloudformation import StackError, describe, outputs, parameters, stack_name
from infra.functions import FUNCTIONS, Function
from infra.session import checked_session, operator_session

CONFIG = CHALICE_CONFIG

# environment variable -> stack output
FROM_OUTPUTS = {
    "TABLE_NAME": "TableName",
    "TABLE_STREAM_ARN": "TableStreamArn",
    "LOW_STOCK_TOPIC_ARN": "LowStockTopicArn",
    "FAILED_RECORDS_QUEUE_URL": "FailedRecordsQueueUrl",
    "SEARCH_INDEX_BUCKET": "SearchIndexBucketName",
}
LAYER_OUTPUT = "SearchEngineLayerArn"
COGNITO_FROM_OUTPUTS = {"COGNITO_USER_POOL_ID": "UserPoolId", "COGNITO_CLIENT_ID": "UserPoolClientId"}
# Stages whose API answers only the shop's own origin (the others keep "*", for a local SPA).
PINNED_ORIGIN = {"prod"}


def chalice_function_name(function: Function) -> str:
    """What `chalice deploy` calls a function: api_handler for the API, else its handler's name."""
    return "api_handler" if function.logical_id == "APIHandler" else function.handler.rsplit(".", 1)[-1]


def search_layers(stack: Mapping[str, Any]) -> dict[str, list[str]]:
    """The stack's search engine layer, for each Chalice function that searches or indexes."""
    layer = outputs(stack)[LAYER_OUTPUT]
    return {chalice_function_name(f): [layer] for f in FUNCTIONS if f.search_engine}


def stack_environment(stage: str, stack: Mapping[str, Any], auth_provider: str) -> dict[str, str]:
    """The stage's variables that come from its stack."""
    outs, params = outputs(stack), parameters(stack)
    wanted = {**FROM_OUTPUTS, **(COGNITO_FROM_OUTPUTS if auth_provider == "cognito" else {})}
    if stage in PINNED_ORIGIN:
        wanted["CORS_ALLOW_ORIGIN"] = "SiteUrl"
    missing = sorted(output for output in (*wanted.values(), LAYER_OUTPUT) if output not in outs)
    if missing:
        raise StackError(f"{stack['StackName']} has no output {', '.join(missing)}: deploy the stage again")
    env = {variable: outs[output] for variable, output in wanted.items()}
    env["NOTIFY_FROM"] = params.get("NotifyFrom", "")
    return env


def fill(
    config_file: Path, stage: str, values: Mapping[str, str], layers: Mapping[str, list[str]] | None = None
) -> dict[str, str]:
    """Write the values into the stage's environment, and each named function's layers; returns what changed."""
    config = read_config(config_file)
    if stage not in config.get("stages", {}):
        raise StackError(f"no stage {stage!r} in {config_file}")
    env = config["stages"][stage].setdefault("environment_variables", {})
    changed = {name: value for name, value in values.items() if env.get(name) != value}
    env.update(values)
    for name, arns in (layers or {}).items():
        function = config["stages"][stage].setdefault("lambda_functions", {}).setdefault(name, {})
        if function.get("layers") != arns:
            changed[f"layers of {name}"] = ", ".join(arns)
        function["layers"] = list(arns)
    write_config(config, config_file)
    return changed


def auth_provider(config_file: Path, stage: str) -> str:
    return stage_environment(stage, config_file).get("AUTH_PROVIDER", "cognito")


def configure(cfn: Any, stage: str, config_file: Path = CONFIG) -> dict[str, str]:
    stack = describe(cfn, stack_name(stage))
    if stack is None:
        raise StackError(f"there is no stack {stack_name(stage)}: run `make deploy STAGE={stage}` first")
    env = stack_environment(stage, stack, auth_provider(config_file, stage))
    changed = fill(config_file, stage, env, search_layers(stack))
    for name, value in changed.items():
        print(f"  {name} = {value}")
    print(f"{len(changed)} setting(s) of stage {stage!r} updated in {config_file.name}.")
    return changed


# `chalice deploy` gives all its functions one role, from .chalice/policy-<stage>.json:
# the union of every function's grants (infra/functions.py), on the stack's
# resources, whose names CloudFormation generates as <stack>-<logical id>-<suffix>.
CHALICE_RESOURCES = {
    "table": "arn:aws:dynamodb:*:*:table/{stack}-ShopTable-*",
    "table-stream": "arn:aws:dynamodb:*:*:table/{stack}-ShopTable-*/stream/*",
    # Generated bucket names are lower case: <stack>-searchindexbucket-<suffix>.
    "search-index-objects": "arn:aws:s3:::{stack}-searchindexbucket-*/search-index/*",
    "search-index-bucket": "arn:aws:s3:::{stack}-searchindexbucket-*",
    "low-stock-topic": "arn:aws:sns:*:*:{stack}-LowStockTopic-*",
    "failed-records-queue": "arn:aws:sqs:*:*:{stack}-FailedRecordsQueue-*",
    "ses-identities": "arn:aws:ses:*:*:identity/*",
    "uploads-objects": "arn:aws:s3:::{stack}-uploadsbucket-*/uploads/*",
    "uploads-bucket": "arn:aws:s3:::{stack}-uploadsbucket-*",
    "renditions-objects": "arn:aws:s3:::{stack}-renditionsbucket-*/img/*",
    "renditions-bucket": "arn:aws:s3:::{stack}-renditionsbucket-*",
    "uploads-queue": "arn:aws:sqs:*:*:{stack}-UploadsQueue-*",
    "xray": "*",
}


def chalice_policy(stage: str) -> dict[str, Any]:
    """The IAM policy `chalice deploy --stage <stage>` gives its functions."""
    stack = stack_name(stage)
    by_resource: dict[str, set[str]] = {}
    for function in FUNCTIONS:
        for grant in (*function.code, *function.platform):
            for resource in grant.resources:
                by_resource.setdefault(resource, set()).update(grant.actions)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:*:*:log-group:/aws/lambda/{stack}*",
        }
    ]
    for resource in sorted(by_resource):
        statements.append(
            {
                "Sid": resource.title().replace("-", ""),
                "Effect": "Allow",
                "Action": sorted(by_resource[resource]),
                "Resource": CHALICE_RESOURCES[resource].format(stack=stack),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def write_chalice_policies(folder: Path = CONFIG.parent) -> None:
    for stage in ("dev", "prod"):
        (folder / f"policy-{stage}.json").write_text(json.dumps(chalice_policy(stage), indent=2) + "\n")


def main(argv: list[str] | None = None, cloudformation: Any = None, config_file: Path = CONFIG) -> int:
    cli = argparse.ArgumentParser(
        prog="python -m infra.stage_config", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("--stage", required=True)
    cli.add_argument(
        "--write-policies", action="store_true", help="only rewrite .chalice/policy-*.json from infra/functions.py"
    )
    args = cli.parse_args(argv)
    if args.write_policies:
        write_chalice_policies()
        return 0
    try:
        cfn = cloudformation or checked_session(operator_session()).client("cloudformation")
        configure(cfn, args.stage, config_file)
    except (StackError, ClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
