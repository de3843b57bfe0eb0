"""Create or update a stage's stack and publish its shop; remove it; make its first admin; rebuild its index.

    python -m infra.deploy deploy --stage dev [--alarm-email A] [--notify-from S] [--parameter NAME=VALUE]
                                              [--seed | --force-seed] [--no-smoke]
    python -m infra.deploy destroy --stage dev [--purge [--confirm prod]]
    python -m infra.deploy admin --stage dev --email you@example.com
    python -m infra.deploy reindex --stage dev

`make deploy`, `make destroy`, `make admin` and `make reindex` run these
(docs/deploy.md). The stack is built offline by `make package STAGE=<stage>`
into build/<stage>/. A deploy that leaves the stage without a search index
(a new stage, or one upgraded from the index in the table) builds it once,
and ends with a smoke test through the shop's address (infra/smoke.py).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.aws import is_missing
from infra import api_gateway_account, artifacts, publish_spa, smoke
from infra.chalice_config import CHALICE_CONFIG, admin_role
from infra.chalice_config import stage_environment as chalice_stage_environment
from infra.cloudformation import (
    READY_FOR_CREATE,
    Out,
    StackError,
    Watch,
    change_set_parameters,
    create_change_set,
    delete,
    describe,
    describe_change,
    execute,
    is_busy,
    outputs,
    parameters,
    report_failure,
    stack_name,
)
from infra.functions import by_key
from infra.import_catalog import CatalogFileError, give_photos, load, read_catalog
from infra.session import Aws, connect, operator_session

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
SEED_FILE = ROOT / "data" / "products.json"
# Stages whose data a purge deletes only with --confirm <stage>.
CONFIRMED_PURGE = {"prod"}
NEEDED_OUTPUTS = (
    "ApiUrl",
    "SiteUrl",
    "SiteBucketName",
    "TableName",
    "UserPoolId",
    "UserPoolClientId",
    "SearchIndexBucketName",
)
# The search index's current version (chalicelib's index store writes it);
# a stage without it has no index yet.
INDEX_POINTER = "search-index/current.json"
REBUILD_EVENT = {"rebuild": True}  # the indexer scans the table and publishes a new version
UNSETTLED = {
    "UPDATE_ROLLBACK_FAILED": "run `aws cloudformation continue-update-rollback --stack-name {name}`, then deploy",
    "ROLLBACK_FAILED": "run `make destroy STAGE={stage}`, then deploy again",
    "DELETE_FAILED": "run `make destroy STAGE={stage}` again, then deploy",
}


@dataclass
class DeployOptions:
    stage: str
    parameters: dict[str, str] = field(default_factory=dict)
    seed: bool = False
    force_seed: bool = False
    build_dir: Path = BUILD
    chalice_config: Path = CHALICE_CONFIG
    seed_file: Path = SEED_FILE
    smoke: bool = True  # end with infra/smoke.py's requests through the shop's address


# --- deploy ------------------------------------------------------------------------------------


def site_api_url(outs: Mapping[str, str]) -> str:
    """The API as the shop reaches it: under /api on the shop's own address."""
    return outs["SiteUrl"].rstrip("/") + "/api"


def stage_build(build_dir: Path, stage: str) -> Path:
    """build/<stage>/, once it holds a packaged template."""
    stage_dir = build_dir / stage
    if not (stage_dir / "template.json").is_file():
        raise StackError(
            f"{stage_dir / 'template.json'} is missing: run `make package STAGE={stage}` first "
            f"(`make deploy STAGE={stage}` packages the stage itself)"
        )
    return stage_dir


def stage_environment(stage: str, config_file: Path) -> dict[str, str]:
    """The stage's settings in .chalice/config.json; an Auth0 stage must name its tenant there."""
    env = chalice_stage_environment(stage, config_file)
    missing = publish_spa.missing_settings(env) if env.get("AUTH_PROVIDER") == "auth0" else []
    if missing:
        raise StackError(f"stage {stage!r} uses Auth0: set {', '.join(missing)} in .chalice/config.json (docs/auth.md)")
    return env


