"""`make deploy`, `make destroy`, `make admin` and `make reindex` (infra/deploy.py), offline.

S3, STS, DynamoDB, Cognito, IAM, API Gateway's account setting and CloudFront
are moto's server; CloudFormation is stubbed (tests/support/stubbed_cloudformation.py)
and its waits never sleep; so is Lambda (botocore's Stubber), which a deploy
invokes only to build a missing index. The deploys here skip the smoke test
(tests/functional/test_smoke.py tests it against a loopback server) unless a
test asks for it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from chalicelib.photos.photo import MAX_ALT
from chalicelib.photos.uploads import upload_key
from chalicelib.platform.keys import product_key
from infra import artifacts, deploy, smoke
from infra.cloudformation import Watch
from infra.expand import expand
from infra.seed_photos import photo_for
from infra.session import Aws, connect
from infra.template import ROOT
from localdev.resources import create_table, create_user_pool
from tests.support.cloudfront import site_distribution
from tests.support.ports import free_port
from tests.support.stubbed_cloudformation import NO_CHANGES, REGION, T0, FakeCloudFormation, event, stack

ARTIFACTS = "petstore-artifacts-123456789012-us-east-1"
PARAMETERS = {
    "AlarmEmail": {"Type": "String", "Default": ""},
    "NotifyFrom": {"Type": "String", "Default": ""},
    "SearchReservedConcurrency": {"Type": "Number", "Default": 0},
    "PurchaseReservedConcurrency": {"Type": "Number", "Default": 0},
    "AdminReservedConcurrency": {"Type": "Number", "Default": 0},
}
KEEP_ALL = [{"ParameterKey": name, "UsePreviousValue": True} for name in PARAMETERS]
CONCURRENCY_REASON = (
    "Resource handler returned message: \"Specified ReservedConcurrentExecutions for function decreases account's "
    'UnreservedConcurrentExecution below its minimum value of [10]." (Service: Lambda, Status Code: 400)'
)


def packaged_template() -> dict[str, Any]:
    function = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": "./deployment.zip", "Handler": "app.app", "Runtime": "python3.11"},
    }
    layer = {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "./search-layer.zip"}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Parameters": PARAMETERS,
        "Resources": {
            "SearchFunction": function,
            "PurchaseFunction": json.loads(json.dumps(function)),
            "SearchEngineLayer": layer,
        },
    }


def a_zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture()
def build_dir(tmp_path: Path) -> Path:
    """build/ as `make package STAGE=dev` and `STAGE=prod` leave it: a template, a zip and a layer per stage."""
    for stage in ("dev", "prod"):
        stage_dir = tmp_path / "build" / stage
        stage_dir.mkdir(parents=True)
        (stage_dir / "template.json").write_text(json.dumps(packaged_template()))
        (stage_dir / "deployment.zip").write_bytes(a_zip("app.py", f"# {stage} {uuid.uuid4()}\n"))
        (stage_dir / "search-layer.zip").write_bytes(a_zip("python/tantivy/__init__.py", f"# {uuid.uuid4()}\n"))
    return tmp_path / "build"


def lift_tls_only(client: Any) -> list[dict[str, Any]]:
    """Record each bucket policy the client sets, then take it off again; returns the policies recorded.

    The tests reach moto over plain http, where a TLS-only bucket rightly
    refuses every object request (and moto, evaluating no request context,
    refuses them whatever the transport). Lifted, the policy lets the uploads
    that follow stand in for the deploy's https ones;
    ``test_the_artifacts_bucket_refuses_requests_without_tls`` keeps it on.
    """
    recorded: list[dict[str, Any]] = []
    plain = boto3.client("s3")

    def record(params: dict[str, Any], **_: Any) -> None:
        recorded.append({"Bucket": params["Bucket"], **json.loads(params["Policy"])})

    def lift(**_: Any) -> None:
        plain.delete_bucket_policy(Bucket=recorded[-1]["Bucket"])

    client.meta.events.register("provide-client-params.s3.PutBucketPolicy", record)
    client.meta.events.register("after-call.s3.PutBucketPolicy", lift)
    return recorded


@pytest.fixture()
def s3(aws: str) -> Any:
    """moto's S3, without the artifacts bucket another test may have left; bucket policies it sets are lifted."""
    client = boto3.client("s3")
    if ARTIFACTS in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.delete_bucket_policy(Bucket=ARTIFACTS)
        for item in client.list_objects_v2(Bucket=ARTIFACTS).get("Contents", []):
            client.delete_object(Bucket=ARTIFACTS, Key=item["Key"])
        client.delete_bucket(Bucket=ARTIFACTS)
    lift_tls_only(client)
    return client


def index_bucket_of(site_bucket: str) -> str:
    """The stack's search index bucket (the site bucket's twin here)."""
    return site_bucket.replace("-sitebucket-", "-searchindexbucket-")


@pytest.fixture()
def site_bucket(s3: Any) -> str:
    """The stack's site bucket, and its search index bucket holding an index (deploys build none)."""
    name = f"petstore-dev-sitebucket-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=index_bucket_of(name))
    s3.put_object(Bucket=index_bucket_of(name), Key=deploy.INDEX_POINTER, Body=b'{"version": 1}')
    return name


@pytest.fixture()
def pool() -> dict[str, str]:
    return create_user_pool(boto3.client("cognito-idp"), f"petstore-{uuid.uuid4().hex[:6]}")


@pytest.fixture()
def distribution(site_bucket: str) -> str:
    """The stack's CloudFront distribution (moto's), in front of its site bucket."""
    return site_distribution(site_bucket)


LOGGING_ROLE = "apigateway-cloudwatch-logs"  # made by hand, or by an earlier deploy