def existing_stack(cfn: Any, stage: str, watch: Watch, out: Out) -> dict[str, Any] | None:
    """The stack to update, or None to create it (a stack whose first create failed is deleted first)."""
    name = stack_name(stage)
    stack = describe(cfn, name)
    if stack is None:
        return None
    status = stack["StackStatus"]
    if status == "ROLLBACK_COMPLETE":
        out(
            f"{name} is ROLLBACK_COMPLETE: its first create failed and it cannot be updated. "
            "Deleting it before creating it again (resources it retains stay)."
        )
        delete(cfn, stack, watch, out)
        return None
    if is_busy(status):
        raise StackError(f"{name} is busy ({status}): wait until it has settled, then deploy again")
    if status in UNSETTLED:
        raise StackError(f"{name} is {status}: " + UNSETTLED[status].format(name=name, stage=stage))
    return stack


def deploy(aws: Aws, options: DeployOptions, watch: Watch, out: Out) -> dict[str, str]:
    """Create or update the stage and publish its shop; returns the stack's outputs."""
    stage, name = options.stage, stack_name(options.stage)
    build_dir = stage_build(options.build_dir, stage)
    env = stage_environment(stage, options.chalice_config)
    declared = json.loads((build_dir / "template.json").read_text()).get("Parameters", {})
    stack = existing_stack(aws.cloudformation, stage, watch, out)
    updating = stack is not None and stack["StackStatus"] != READY_FOR_CREATE
    params = change_set_parameters(declared, options.parameters, parameters(stack) if stack and updating else None)

    bucket = artifacts.bucket_name(aws.account, aws.region)
    artifacts.ensure_bucket(aws.s3, bucket, aws.account, aws.region, out)
    out(f"Uploading build/{stage}/ to s3://{bucket}:")
    url = artifacts.upload_stage(aws.s3, bucket, aws.region, build_dir, name, out)
    api_gateway_account.ensure_logging_role(aws.apigateway, aws.iam, aws.region, watch.sleep, out)

    stack = apply(aws.cloudformation, name, "UPDATE" if updating else "CREATE", url, params, watch, out) or stack
    if stack is None:
        raise StackError(f"CloudFormation found nothing to create in build/{stage}/template.json")
    outs = required_outputs(stack)
    publish_site(aws, stage, outs, env, out)
    if options.seed or options.force_seed:
        table = aws.dynamodb.Table(outs["TableName"])
        seed_catalog(table, options.seed_file, options.force_seed, out)
        seed_photos(aws, table, outs, options.seed_file, out)
    ensure_index(aws, stage, outs["SearchIndexBucketName"], out)
    for line in next_steps(stage, stack, env, aws.region, seeded=options.seed or options.force_seed):
        out(line)
    if options.smoke:
        smoke.smoke_test(outs["SiteUrl"], name, watch.sleep, out)
    else:
        out("Smoke test skipped (SMOKE=0, --no-smoke).")
    return outs


def apply(
    cfn: Any, name: str, change_set_type: str, url: str, params: list[dict[str, Any]], watch: Watch, out: Out
) -> dict[str, Any] | None:
    """Make and execute a change set; returns the settled stack, or None when nothing changes."""
    out(f"Creating a change set ({change_set_type}) for {name}...")
    change_set = create_change_set(cfn, name, change_set_type, url, params, watch)
    if change_set is None:
        out(f"{name}: nothing to change (the empty change set was deleted).")
        return None
    out(f"{len(change_set.changes)} change(s):")
    for change in change_set.changes:
        out(describe_change(change))
    out(f"Executing it; {name}'s events as they come:")
    outcome = execute(cfn, change_set, watch, out)
    if not outcome.succeeded:
        raise report_failure(outcome, f"{'creating' if change_set_type == 'CREATE' else 'updating'} {name}")
    out(f"{name} is {outcome.status}.")
    return outcome.stack


def required_outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    outs = outputs(stack)
    missing = [key for key in NEEDED_OUTPUTS if key not in outs]
    if missing:
        raise StackError(f"{stack['StackName']} has no output {', '.join(missing)}: package the stage again")
    return outs


def publish_site(aws: Aws, stage: str, outs: Mapping[str, str], env: Mapping[str, str], out: Out) -> None:
    """The SPA and its config.json, pointed at this stack's API and user pool."""
    site_env = {**env, "COGNITO_USER_POOL_ID": outs["UserPoolId"], "COGNITO_CLIENT_ID": outs["UserPoolClientId"]}
    # The shop calls its API on its own origin (CloudFront sends /api/* to API Gateway).
    uploads = publish_spa.upload_origins(outs["UploadsBucketName"], aws.region) if "UploadsBucketName" in outs else []
    config = publish_spa.site_config(stage, site_api_url(outs), site_env, aws.region, uploads)
    out(f"Publishing the shop to s3://{outs['SiteBucketName']}:")
    release = publish_spa.publish(aws.s3, outs["SiteBucketName"], config)
    out(f"{len(release.keys)} files published.")
    publish_spa.invalidate(aws.cloudfront, outs.get("SiteDistributionId"), release, out)


def seed_catalog(table: Any, seed_file: Path, force: bool, out: Out) -> None:
    """Import the seed catalog (data/products.json), into an empty table only unless forced."""
    name = seed_file.relative_to(ROOT) if seed_file.is_relative_to(ROOT) else seed_file
    empty = not table.scan(Limit=1, ProjectionExpression="PK")["Items"]
    if not empty and not force:
        out(
            f"Not seeding: {table.name} already holds items "
            f"(SEED=force imports {name} anyway, replacing the products with the same ids)."
        )
        return
    try:
        products = read_catalog(seed_file)
    except CatalogFileError as exc:
        raise StackError(str(exc)) from exc
    written = load(table, products, show_progress=sys.stderr.isatty())
    why = "it was empty" if empty else "forced, although it held items"
    out(f"Seeded {table.name} with {written} products from {name} ({why}).")


def seed_photos(aws: Aws, table: Any, outs: Mapping[str, str], seed_file: Path, out: Out) -> None:
    """A photo for each product of the seed file without one, made by the stage's image function."""
    bucket = outs.get("UploadsBucketName")
    if not bucket:
        out("Not seeding photos: the stack has no uploads bucket (package the stage again).")
        return
    try:
        ids = [product.id for product in read_catalog(seed_file) if product.id]
    except CatalogFileError as exc:
        raise StackError(str(exc)) from exc
    put = give_photos(table, aws.s3, bucket, ids, show_progress=sys.stderr.isatty())
    if put:
        out(
            f"Put {put} seed photos in s3://{bucket}/uploads/: the image function makes their renditions "
            "within minutes (the admin page shows each photo's state)."
        )
    else:
        out("Not seeding photos: every seed product in the table has one already.")


def has_index(s3: Any, bucket: str) -> bool:
    """Whether the stage's index bucket holds a current version."""
    try:
        s3.head_object(Bucket=bucket, Key=INDEX_POINTER)
    except ClientError as exc:
        if is_missing(exc):
            return False
        raise
    return True


def ensure_index(aws: Aws, stage: str, bucket: str, out: Out) -> None:
    """Build the stage's search index once if it has none (a new stage, or one upgraded from the table's index)."""
    if has_index(aws.s3, bucket):
        return
    out(f"The stage has no search index yet (no s3://{bucket}/{INDEX_POINTER}): building it from the table, once.")
    try:
        rebuild_index(aws, stage, out)
    except StackError as exc:
        raise StackError(
            f"{stack_name(stage)} is deployed, but its search index could not be built: {exc}\n"
            f"Search answers nothing until it is: once fixed, run `make reindex STAGE={stage}`"
        ) from exc


def indexer_name(stage: str) -> str:
    return f"{stack_name(stage)}-{by_key('indexer').key}"