@pytest.fixture()
def logging_role(aws: str) -> str:
    """The account already has API Gateway's logging role (tests/functional/test_api_gateway_account.py makes one)."""
    iam = boto3.client("iam")
    try:
        arn = iam.get_role(RoleName=LOGGING_ROLE)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": []}
        arn = iam.create_role(RoleName=LOGGING_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    patch = [{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]
    boto3.client("apigateway").update_account(patchOperations=patch)
    return str(arn)


def stack_outputs(
    site_bucket: str,
    pool: dict[str, str],
    table: str = "petstore-dev-ShopTable-1X2Y",
    distribution: str | None = None,
    site_url: str = "https://d111111abcdef8.cloudfront.net",
) -> dict[str, str]:
    found = {
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/api",
        "SiteUrl": site_url,
        "SiteBucketName": site_bucket,
        "TableName": table,
        "UserPoolId": pool["user_pool_id"],
        "UserPoolClientId": pool["client_id"],
        "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:petstore-dev-AlarmTopic-1",
        "SearchIndexBucketName": index_bucket_of(site_bucket),
    }
    return {**found, "SiteDistributionId": distribution} if distribution else found


class Deployer:
    """Runs the command line against moto and a stubbed CloudFormation; records what it printed."""

    def __init__(
        self, aws_clients: Aws, cfn: FakeCloudFormation, lambda_: Stubber, build_dir: Path, capsys: Any
    ) -> None:
        self.aws, self.cfn, self.lambda_, self.build_dir, self.capsys = aws_clients, cfn, lambda_, build_dir, capsys
        self.sleeps: list[float] = []
        self.template_urls: list[str] = []
        self.bucket_policies = lift_tls_only(aws_clients.s3)
        self.smoke = False  # a test that wants the smoke test sets it
        events = aws_clients.cloudformation.meta.events
        events.register("provide-client-params.cloudformation.CreateChangeSet", self._record_url)

    def _record_url(self, params: dict[str, Any], **_: Any) -> None:
        self.template_urls.append(params["TemplateURL"])

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        if argv[0] == "deploy":
            argv = (*argv, "--build-dir", str(self.build_dir), *([] if self.smoke else ["--no-smoke"]))
        watch = Watch(poll_seconds=0.0, sleep=self.sleeps.append)
        code = deploy.main(list(argv), aws=self.aws, watch=watch)
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture()
def stage() -> str:
    return "dev"


@pytest.fixture()
def cfn(aws: str, stage: str) -> Iterator[FakeCloudFormation]:
    fake = FakeCloudFormation(boto3.client("cloudformation"), stage)
    with fake.stubber:
        yield fake
    fake.stubber.assert_no_pending_responses()


@pytest.fixture()
def lambda_(aws: str) -> Iterator[Stubber]:
    """Lambda, stubbed: a call no test queued an answer for fails the test."""
    stubber = Stubber(boto3.client("lambda"))
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


@pytest.fixture()
def run(
    s3: Any, cfn: FakeCloudFormation, lambda_: Stubber, build_dir: Path, capsys: Any, logging_role: str
) -> Deployer:
    clients = dataclasses.replace(
        connect(boto3.session.Session()), cloudformation=cfn.stubber.client, lambda_=lambda_.client
    )
    return Deployer(clients, cfn, lambda_, build_dir, capsys)


REBUILD = {
    "FunctionName": "petstore-dev-indexer",
    "InvocationType": "RequestResponse",
    "LogType": "Tail",
    "Payload": b'{"rebuild": true}',
}


def invoked(stubber: Stubber, payload: Any, error: str | None = None, log: str = "") -> None:
    """The indexer answers a rebuild with ``payload`` (and ``error``: Lambda's FunctionError)."""
    body = json.dumps(payload).encode()
    answer: dict[str, Any] = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
    if error:
        answer["FunctionError"] = error
    if log:
        answer["LogResult"] = base64.b64encode(log.encode()).decode()
    stubber.add_response("invoke", answer, REBUILD)


def read_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def tls_only(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "TlsRequestsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def lifecycle(s3: Any, bucket: str) -> dict[str, Any]:
    """What each lifecycle rule does, by id (only enabled rules that apply to every object)."""
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert all(rule["Status"] == "Enabled" and not rule.get("Filter") for rule in rules)
    return {rule["ID"]: rule.get("AbortIncompleteMultipartUpload") or rule.get("Expiration") or rule for rule in rules}


def printed_events(out: str) -> list[tuple[str, str]]:
    """(status, resource) of each event line printed ("  12:00:01  STATUS  Resource (Type)...")."""
    lines = [line.split() for line in out.splitlines() if re.match(r"  \d\d:\d\d:\d\d  ", line)]
    return [(words[1], words[2]) for words in lines]


def created(cfn: FakeCloudFormation, outputs: dict[str, str], parameters: dict[str, str] | None = None) -> None:
    """CloudFormation creates the stack: two polls, then CREATE_COMPLETE."""
    cfn.history.append(event(cfn.stage, 0, cfn.name, "REVIEW_IN_PROGRESS"))
    cfn.execute()
    cfn.poll(
        stack(cfn.stage, "CREATE_IN_PROGRESS"),
        event(cfn.stage, 1, cfn.name, "CREATE_IN_PROGRESS", reason="User Initiated"),
        event(cfn.stage, 2, "ShopTable", "CREATE_IN_PROGRESS", "AWS::DynamoDB::Table"),
    )
    cfn.poll(
        stack(cfn.stage, "CREATE_COMPLETE", outputs, parameters),
        event(cfn.stage, 3, "ShopTable", "CREATE_COMPLETE", "AWS::DynamoDB::Table"),
        event(cfn.stage, 4, cfn.name, "CREATE_COMPLETE"),
    )


# --- deploy ------------------------------------------------------------------------------------


def test_a_first_deploy_uploads_the_stage_creates_the_stack_and_publishes_the_shop(
    run: Deployer,
    s3: Any,
    site_bucket: str,
    pool: dict[str, str],
    build_dir: Path,
    distribution: str,
    logging_role: str,
) -> None:
    outputs = stack_outputs(site_bucket, pool, distribution=distribution)
    run.cfn.no_stack()
    run.cfn.change_set("CREATE", [{"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.com"}])
    created(run.cfn, outputs, {**dict.fromkeys(PARAMETERS, ""), "AlarmEmail": "ops@example.com"})

    code, out, err = run("deploy", "--stage", "dev", "--alarm-email", "ops@example.com")

    assert code == 0, err
    # The artifacts bucket: made private and encrypted.
    block = s3.get_public_access_block(Bucket=ARTIFACTS)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_encryption(Bucket=ARTIFACTS)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # ... TLS only, and its incomplete uploads and old objects expire.
    [policy] = run.bucket_policies
    assert policy["Bucket"] == ARTIFACTS and policy["Statement"] == [tls_only(ARTIFACTS)]
    assert lifecycle(s3, ARTIFACTS) == {
        "abort-incomplete-uploads": {"DaysAfterInitiation": 1},
        "expire-old-artifacts": {"Days": 180},
    }
    # API Gateway's logging role, an account setting, is there before the stack that logs with it.
    assert f"API Gateway logs with {logging_role} (the account's setting in us-east-1, kept)." in out
    assert out.index("API Gateway logs with") < out.index("Creating a change set (CREATE)")
    # The change set reads the uploaded template, whose functions run the uploaded zip.
    zip_body = (build_dir / "dev" / "deployment.zip").read_bytes()
    zip_key = f"petstore-dev/{hashlib.sha256(zip_body).hexdigest()}.zip"
    assert s3.get_object(Bucket=ARTIFACTS, Key=zip_key)["Body"].read() == zip_body
    layer_body = (build_dir / "dev" / "search-layer.zip").read_bytes()
    layer_key = f"petstore-dev/{hashlib.sha256(layer_body).hexdigest()}.zip"
    assert s3.get_object(Bucket=ARTIFACTS, Key=layer_key)["Body"].read() == layer_body
    [url] = run.template_urls
    prefix = f"https://{ARTIFACTS}.s3.{REGION}.amazonaws.com/"
    assert url.startswith(prefix) and url.endswith(".template.json")
    template = read_json(s3, ARTIFACTS, url.removeprefix(prefix))
    expected = packaged_template()
    for resource in expected["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": ARTIFACTS, "Key": zip_key}
    expected["Resources"]["SearchEngineLayer"]["Properties"]["ContentUri"] = {"Bucket": ARTIFACTS, "Key": layer_key}
    assert template == expand(expected, REGION)  # what CloudFormation runs: no transform left to it
    assert "Transform" not in template and template["Resources"]["SearchFunction"]["Type"] == "AWS::Lambda::Function"
    assert template["Resources"]["SearchFunction"]["Properties"]["Code"] == {"S3Bucket": ARTIFACTS, "S3Key": zip_key}
    # Progress, then where the shop is and what to do next.
    assert "ShopTable (AWS::DynamoDB::Table)" in out and "petstore-dev is CREATE_COMPLETE" in out
    assert "The shop: https://d111111abcdef8.cloudfront.net" in out
    api = (
        "https://d111111abcdef8.cloudfront.net/api (its own address, "
        "https://abc123.execute-api.us-east-1.amazonaws.com/api, refuses calls not sent by CloudFront)"
    )
    assert f"The API:  {api}" in out
    assert "AWS has e-mailed ops@example.com" in out
    assert "Order confirmations are off" in out
    assert f"--user-pool-id {pool['user_pool_id']} --username you@example.com --group-name admin" in out
    assert "make admin STAGE=dev EMAIL=" in out
    # The SPA, pointed at this stack.
    assert read_json(s3, site_bucket, "config.json") == {
        "api_url": "https://d111111abcdef8.cloudfront.net/api",
        "stage": "dev",
        "admin_role": "admin",
        "auth": {
            "provider": "cognito",
            "region": "us-east-1",
            "user_pool_id": pool["user_pool_id"],
            "client_id": pool["client_id"],
        },
    }
    index = s3.get_object(Bucket=site_bucket, Key="index.html")["Body"].read().decode()
    assert "https://d111111abcdef8.cloudfront.net https://cognito-idp.us-east-1.amazonaws.com" in index
    # CloudFront drops its copies of the previous files.
    [invalidation] = boto3.client("cloudfront").list_invalidations(DistributionId=distribution)["InvalidationList"][
        "Items"
    ]
    assert f"Invalidated /* on CloudFront {distribution}: {invalidation['Id']}" in out
    assert "Smoke test skipped (SMOKE=0, --no-smoke)." in out.splitlines()[-1]
    assert run.sleeps == [0.0]  # one wait between the two polls, of the injected length


def test_a_second_deploy_without_changes_deletes_the_empty_change_set_and_succeeds(
    run: Deployer, s3: Any, site_bucket: str, pool: dict[str, str]
) -> None:
    current = stack("dev", "UPDATE_COMPLETE", stack_outputs(site_bucket, pool), dict.fromkeys(PARAMETERS, ""))
    run.cfn.has_stack(current)
    run.cfn.change_set("UPDATE", KEEP_ALL, status="FAILED", reason=NO_CHANGES)

    code, out, err = run("deploy", "--stage", "dev")

    assert code == 0, err
    assert "petstore-dev: nothing to change (the empty change set was deleted)." in out
    assert "Executing" not in out
    assert read_json(s3, site_bucket, "config.json")["auth"]["user_pool_id"] == pool["user_pool_id"]
    # A stack from before its SiteDistributionId output: published, not invalidated, and it says so.
    assert "Not invalidating CloudFront's copies: the stack has no SiteDistributionId output" in out


def test_the_uploads_are_content_addressed_so_an_unchanged_stage_uploads_nothing_new(s3: Any, build_dir: Path) -> None:
    from infra import artifacts

    lines: list[str] = []
    artifacts.ensure_bucket(s3, ARTIFACTS, "123456789012", REGION, lines.append)
    first = artifacts.upload_stage(s3, ARTIFACTS, REGION, build_dir / "dev", "petstore-dev", lines.append)
    lines.clear()
    second = artifacts.upload_stage(s3, ARTIFACTS, REGION, build_dir / "dev", "petstore-dev", lines.append)

    assert first == second
    assert len(lines) == 3 and all(line.endswith("is already uploaded") for line in lines)
    assert len(s3.list_objects_v2(Bucket=ARTIFACTS)["Contents"]) == 3  # the zip, the layer, the template


def test_an_artifacts_bucket_made_by_an_older_version_gets_tls_only_and_the_lifecycle_keeping_its_own_rules(
    s3: Any,
) -> None:
    s3.create_bucket(Bucket=ARTIFACTS)  # as an older deploy left it: no policy, no lifecycle...
    theirs = {"ID": "archive-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 7}}
    s3.put_bucket_lifecycle_configuration(Bucket=ARTIFACTS, LifecycleConfiguration={"Rules": [theirs]})
    said: list[str] = []

    artifacts.ensure_bucket(s3, ARTIFACTS, "123456789012", REGION, said.append)

    assert said == [
        f"The artifacts bucket s3://{ARTIFACTS} takes TLS requests only (bucket policy).",
        f"The artifacts bucket s3://{ARTIFACTS} aborts incomplete uploads after a day "
        "and expires objects after 180 days (lifecycle).",
    ]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=ARTIFACTS)["Rules"]}
    assert set(rules) == {"archive-logs", "abort-incomplete-uploads", "expire-old-artifacts"}
    assert rules["archive-logs"]["Expiration"] == {"Days": 7}
    assert rules["expire-old-artifacts"]["Expiration"] == {"Days": 180}
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_a_configured_artifacts_bucket_is_only_read_on_the_next_deploy(aws: str, s3: Any) -> None:
    kept_on = boto3.client("s3")  # no policy lifted: nothing here reads or writes an object
    artifacts.ensure_bucket(kept_on, ARTIFACTS, "123456789012", REGION, print)
    calls: list[str] = []
    kept_on.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    said: list[str] = []

    artifacts.ensure_bucket(kept_on, ARTIFACTS, "123456789012", REGION, said.append)

    assert calls == ["HeadBucket", "GetBucketPolicy", "GetBucketLifecycleConfiguration"]
    assert said == []


def test_the_artifacts_bucket_refuses_requests_without_tls(aws: str, s3: Any) -> None:
    kept_on = boto3.client("s3")  # moto's endpoint is plain http: the policy must refuse it
    artifacts.ensure_bucket(kept_on, ARTIFACTS, "123456789012", REGION, print)

    with pytest.raises(ClientError) as refused:
        kept_on.put_object(Bucket=ARTIFACTS, Key="petstore-dev/x.zip", Body=b"zip")

    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert json.loads(kept_on.get_bucket_policy(Bucket=ARTIFACTS)["Policy"])["Statement"] == [tls_only(ARTIFACTS)]


def test_an_upload_renews_an_object_a_month_old_so_what_a_stack_runs_does_not_expire(s3: Any) -> None:
    artifacts.ensure_bucket(s3, ARTIFACTS, "123456789012", REGION, print)
    key, body = "petstore-dev/0123.zip", b"the code"
    said: list[str] = []
    artifacts.upload(s3, ARTIFACTS, key, body, said.append)
    uploaded = s3.head_object(Bucket=ARTIFACTS, Key=key)["LastModified"]
    copies: list[dict[str, Any]] = []
    s3.meta.events.register("provide-client-params.s3.CopyObject", lambda params, **_: copies.append(params))

    artifacts.upload(s3, ARTIFACTS, key, body, said.append, now=uploaded + timedelta(days=29))
    assert copies == []  # recent enough: left as it is
    artifacts.upload(s3, ARTIFACTS, key, body, said.append, now=uploaded + timedelta(days=31))

    assert [(c["CopySource"], c["Key"], c["MetadataDirective"]) for c in copies] == [
        (f"{ARTIFACTS}/{key}", key, "REPLACE")  # onto itself: a new object, whose age starts again
    ]
    assert said[1] == f"  s3://{ARTIFACTS}/{key} is already uploaded"
    assert (
        said[2] == f"  s3://{ARTIFACTS}/{key} is already uploaded (31 days ago: renewed, so it does not expire in use)"
    )
    assert s3.get_object(Bucket=ARTIFACTS, Key=key)["Body"].read() == body


def test_an_update_passes_the_given_parameters_and_keeps_the_others(
    run: Deployer, site_bucket: str, pool: dict[str, str]
) -> None:
    outputs = stack_outputs(site_bucket, pool)
    before = {**dict.fromkeys(PARAMETERS, "0"), "AlarmEmail": "ops@example.com", "NotifyFrom": ""}
    after = {**before, "NotifyFrom": "orders@shop.example", "SearchReservedConcurrency": "20"}
    run.cfn.has_stack(stack("dev", "UPDATE_COMPLETE", outputs, before))
    run.cfn.change_set(
        "UPDATE",
        [
            {"ParameterKey": "AlarmEmail", "UsePreviousValue": True},
            {"ParameterKey": "NotifyFrom", "ParameterValue": "orders@shop.example"},
            {"ParameterKey": "SearchReservedConcurrency", "ParameterValue": "20"},
            {"ParameterKey": "PurchaseReservedConcurrency", "UsePreviousValue": True},
            {"ParameterKey": "AdminReservedConcurrency", "UsePreviousValue": True},
        ],
    )
    run.cfn.history.append(event("dev", 0, "petstore-dev", "UPDATE_COMPLETE"))
    run.cfn.execute()
    run.cfn.poll(
        stack("dev", "UPDATE_COMPLETE", outputs, after),
        event("dev", 1, "petstore-dev", "UPDATE_IN_PROGRESS"),
        event("dev", 2, "SearchFunction", "UPDATE_COMPLETE", "AWS::Lambda::Function"),
        event("dev", 3, "petstore-dev", "UPDATE_COMPLETE"),
    )

    code, out, err = run(
        "deploy",
        "--stage",
        "dev",
        "--notify-from",
        "orders@shop.example",
        "--parameter",
        "SearchReservedConcurrency=20",
    )

    assert code == 0, err
    assert "aws ses verify-email-identity --email-address orders@shop.example --region us-east-1" in out
    # Only this operation's events are shown, not the stack's earlier history.
    assert printed_events(out) == [
        ("UPDATE_IN_PROGRESS", "petstore-dev"),
        ("UPDATE_COMPLETE", "SearchFunction"),
        ("UPDATE_COMPLETE", "petstore-dev"),
    ]


def test_an_unknown_parameter_is_refused_before_anything_is_uploaded(run: Deployer, s3: Any) -> None:
    run.cfn.has_stack(stack("dev", "UPDATE_COMPLETE", {}, dict.fromkeys(PARAMETERS, "")))

    code, _, err = run("deploy", "--stage", "dev", "--parameter", "ReservedConcurrency=50")

    assert code == 1
    assert "no parameter ReservedConcurrency" in err and "SearchReservedConcurrency" in err
    assert ARTIFACTS not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_failed_create_prints_the_reasons_and_exits_non_zero(run: Deployer, s3: Any, site_bucket: str) -> None:
    cfn = run.cfn
    cfn.no_stack()
    cfn.change_set("CREATE", [])
    cfn.history.append(event("dev", 0, "petstore-dev", "REVIEW_IN_PROGRESS"))
    cfn.execute()
    cfn.poll(
        stack("dev", "ROLLBACK_COMPLETE"),
        event("dev", 1, "petstore-dev", "CREATE_IN_PROGRESS"),
        event("dev", 2, "SearchFunction", "CREATE_FAILED", "AWS::Lambda::Function", CONCURRENCY_REASON),
        event("dev", 3, "ShopTable", "CREATE_FAILED", "AWS::DynamoDB::Table", "Resource creation cancelled"),
        event("dev", 4, "petstore-dev", "ROLLBACK_IN_PROGRESS", reason="The following resource(s) failed to create"),
        event("dev", 5, "petstore-dev", "ROLLBACK_COMPLETE"),
    )

    code, out, err = run("deploy", "--stage", "dev")

    assert code == 1
    assert "creating petstore-dev failed: petstore-dev is ROLLBACK_COMPLETE. Why:" in err
    first_reason = err.split("Why:\n")[1].splitlines()[0]
    assert first_reason.startswith("  - SearchFunction (AWS::Lambda::Function): Resource handler returned")
    assert "below its minimum value of [10]" in first_reason
    assert "The shop:" not in out
    assert "Versions" not in s3.list_object_versions(Bucket=site_bucket)  # nothing published


def test_a_stack_left_in_rollback_complete_is_deleted_before_it_is_created_again(
    run: Deployer, site_bucket: str, pool: dict[str, str]
) -> None:
    cfn = run.cfn
    cfn.has_stack(stack("dev", "ROLLBACK_COMPLETE"))
    cfn.history.append(event("dev", 0, "petstore-dev", "ROLLBACK_COMPLETE"))
    cfn.delete()
    cfn.poll(stack("dev", "DELETE_COMPLETE"), event("dev", 1, "petstore-dev", "DELETE_COMPLETE"))
    cfn.change_set("CREATE", [])
    cfn.history.clear()
    created(cfn, stack_outputs(site_bucket, pool))

    code, out, err = run("deploy", "--stage", "dev")

    assert code == 0, err
    assert "petstore-dev is ROLLBACK_COMPLETE: its first create failed" in out
    assert out.index("DELETE_COMPLETE") < out.index("Creating a change set (CREATE)")


def test_a_busy_stack_is_left_alone(run: Deployer) -> None:
    run.cfn.has_stack(stack("dev", "UPDATE_IN_PROGRESS"))

    code, _, err = run("deploy", "--stage", "dev")

    assert code == 1 and "petstore-dev is busy (UPDATE_IN_PROGRESS)" in err


def test_a_wait_is_bounded(run: Deployer) -> None:
    cfn = run.cfn
    cfn.no_stack()
    cfn.change_set("CREATE", [])
    cfn.history.append(event("dev", 0, "petstore-dev", "REVIEW_IN_PROGRESS"))
    cfn.execute()
    cfn.poll(stack("dev", "CREATE_IN_PROGRESS"), event("dev", 1, "petstore-dev", "CREATE_IN_PROGRESS"))
    ticks = iter([0.0, 0.0, 7200.0])  # the change set's wait starts; the stack's starts, then two hours pass

    code = deploy.main(
        ["deploy", "--stage", "dev", "--build-dir", str(run.build_dir)],
        aws=run.aws,
        watch=Watch(poll_seconds=0.0, sleep=run.sleeps.append, clock=lambda: next(ticks)),
    )

    assert code == 1
    assert "petstore-dev is still CREATE_IN_PROGRESS after 90 minutes" in run.capsys.readouterr().err


def a_stage_to_seed(
    run: Deployer, site_bucket: str, pool: dict[str, str], tmp_path: Path, deploys: int, **outputs: str
) -> tuple[str, list[dict[str, Any]], Path, deploy.DeployOptions]:
    """A stage with an empty table, deployed ``deploys`` times without changes, and a
    seed file of a few products of data/products.json (the same import, quicker):
    its table's name, the products, the file and SEED=1's options."""
    table_name = f"petstore-dev-ShopTable-{uuid.uuid4().hex[:6]}"
    create_table(boto3.client("dynamodb"), table_name)
    outs = {**stack_outputs(site_bucket, pool, table_name), **outputs}
    current = stack("dev", "UPDATE_COMPLETE", outs, dict.fromkeys(PARAMETERS, ""))
    for _ in range(deploys):
        run.cfn.has_stack(current)
        run.cfn.change_set("UPDATE", KEEP_ALL, status="FAILED", reason=NO_CHANGES)
    products = json.loads((ROOT / "data" / "products.json").read_text())[:3]
    seed_file = tmp_path / "products.json"
    seed_file.write_text(json.dumps(products))
    options = deploy.DeployOptions("dev", build_dir=run.build_dir, seed=True, seed_file=seed_file, smoke=False)
    return table_name, products, seed_file, options


def test_the_seed_goes_into_an_empty_table_only_unless_forced(
    run: Deployer, site_bucket: str, pool: dict[str, str], tmp_path: Path
) -> None:
    table_name, products, seed_file, options = a_stage_to_seed(run, site_bucket, pool, tmp_path, deploys=3)
    forced = dataclasses.replace(options, force_seed=True)
    watch = Watch(poll_seconds=0.0, sleep=run.sleeps.append)
    said: list[list[str]] = [[], [], []]

    for lines, chosen in zip(said, (options, options, forced), strict=True):
        deploy.deploy(run.aws, chosen, watch, lines.append)

    assert f"Seeded {table_name} with 3 products from {seed_file} (it was empty)." in said[0]
    assert any(line.startswith(f"Not seeding: {table_name} already holds items (SEED=force") for line in said[1])
    assert f"Seeded {table_name} with 3 products from {seed_file} (forced, although it held items)." in said[2]
    table = boto3.resource("dynamodb").Table(table_name)
    assert all(table.get_item(Key=product_key(p["id"])).get("Item") for p in products)


def test_seeding_a_stage_puts_a_drawn_photo_of_each_seed_product_in_its_uploads_bucket(
    run: Deployer, s3: Any, site_bucket: str, pool: dict[str, str], tmp_path: Path
) -> None:
    # GIVEN a stage whose table is empty, with its uploads bucket
    uploads = f"petstore-dev-uploadsbucket-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=uploads)
    table_name, products, _, options = a_stage_to_seed(
        run, site_bucket, pool, tmp_path, deploys=2, UploadsBucketName=uploads
    )
    watch = Watch(poll_seconds=0.0, sleep=run.sleeps.append)
    said: list[list[str]] = [[], []]

    # WHEN it is deployed with SEED=1, twice
    for lines in said:
        deploy.deploy(run.aws, options, watch, lines.append)

    # THEN each seed product has one photo, processing, whose upload is the product's drawn JPEG
    table = boto3.resource("dynamodb").Table(table_name)
    put = {item["Key"] for item in s3.list_objects_v2(Bucket=uploads).get("Contents", [])}
    assert len(put) == 3
    for product in products:
        photos = table.get_item(Key=product_key(product["id"]))["Item"]["photos"]
        assert [(p["state"], p["alt"]) for p in photos] == [("processing", product["name"][:MAX_ALT])]
        key = upload_key(product["id"], photos[0]["id"])
        assert key in put
        assert s3.get_object(Bucket=uploads, Key=key)["Body"].read() == photo_for(product)
    assert f"Put 3 seed photos in s3://{uploads}/uploads/" in " ".join(said[0])
    # AND the second deploy gives none more
    assert "Not seeding photos: every seed product in the table has one already." in said[1]


def test_an_auth0_stage_publishes_its_tenant_to_the_spa(
    run: Deployer, s3: Any, site_bucket: str, pool: dict[str, str], tmp_path: Path
) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["dev"]["environment_variables"].update(
        AUTH_PROVIDER="auth0", AUTH0_DOMAIN="shop.eu.auth0.com", AUTH0_AUDIENCE="https://api.shop.example"
    )
    chalice_config = tmp_path / "config.json"
    chalice_config.write_text(json.dumps(config))
    options = deploy.DeployOptions("dev", build_dir=run.build_dir, chalice_config=chalice_config, smoke=False)
    lines: list[str] = []

    with pytest.raises(deploy.StackError, match="uses Auth0: set AUTH0_SPA_CLIENT_ID"):
        deploy.deploy(run.aws, options, Watch(poll_seconds=0.0, sleep=run.sleeps.append), lines.append)
    config["stages"]["dev"]["environment_variables"]["AUTH0_SPA_CLIENT_ID"] = "spa-1"
    chalice_config.write_text(json.dumps(config))
    run.cfn.has_stack(stack("dev", "UPDATE_COMPLETE", stack_outputs(site_bucket, pool), dict.fromkeys(PARAMETERS, "")))
    run.cfn.change_set("UPDATE", KEEP_ALL, status="FAILED", reason=NO_CHANGES)
    deploy.deploy(run.aws, options, Watch(poll_seconds=0.0, sleep=run.sleeps.append), lines.append)

    assert read_json(s3, site_bucket, "config.json")["auth"] == {
        "provider": "auth0",
        "domain": "shop.eu.auth0.com",
        "audience": "https://api.shop.example",
        "client_id": "spa-1",
    }
    assert "- Give your admins the admin role in Auth0 (docs/auth.md)." in lines


def test_a_missing_layer_zip_is_refused_before_anything_is_uploaded(s3: Any, build_dir: Path) -> None:
    from infra import artifacts

    (build_dir / "dev" / "search-layer.zip").unlink()
    with pytest.raises(deploy.StackError, match=r"search-layer\.zip \(a ContentUri of .*\) is missing: package"):
        artifacts.upload_stage(s3, ARTIFACTS, REGION, build_dir / "dev", "petstore-dev", print)


# --- the search index ------------------------------------------------------------------------


def unchanged(run: Deployer, outputs: dict[str, str]) -> None:
    """An update that finds nothing to change (the stack is as the template says)."""
    run.cfn.has_stack(stack("dev", "UPDATE_COMPLETE", outputs, dict.fromkeys(PARAMETERS, "")))
    run.cfn.change_set("UPDATE", KEEP_ALL, status="FAILED", reason=NO_CHANGES)


def test_a_deploy_builds_the_index_of_a_stage_that_has_none_once(
    run: Deployer, s3: Any, site_bucket: str, pool: dict[str, str]
) -> None:
    outputs = stack_outputs(site_bucket, pool)
    s3.delete_object(Bucket=outputs["SearchIndexBucketName"], Key=deploy.INDEX_POINTER)  # an upgraded stage
    unchanged(run, outputs)
    invoked(run.lambda_, {"version": 1, "changes": 310, "rebuilt": True})

    code, out, err = run("deploy", "--stage", "dev")

    assert code == 0, err
    bucket = outputs["SearchIndexBucketName"]
    assert f"The stage has no search index yet (no s3://{bucket}/search-index/current.json)" in out
    assert "Rebuilding the search index of petstore-dev from its table (petstore-dev-indexer)..." in out
    assert 'Rebuilt the search index: {"version": 1, "changes": 310, "rebuilt": true}' in out
    assert out.index("Rebuilt the search index") < out.index("The shop:")
    # The next deploy finds the index the rebuild published, and builds none (no invoke is queued).
    s3.put_object(Bucket=bucket, Key=deploy.INDEX_POINTER, Body=b'{"version": 1}')
    unchanged(run, outputs)
    code, out, err = run("deploy", "--stage", "dev")
    assert code == 0, err
    assert "Rebuilding" not in out


def test_a_deploy_whose_index_cannot_be_built_says_the_stage_is_deployed_and_what_to_run(
    run: Deployer, s3: Any, site_bucket: str, pool: dict[str, str]
) -> None:
    outputs = stack_outputs(site_bucket, pool)
    s3.delete_object(Bucket=outputs["SearchIndexBucketName"], Key=deploy.INDEX_POINTER)
    unchanged(run, outputs)
    error = {"errorType": "Raced", "errorMessage": "another writer published version 2 first"}
    invoked(run.lambda_, error, error="Unhandled")

    code, out, err = run("deploy", "--stage", "dev")

    assert code == 1
    assert "petstore-dev is deployed, but its search index could not be built" in err
    assert "Raced: another writer published version 2 first" in err
    assert "run `make reindex STAGE=dev`" in err
    assert "files published" in out  # the shop was published before


# --- the smoke test ---------------------------------------------------------------------------


def test_a_deploy_whose_shop_does_not_answer_exits_non_zero_saying_the_stack_is_deployed(
    run: Deployer, site_bucket: str, pool: dict[str, str]
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # the shop's address, where nothing answers yet
    unchanged(run, stack_outputs(site_bucket, pool, site_url=nobody))
    run.smoke = True

    code, out, err = run("deploy", "--stage", "dev")

    assert code == 1
    assert f"Smoke test through {nobody} (CloudFront):" in out
    assert "petstore-dev is deployed, but the API's health does not answer through the shop's address" in err
    assert f"GET {nobody}/api/health -> no answer (ConnectionError" in err
    assert run.sleeps == list(smoke.PAUSES)  # the watch's pause, bounded; never slept
    assert out.index("Next:") < out.index("Smoke test through")  # what is left to do was said before


def test_reindex_rebuilds_the_index_from_the_table_and_prints_the_answer(run: Deployer) -> None:
    invoked(run.lambda_, {"version": 7, "changes": 1200, "rebuilt": True, "seconds": 2.5})

    code, out, err = run("reindex", "--stage", "dev")

    assert code == 0, err
    assert 'Rebuilt the search index: {"version": 7, "changes": 1200, "rebuilt": true, "seconds": 2.5}' in out


def test_a_failed_rebuild_exits_non_zero_with_the_error_and_the_end_of_its_log(run: Deployer) -> None:
    log = "\n".join(f"line {n}" for n in range(30)) + "\nTraceback: boom\n"
    invoked(run.lambda_, {"errorType": "ClientError", "errorMessage": "AccessDenied on Scan"}, "Unhandled", log)

    code, out, err = run("reindex", "--stage", "dev")

    assert code == 1
    assert "the rebuild failed in petstore-dev-indexer: ClientError: AccessDenied on Scan" in err
    tail = err.split("Its log ends with:\n")[1].splitlines()
    assert tail[-1] == "  Traceback: boom" and len(tail) == 10
    assert "Rebuilt" not in out


def test_reindex_of_a_stage_without_its_indexer_says_to_deploy_it(run: Deployer) -> None:
    run.lambda_.add_client_error(
        "invoke", "ResourceNotFoundException", "Function not found: petstore-dev-indexer", 404, expected_params=REBUILD
    )

    code, _, err = run("reindex", "--stage", "dev")

    assert code == 1
    assert "there is no function petstore-dev-indexer: run `make deploy STAGE=dev` first" in err


def test_reindex_is_a_make_target_of_the_stage() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "reindex: $(STAMP)\n\t$(PY) -m infra.deploy reindex --stage $(STAGE)\n" in makefile


# --- failing fast ------------------------------------------------------------------------------


@pytest.fixture()
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)


def test_without_credentials_deploy_says_how_to_configure_them(
    aws: str, no_credentials: None, build_dir: Path, capsys: Any
) -> None:
    code = deploy.main(["deploy", "--stage", "dev", "--build-dir", str(build_dir)])

    assert code == 1
    assert "no AWS credentials: run `aws configure`" in capsys.readouterr().err


def test_without_a_region_deploy_says_how_to_set_one(
    aws: str, monkeypatch: pytest.MonkeyPatch, build_dir: Path, capsys: Any, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    code = deploy.main(["destroy", "--stage", "dev"])

    assert code == 1
    assert "no AWS region: export AWS_REGION=" in capsys.readouterr().err


def test_an_unpackaged_stage_is_refused_with_the_command_that_packages_it(
    aws: str, no_credentials: None, tmp_path: Path, capsys: Any
) -> None:
    code = deploy.main(["deploy", "--stage", "prod", "--build-dir", str(tmp_path / "build")])

    assert code == 1
    assert "build/prod/template.json is missing: run `make package STAGE=prod` first" in capsys.readouterr().err


# --- destroy -----------------------------------------------------------------------------------


def test_destroy_empties_the_versioned_site_bucket_deletes_the_stack_and_names_what_is_kept(
    run: Deployer, s3: Any, site_bucket: str, pool: dict[str, str]
) -> None:
    for body in (b"one", b"two", b"three"):
        s3.put_object(Bucket=site_bucket, Key="index.html", Body=body)
    s3.put_object(Bucket=site_bucket, Key="config.json", Body=b"{}")
    s3.delete_object(Bucket=site_bucket, Key="config.json")  # a delete marker
    outputs = stack_outputs(site_bucket, pool)
    index_bucket = outputs["SearchIndexBucketName"]
    s3.put_object(Bucket=index_bucket, Key="search-index/files/0123abcd", Body=b"segment")
    run.cfn.has_stack(stack("dev", "UPDATE_COMPLETE", outputs))
    run.cfn.history.append(event("dev", 0, "petstore-dev", "UPDATE_COMPLETE"))
    run.cfn.delete()
    run.cfn.poll(stack("dev", "DELETE_IN_PROGRESS"), event("dev", 1, "petstore-dev", "DELETE_IN_PROGRESS"))
    run.cfn.poll(
        stack("dev", "DELETE_COMPLETE"),
        event("dev", 2, "SiteBucket", "DELETE_COMPLETE", "AWS::S3::Bucket"),
        event("dev", 3, "ShopTable", "DELETE_SKIPPED", "AWS::DynamoDB::Table"),
        event("dev", 4, "petstore-dev", "DELETE_COMPLETE"),
    )
    versions_when_deleted: list[int] = []

    def count_versions(**_: Any) -> None:
        for bucket in (site_bucket, index_bucket):
            listed = s3.list_object_versions(Bucket=bucket)
            versions_when_deleted.append(len(listed.get("Versions", []) + listed.get("DeleteMarkers", [])))

    run.aws.cloudformation.meta.events.register("provide-client-params.cloudformation.DeleteStack", count_versions)

    code, out, err = run("destroy", "--stage", "dev")

    assert code == 0, err
    assert versions_when_deleted == [0, 0]  # CloudFormation deletes only empty buckets
    assert f"Emptied s3://{site_bucket} (5 object versions and delete markers)." in out
    assert f"Emptied s3://{index_bucket} (2 object versions and delete markers)." in out
    assert ("DELETE_SKIPPED", "ShopTable") in printed_events(out) and "petstore-dev is deleted." in out
    retained = out.split("Retained (not deleted):\n")[1]
    assert "- the table petstore-dev-ShopTable-1X2Y" in retained
    assert f"- the user pool {pool['user_pool_id']}" in retained
    assert f"- the artifacts bucket s3://{ARTIFACTS}" in retained
    assert (
        f"- the role {LOGGING_ROLE} API Gateway writes logs with (shared by the account's APIs in us-east-1)"
        in retained
    )
    assert "log group" not in retained  # the stack owns them: they go with it
    assert "search" not in retained  # the index is derived: it goes with the stack
    assert "make destroy STAGE=dev PURGE=1" in retained
    boto3.client("cognito-idp").describe_user_pool(UserPoolId=pool["user_pool_id"])  # still there


def test_destroy_without_a_stack_has_nothing_to_do(run: Deployer) -> None:
    run.cfn.no_stack()

    code, out, _ = run("destroy", "--stage", "dev")

    assert code == 0 and "There is no stack petstore-dev: nothing to destroy." in out


@pytest.mark.parametrize("stage", ["prod"])
def test_purging_prod_deletes_its_protected_table_and_pool_only_when_confirmed(
    run: Deployer, site_bucket: str, pool: dict[str, str]
) -> None:
    dynamodb = boto3.client("dynamodb")
    table_name = f"petstore-prod-ShopTable-{uuid.uuid4().hex[:6]}"
    create_table(dynamodb, table_name)
    dynamodb.update_table(TableName=table_name, DeletionProtectionEnabled=True)

    refused = run("destroy", "--stage", "prod", "--purge")

    assert refused[0] == 1 and "add CONFIRM=prod to go ahead" in refused[2]
    assert dynamodb.describe_table(TableName=table_name)["Table"]["DeletionProtectionEnabled"]

    run.cfn.has_stack(stack("prod", "UPDATE_COMPLETE", stack_outputs(site_bucket, pool, table_name)))
    run.cfn.history.append(event("prod", 0, "petstore-prod", "UPDATE_COMPLETE"))
    run.cfn.delete()
    run.cfn.poll(stack("prod", "DELETE_COMPLETE"), event("prod", 1, "petstore-prod", "DELETE_COMPLETE"))

    code, out, err = run("destroy", "--stage", "prod", "--purge", "--confirm", "prod")

    assert code == 0, err
    assert table_name not in dynamodb.list_tables()["TableNames"]
    with pytest.raises(boto3.client("cognito-idp").exceptions.ResourceNotFoundException):
        boto3.client("cognito-idp").describe_user_pool(UserPoolId=pool["user_pool_id"])
    assert f"Turned off the deletion protection of {table_name}." in out
    retained = out.split("Retained (not deleted):\n")[1]
    assert "table" not in retained and "user pool" not in retained and ARTIFACTS in retained


# --- the first admin ---------------------------------------------------------------------------


def test_make_admin_puts_a_signed_up_account_in_the_admin_group(
    run: Deployer, site_bucket: str, pool: dict[str, str]
) -> None:
    cognito = boto3.client("cognito-idp")
    email = f"owner-{uuid.uuid4().hex[:6]}@example.com"
    cognito.sign_up(ClientId=pool["client_id"], Username=email, Password="Owner-pass-123")
    current = stack("dev", "UPDATE_COMPLETE", stack_outputs(site_bucket, pool))
    run.cfn.has_stack(current)
    run.cfn.has_stack(current)

    code, out, err = run("admin", "--stage", "dev", "--email", email)
    unknown = run("admin", "--stage", "dev", "--email", "nobody@example.com")

    assert code == 0, err
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool["user_pool_id"], Username=email)["Groups"]
    assert [g["GroupName"] for g in groups] == ["admin"]
    assert f"{email} is in the group admin of {pool['user_pool_id']}" in out
    assert unknown[0] == 1
    assert (
        "no account nobody@example.com" in unknown[2]
        and "sign up at https://d111111abcdef8.cloudfront.net" in unknown[2]
    )


def test_an_event_line_shows_its_time_status_resource_and_reason() -> None:
    from infra.cloudformation import describe_event

    line = describe_event(event("dev", 2, "ShopTable", "CREATE_FAILED", "AWS::DynamoDB::Table", "quota"))

    assert line == f"  {T0:%H:%M}:02  CREATE_FAILED        ShopTable (AWS::DynamoDB::Table): quota"


def test_make_admin_uses_the_stages_admin_role_setting(
    run: Deployer, site_bucket: str, pool: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cognito = boto3.client("cognito-idp")
    cognito.create_group(UserPoolId=pool["user_pool_id"], GroupName="catalog-admins")  # the template's, so named
    email = f"owner-{uuid.uuid4().hex[:6]}@example.com"
    cognito.sign_up(ClientId=pool["client_id"], Username=email, Password="Owner-pass-123")
    run.cfn.has_stack(stack("dev", "UPDATE_COMPLETE", stack_outputs(site_bucket, pool)))
    settings = {"STAGE": "dev", "AUTH_PROVIDER": "cognito", "ADMIN_ROLE": "catalog-admins"}
    monkeypatch.setattr(deploy, "chalice_stage_environment", lambda stage, *_: settings)

    code, out, err = run("admin", "--stage", "dev", "--email", email)

    assert code == 0, err
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool["user_pool_id"], Username=email)["Groups"]
    assert [g["GroupName"] for g in groups] == ["catalog-admins"]
    assert f"{email} is in the group catalog-admins of" in out