def rebuild_index(aws: Aws, stage: str, out: Out) -> Any:
    """Have the stage's indexer rebuild the search index from the table; returns its answer."""
    name = indexer_name(stage)
    out(f"Rebuilding the search index of {stack_name(stage)} from its table ({name})...")
    try:
        answer = aws.lambda_.invoke(
            FunctionName=name,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=json.dumps(REBUILD_EVENT).encode(),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise StackError(f"there is no function {name}: run `make deploy STAGE={stage}` first") from exc
        raise
    except BotoCoreError as exc:  # no answer in time: the rebuild may still be running
        raise StackError(f"{name} did not answer ({exc}); its log group /aws/lambda/{name} says how it went") from exc
    body = answer["Payload"].read()
    try:
        result = json.loads(body) if body else None
    except ValueError:
        result = body.decode("utf-8", "replace")
    if answer.get("FunctionError"):
        raise StackError(f"the rebuild failed in {name}: {function_error(result)}{log_tail(answer)}")
    out(f"Rebuilt the search index: {json.dumps(result)}")
    return result


def function_error(result: Any) -> str:
    """What a failed invocation's payload says: Lambda's {errorType, errorMessage}."""
    if isinstance(result, dict) and "errorMessage" in result:
        kind = result.get("errorType")
        return f"{kind}: {result['errorMessage']}" if kind else str(result["errorMessage"])
    return json.dumps(result)


def log_tail(answer: Mapping[str, Any], lines: int = 10) -> str:
    """The last lines of the invocation's log (LogType=Tail), to show beside the error."""
    encoded = answer.get("LogResult")
    if not encoded:
        return ""
    text = base64.b64decode(encoded).decode("utf-8", "replace").rstrip().splitlines()[-lines:]
    return "\nIts log ends with:\n" + "\n".join(f"  {line}" for line in text)


def reindex(aws: Aws, stage: str, out: Out) -> Any:
    """`make reindex`: rebuild the stage's search index from its table."""
    result = rebuild_index(aws, stage, out)
    out("Search answers from the new version within seconds (each search function checks for one every few).")
    return result


def next_steps(stage: str, stack: Mapping[str, Any], env: Mapping[str, str], region: str, seeded: bool) -> list[str]:
    outs, params = outputs(stack), parameters(stack)
    lines = [
        "",
        f"The shop: {outs['SiteUrl']}",
        f"The API:  {site_api_url(outs)} (its own address, {outs['ApiUrl']}, refuses calls not sent by CloudFront)",
        "",
        "Next:",
    ]
    alarm_email = params.get("AlarmEmail")
    if alarm_email:
        lines.append(f"- Confirm the alarms' subscription: AWS has e-mailed {alarm_email} a link to click.")
    else:
        lines.append(
            f"- No one hears of alarms: deploy again with ALARM_EMAIL=you@example.com (make deploy STAGE={stage})."
        )
    sender = params.get("NotifyFrom")
    if sender:
        lines.append(
            f"- Verify the sender of order confirmations: aws ses verify-email-identity --email-address {sender} "
            f"--region {region} (in the SES sandbox, verify each recipient too: docs/deploy.md)."
        )
    else:
        lines.append("- Order confirmations are off: deploy again with NOTIFY_FROM=<an SES-verified sender>.")
    lines += admin_steps(stage, outs, env, region)
    if not seeded:
        lines.append(f"- An empty catalog? make deploy STAGE={stage} SEED=1 imports data/products.json.")
    return lines


def admin_steps(stage: str, outs: Mapping[str, str], env: Mapping[str, str], region: str) -> list[str]:
    if env.get("AUTH_PROVIDER") == "auth0":
        return ["- Give your admins the admin role in Auth0 (docs/auth.md)."]
    pool, group = outs["UserPoolId"], admin_role(env)
    return [
        f"- The first admin: sign up in the shop, then: make admin STAGE={stage} EMAIL=you@example.com",
        f"  (or: aws cognito-idp admin-add-user-to-group --user-pool-id {pool} --username you@example.com "
        f"--group-name {group} --region {region}), then sign in again.",
    ]


# --- destroy -----------------------------------------------------------------------------------


def destroy(aws: Aws, stage: str, purge: bool, confirm: str | None, watch: Watch, out: Out) -> None:
    """Delete the stack (its site bucket emptied first); its data stays unless purged."""
    if purge and stage in CONFIRMED_PURGE and confirm != stage:
        raise StackError(
            f"PURGE=1 deletes {stage}'s table (orders, catalog) and user pool (accounts) for good: "
            f"add CONFIRM={stage} to go ahead"
        )
    name = stack_name(stage)
    stack = describe(aws.cloudformation, name)
    if stack is None:
        out(f"There is no stack {name}: nothing to destroy.")
        return
    if is_busy(stack["StackStatus"]):
        raise StackError(f"{name} is busy ({stack['StackStatus']}): wait until it has settled, then destroy it")
    outs = outputs(stack)
    for bucket in ("SiteBucketName", "SearchIndexBucketName", "UploadsBucketName"):  # the stack's own buckets
        if bucket in outs:
            empty_bucket(aws.s3, outs[bucket], out)
    out(f"Deleting {name}; its events as they come:")
    delete(aws.cloudformation, stack, watch, out)
    out(f"{name} is deleted.")
    if purge:
        purge_data(aws, outs, out)
    for line in retained(aws, stage, outs, purged=purge):
        out(line)


def empty_bucket(s3: Any, bucket: str, out: Out) -> None:
    """Delete every object version and delete marker (CloudFormation only deletes empty buckets)."""
    removed = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
            objects = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
            if objects:
                failed = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True}).get("Errors")
                if failed:
                    raise StackError(f"could not empty s3://{bucket}: {failed[0].get('Message')} ({failed[0]['Key']})")
                removed += len(objects)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
    out(f"Emptied s3://{bucket} ({removed} object versions and delete markers).")


def purge_data(aws: Aws, outs: Mapping[str, str], out: Out) -> None:
    if "TableName" in outs:
        delete_table(aws.dynamodb.meta.client, outs["TableName"], out)
    if "RenditionsBucketName" in outs:  # the products' photos
        empty_bucket(aws.s3, outs["RenditionsBucketName"], out)
        try:
            aws.s3.delete_bucket(Bucket=outs["RenditionsBucketName"])
            out(f"Deleted the bucket {outs['RenditionsBucketName']} (the products' photos).")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                raise
    if "UserPoolId" in outs:
        delete_user_pool(aws.cognito, outs["UserPoolId"], out)


def delete_table(dynamodb: Any, name: str, out: Out) -> None:
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        out(f"The table {name} is already gone.")
        return
    if table.get("DeletionProtectionEnabled"):
        dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        dynamodb.get_waiter("table_exists").wait(TableName=name)  # ACTIVE again: deletable
        out(f"Turned off the deletion protection of {name}.")
    dynamodb.delete_table(TableName=name)
    out(f"Deleted the table {name}.")


def delete_user_pool(cognito: Any, pool_id: str, out: Out) -> None:
    try:
        pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    except cognito.exceptions.ResourceNotFoundException:
        out(f"The user pool {pool_id} is already gone.")
        return
    if pool.get("DeletionProtection") == "ACTIVE":
        cognito.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
    cognito.delete_user_pool(UserPoolId=pool_id)
    out(f"Deleted the user pool {pool_id}.")


def retained(aws: Aws, stage: str, outs: Mapping[str, str], purged: bool) -> list[str]:
    kept = []
    if not purged:
        if "TableName" in outs:
            kept.append(f"- the table {outs['TableName']} (catalog and orders)")
        if "UserPoolId" in outs:
            kept.append(f"- the user pool {outs['UserPoolId']} (accounts)")
        if "RenditionsBucketName" in outs:
            kept.append(f"- the bucket {outs['RenditionsBucketName']} (the products' photos)")
    kept.append(f"- the artifacts bucket s3://{artifacts.bucket_name(aws.account, aws.region)} (shared by the stages)")
    role = api_gateway_account.current_role(aws.apigateway)
    if role:
        kept.append(
            f"- the role {api_gateway_account.name_of(role)} API Gateway writes logs with "
            f"(shared by the account's APIs in {aws.region})"
        )
    if not purged:
        confirm = f" CONFIRM={stage}" if stage in CONFIRMED_PURGE else ""
        kept.append(
            f"To delete the table, the user pool and the photos too: make destroy STAGE={stage} PURGE=1{confirm}"
        )
    return ["", "Retained (not deleted):", *kept]


# --- admin -------------------------------------------------------------------------------------


def make_admin(aws: Aws, stage: str, email: str, out: Out) -> None:
    """Put an account that signed up in the shop into the stage's admin group."""
    env = chalice_stage_environment(stage)
    if env.get("AUTH_PROVIDER") == "auth0":
        raise StackError(f"stage {stage!r} uses Auth0: give the admin role in Auth0 instead (docs/auth.md)")
    stack = describe(aws.cloudformation, stack_name(stage))
    if stack is None:
        raise StackError(f"there is no stack {stack_name(stage)}: run `make deploy STAGE={stage}` first")
    outs = outputs(stack)
    pool, group = outs["UserPoolId"], admin_role(env)
    try:
        user = aws.cognito.admin_get_user(UserPoolId=pool, Username=email)
    except aws.cognito.exceptions.UserNotFoundException as exc:
        raise StackError(
            f"no account {email} in {pool}: sign up at {outs.get('SiteUrl')} first, then run this again"
        ) from exc
    aws.cognito.admin_add_user_to_group(UserPoolId=pool, Username=user["Username"], GroupName=group)
    out(f"{email} is in the group {group} of {pool}: after signing in again, they manage the catalog.")


# --- command line ------------------------------------------------------------------------------


def parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, value


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m infra.deploy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = cli.add_subparsers(dest="command", required=True)
    up = commands.add_parser("deploy", help="create or update the stage, publish its shop")
    up.add_argument("--stage", required=True)
    up.add_argument("--alarm-email", help="the AlarmEmail parameter: who hears of alarms")
    up.add_argument("--notify-from", help="the NotifyFrom parameter: the SES-verified sender of confirmations")
    up.add_argument("--parameter", type=parameter, action="append", default=[], metavar="NAME=VALUE")
    up.add_argument("--seed", action="store_true", help="import data/products.json if the table is empty")
    up.add_argument("--force-seed", action="store_true", help="import data/products.json even if it is not")
    up.add_argument("--no-smoke", action="store_true", help="skip the smoke test through the shop's address")
    up.add_argument("--build-dir", type=Path, default=BUILD, help=argparse.SUPPRESS)
    down = commands.add_parser("destroy", help="delete the stage's stack (its data is retained)")
    down.add_argument("--stage", required=True)
    down.add_argument("--purge", action="store_true", help="also delete the retained table and user pool")
    down.add_argument("--confirm", metavar="STAGE", help="required with --purge for prod: the stage's name")
    admin = commands.add_parser("admin", help="add an account of the shop to the admin group")
    admin.add_argument("--stage", required=True)
    admin.add_argument("--email", required=True)
    rebuild = commands.add_parser("reindex", help="rebuild the stage's search index from its table")
    rebuild.add_argument("--stage", required=True)
    return cli


def deploy_options(args: argparse.Namespace) -> DeployOptions:
    given = dict(args.parameter)
    if args.alarm_email is not None:
        given["AlarmEmail"] = args.alarm_email
    if args.notify_from is not None:
        given["NotifyFrom"] = args.notify_from
    return DeployOptions(args.stage, given, args.seed, args.force_seed, args.build_dir, smoke=not args.no_smoke)


def run(args: argparse.Namespace, aws: Aws | None, watch: Watch) -> None:
    if args.command == "deploy":
        options = deploy_options(args)
        stage_build(options.build_dir, options.stage)  # both checked before anything touches AWS
        stage_environment(options.stage, options.chalice_config)
        deploy(aws or connect(operator_session()), options, watch, print)
    elif args.command == "destroy":
        destroy(aws or connect(operator_session()), args.stage, args.purge, args.confirm, watch, print)
    elif args.command == "reindex":
        reindex(aws or connect(operator_session()), args.stage, print)
    else:
        make_admin(aws or connect(operator_session()), args.stage, args.email, print)


def main(argv: list[str] | None = None, aws: Aws | None = None, watch: Watch | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args, aws, watch or Watch())
    except (StackError, ClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
