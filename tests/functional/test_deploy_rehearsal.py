"""`make deploy` and `make destroy` rehearsed against moto's CloudFormation: the real flow, the real stack.

build/dev/ as `make package STAGE=dev` leaves it (copied first: a rebuild meanwhile cannot change it
midway) is deployed by infra/deploy.py itself: the artifacts bucket, the upload of the zips and of the
template the deploy expands, API Gateway's logging role, a change set in moto's CloudFormation, the
outputs, the SPA's publication and invalidation, the first index build. Then, on the same stage:

1. an update through the command line (``--alarm-email``, ``--notify-from``): a real change;
2. a deploy with nothing new: the empty change set is deleted, nothing changes;
3. a destroy: the stack goes, its table and user pool (with its client and admin group) stay;
4. a deploy again: a new stack, with a new table and user pool;
5. a destroy with ``--purge``: the table and the user pool go too (the rest of the account is
   emptied after, so nothing of the rehearsal stays in moto's memory).

After each step the outputs the shop's configuration is built from are looked up in moto's services:
the table in DynamoDB, the pool, its client and the admin group in Cognito, the distribution and its
origins in CloudFront, the API's routes and authorizer in API Gateway, the functions and their
settings in Lambda, config.json in the site bucket.

It all runs as an AWS account of its own in the session's moto server (moto's ``x-moto-account-id``),
whose IAM holds AWS's managed policies, as an account does; moto's waits are synchronous, and the
``Watch`` never sleeps (a pause would be recorded, and the test says none was needed).

moto's gaps are covered in tests/support/rehearsal.py and nowhere else; ``GAPS`` there probes each
against moto as it ships, and a test here fails when moto no longer has one. What moto still does not
create (its CloudFormation has no model of the type: alarms, CloudFront policies, bucket policies, the
API's stage and usage plan...) is listed resource by resource in a ``RehearsalGap`` warning, which
every `make test` run shows in its warnings summary; the test also prints it (`pytest -rA`).

Not rehearsed, and why:

- the smoke test (``smoke=False``, ``--no-smoke``): it requests the shop's CloudFront address, which
  moto only names;
- seeding (``--seed``): moto hands the table's stream to the functions through docker whatever its
  Lambda setting (``send_dynamodb_items`` in moto/awslambda/models.py calls the function itself);
- the indexer's work: moto's Lambda without docker answers an invocation with its own payload, so a
  deploy's index build proves the indexer is invoked by name with the rebuild event, not that it
  indexes (the stage still has no index at the next deploy, which invokes it again);
- the functions' layers: moto's Lambda model ignores ``Layers`` when it creates a function.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import deploy, package
from infra.cloudformation import Watch, stack_name
from infra.functions import FUNCTIONS
from infra.session import Aws, connect
from tests.support.rehearsal import (
    GAPS,
    account_session,
    installed,
    instant_watch,
    lambda_without_docker,
    load_managed_policies,
    not_created,
    shimmed_types,
)

ACCOUNT = "111122223333"  # the rehearsal's own: no other test's state in it
STAGE = "dev"
NAME = stack_name(STAGE)
ALARM_EMAIL = "ops@example.com"
SENDER = "orders@example.com"
DEPLOYED = ("created", "updated", "unchanged", "again")

pytestmark = [
    # moto warns of each type it cannot create, one warning a type: RehearsalGap lists them by resource.
    pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning"),
    pytest.mark.filterwarnings("ignore:Unable to delete:UserWarning"),
]


class RehearsalGap(UserWarning):
    """Resources of the stage's stack moto did not create (tests/support/rehearsal.py says why)."""


@dataclass
class Step:
    """One command of the rehearsal: what it printed and returned, and what moto held right after it."""

    lines: list[str]
    outputs: dict[str, str] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)


@dataclass
class Rehearsal:
    steps: dict[str, Step] = field(default_factory=dict)
    pauses: list[float] = field(default_factory=list)


# --- the rehearsal --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rehearsal(aws: str, built_stage: Any, tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    """The whole cycle, run once; moto is as it ships again when the tests look at it."""
    built_stage(STAGE)  # build/dev/ is current
    build = tmp_path_factory.mktemp("build")
    shutil.copytree(package.BUILD / STAGE, build / STAGE)
    session = account_session(ACCOUNT)
    load_managed_policies(session)
    run = Rehearsal()
    with lambda_without_docker(aws), installed():
        clients = connect(session)
        assert clients.account == ACCOUNT
        assert deploy.describe(clients.cloudformation, NAME) is None, f"{NAME} is left from an earlier run"
        try:
            rehearse(clients, build, run)
        finally:
            clean_up(clients)
    return run


def rehearse(aws: Aws, build: Path, run: Rehearsal) -> None:
    watch = instant_watch(run.pauses)
    options = deploy.DeployOptions(STAGE, build_dir=build, smoke=False)
    run.steps["created"] = deployed(aws, "first deploy", lambda out: deploy.deploy(aws, options, watch, out))
    update = ["--stage", STAGE, "--alarm-email", ALARM_EMAIL, "--notify-from", SENDER, "--no-smoke"]
    argv = ["deploy", *update, "--build-dir", str(build)]
    run.steps["updated"] = deployed(aws, "update", lambda out: command(argv, aws, watch, out))
    run.steps["unchanged"] = deployed(aws, "deploy of nothing new", lambda out: deploy.deploy(aws, options, watch, out))
    run.steps["destroyed"] = destroyed(aws, run.steps["unchanged"].outputs, False, watch)
    run.steps["again"] = deployed(aws, "deploy after destroy", lambda out: deploy.deploy(aws, options, watch, out))
    run.steps["again"].seen["first table kept"] = exists(
        aws.dynamodb.meta.client.describe_table, TableName=run.steps["created"].outputs["TableName"]
    )
    run.steps["purged"] = destroyed(aws, run.steps["again"].outputs, True, watch)


def command(argv: list[str], aws: Aws, watch: Watch, out: Callable[[str], None]) -> None:
    """`python -m infra.deploy ...` as `make deploy` runs it; what it prints becomes ``out``'s lines."""
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        code = deploy.main(argv, aws=aws, watch=watch)
    for line in printed.getvalue().splitlines():
        out(line)
    assert code == 0, f"python -m infra.deploy {' '.join(argv)} failed:\n{errors.getvalue()}"


@contextlib.contextmanager
def step_named(what: str, step: Step) -> Iterator[None]:
    """A failure says which step of the rehearsal it was, and the last lines the command printed."""
    try:
        yield
    except Exception as exc:
        said = "\n".join(f"  {line}" for line in step.lines[-12:])
        raise AssertionError(f"the rehearsal's {what} failed: {exc}\nIts last lines:\n{said}") from exc


def deployed(aws: Aws, what: str, run: Callable[[Callable[[str], None]], Any]) -> Step:
    step = Step(lines=[])
    with step_named(what, step):
        run(step.lines.append)
    stack = deploy.describe(aws.cloudformation, NAME)
    assert stack is not None, "\n".join(step.lines)
    step.outputs = deploy.outputs(stack)
    step.seen = observe(aws, stack, step.outputs)
    step.missing = not_created(aws.cloudformation, NAME)
    return step


def destroyed(aws: Aws, outputs: Mapping[str, str], purge: bool, watch: Watch) -> Step:
    step = Step(lines=[], outputs=dict(outputs))
    with step_named("destroy --purge" if purge else "destroy", step):
        deploy.destroy(aws, STAGE, purge, None, watch, step.lines.append)
    step.seen = observe_gone(aws, outputs)
    return step


def clean_up(aws: Aws) -> None:
    """The rehearsal's account emptied: its stack, what the stack retains, the artifacts bucket."""
    if deploy.describe(aws.cloudformation, NAME) is not None:
        deploy.destroy(aws, STAGE, True, None, instant_watch([]), lambda _: None)
    for table in aws.dynamodb.meta.client.list_tables()["TableNames"]:
        aws.dynamodb.meta.client.delete_table(TableName=table)
    for pool in aws.cognito.list_user_pools(MaxResults=60)["UserPools"]:
        aws.cognito.delete_user_pool(UserPoolId=pool["Id"])
    for bucket in aws.s3.list_buckets()["Buckets"]:
        aws.s3.delete_bucket_policy(Bucket=bucket["Name"])
        deploy.empty_bucket(aws.s3, bucket["Name"], lambda _: None)
        aws.s3.delete_bucket(Bucket=bucket["Name"])


# --- what moto holds ------------------------------------------------------------------------------


def exists(call: Callable[..., Any], **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except ClientError:
        return False
    return True


def function_name(key: str) -> str:
    return f"{NAME}-{key}"


def observe(aws: Aws, stack: Mapping[str, Any], outs: Mapping[str, str]) -> dict[str, Any]:
    """What moto's services answer for the stack's outputs."""
    table = aws.dynamodb.meta.client.describe_table(TableName=outs["TableName"])["Table"]
    pool, client = outs["UserPoolId"], outs["UserPoolClientId"]
    site = outs["SiteBucketName"]
    return {
        "status": stack["StackStatus"],
        "parameters": deploy.parameters(stack),
        "change sets": [
            (s["Status"], s["ExecutionStatus"])
            for s in aws.cloudformation.list_change_sets(StackName=NAME)["Summaries"]
        ],
        "table": (table["TableStatus"], table.get("StreamSpecification", {}).get("StreamEnabled")),
        "pool": aws.cognito.describe_user_pool(UserPoolId=pool)["UserPool"]["Name"],
        "client": aws.cognito.describe_user_pool_client(UserPoolId=pool, ClientId=client)["UserPoolClient"],
        "groups": sorted(g["GroupName"] for g in aws.cognito.list_groups(UserPoolId=pool)["Groups"]),
        "site files": sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=site).get("Contents", [])),
        "config": json.loads(aws.s3.get_object(Bucket=site, Key="config.json")["Body"].read()),
        "index bucket": exists(aws.s3.head_bucket, Bucket=outs["SearchIndexBucketName"]),
        "distribution": distribution(aws, outs["SiteDistributionId"]),
        "api": rest_api(aws, outs["RestAPIId"]),
        "functions": {
            f.key: aws.lambda_.get_function_configuration(FunctionName=function_name(f.key)) for f in FUNCTIONS
        },
        "reserved": {
            f.key: aws.lambda_.get_function_concurrency(FunctionName=function_name(f.key)).get(
                "ReservedConcurrentExecutions"
            )
            for f in FUNCTIONS
        },
    }


def distribution(aws: Aws, distribution_id: str) -> dict[str, Any]:
    found = aws.cloudfront.get_distribution(Id=distribution_id)["Distribution"]
    config = found["DistributionConfig"]
    behaviours = config.get("CacheBehaviors", {}).get("Items", [])
    invalidations = aws.cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    return {
        "domain": found["DomainName"],
        "origins": {o["Id"]: o["DomainName"] for o in config["Origins"]["Items"]},
        "routes": {b["PathPattern"]: b["TargetOriginId"] for b in behaviours}
        | {"*": config["DefaultCacheBehavior"]["TargetOriginId"]},
        "invalidations": invalidations.get("Quantity", 0),
    }


def rest_api(aws: Aws, api_id: str) -> dict[str, Any]:
    """The API's routes: path -> method -> (the function it calls, the authorizer's function or None)."""
    authorizers = {
        a["id"]: invoked(a["authorizerUri"]) for a in aws.apigateway.get_authorizers(restApiId=api_id)["items"]
    }
    routes: dict[str, dict[str, tuple[str | None, str | None]]] = {}
    for resource in aws.apigateway.get_resources(restApiId=api_id, embed=["methods"])["items"]:
        for verb, method in resource.get("resourceMethods", {}).items():
            integration = method.get("methodIntegration", {})
            target = invoked(integration["uri"]) if integration.get("type") == "AWS_PROXY" else None
            routes.setdefault(resource["path"], {})[verb] = (target, authorizers.get(method.get("authorizerId", "")))
    return {"name": aws.apigateway.get_rest_api(restApiId=api_id)["name"], "routes": routes}


def invoked(uri: str) -> str:
    """arn:aws:apigateway:...:lambda:path/2015-03-31/functions/<function ARN>/invocations -> the function's name."""
    return uri.split("/functions/", 1)[1].removesuffix("/invocations").rsplit(":", 1)[-1]


def observe_gone(aws: Aws, outs: Mapping[str, str]) -> dict[str, Any]:
    return {
        "stack": deploy.describe(aws.cloudformation, NAME) is not None,
        "site bucket": exists(aws.s3.head_bucket, Bucket=outs["SiteBucketName"]),
        "index bucket": exists(aws.s3.head_bucket, Bucket=outs["SearchIndexBucketName"]),
        "distribution": exists(aws.cloudfront.get_distribution, Id=outs["SiteDistributionId"]),
        "api": exists(aws.apigateway.get_rest_api, restApiId=outs["RestAPIId"]),
        "functions": [f.key for f in FUNCTIONS if exists(aws.lambda_.get_function, FunctionName=function_name(f.key))],
        "table": exists(aws.dynamodb.meta.client.describe_table, TableName=outs["TableName"]),
        "pool": exists(aws.cognito.describe_user_pool, UserPoolId=outs["UserPoolId"]),
        "client": exists(
            aws.cognito.describe_user_pool_client, UserPoolId=outs["UserPoolId"], ClientId=outs["UserPoolClientId"]
        ),
        "admin group": exists(aws.cognito.get_group, UserPoolId=outs["UserPoolId"], GroupName="admin"),
    }


# --- the tests ------------------------------------------------------------------------------------


def test_a_new_stage_is_created_by_a_change_set_without_waiting(rehearsal: Rehearsal) -> None:
    created = rehearsal.steps["created"]

    assert created.said(f"Creating a change set (CREATE) for {NAME}...")
    assert created.said(f"{NAME} is CREATE_COMPLETE.")
    assert created.seen["status"] == "CREATE_COMPLETE"
    assert set(deploy.NEEDED_OUTPUTS) <= set(created.outputs)
    assert rehearsal.pauses == []  # moto's CloudFormation settles at once: the deploy never waited


@pytest.mark.parametrize("step", ["created", "again"])
def test_the_outputs_name_resources_moto_holds(rehearsal: Rehearsal, step: str) -> None:
    outs, seen = rehearsal.steps[step].outputs, rehearsal.steps[step].seen

    assert seen["table"] == ("ACTIVE", True)
    assert seen["pool"] == f"petstore-{STAGE}"
    assert seen["client"]["ClientName"] == "spa" and not seen["client"].get("ClientSecret")
    assert seen["groups"] == ["admin"]
    assert seen["index bucket"]
    assert outs["SiteUrl"] == f"https://{seen['distribution']['domain']}"
    assert outs["ApiUrl"] == f"https://{outs['RestAPIId']}.execute-api.us-east-1.amazonaws.com/api"
    assert seen["api"]["name"] == NAME


@pytest.mark.parametrize("step", DEPLOYED)
def test_the_published_shop_is_pointed_at_its_own_stack(rehearsal: Rehearsal, step: str) -> None:
    outs, seen = rehearsal.steps[step].outputs, rehearsal.steps[step].seen

    assert seen["config"]["api_url"] == outs["SiteUrl"] + "/api"
    assert seen["config"]["auth"] == {
        "provider": "cognito",
        "region": "us-east-1",
        "user_pool_id": outs["UserPoolId"],
        "client_id": outs["UserPoolClientId"],
    }
    assert seen["config"]["stage"] == STAGE
    assert "index.html" in seen["site files"]
    assert seen["distribution"]["invalidations"] >= 1


def test_the_functions_get_the_stacks_resources_by_reference(rehearsal: Rehearsal) -> None:
    outs, seen = rehearsal.steps["created"].outputs, rehearsal.steps["created"].seen
    wanted = {
        "TABLE_NAME": outs["TableName"],
        "TABLE_STREAM_ARN": outs["TableStreamArn"],
        "COGNITO_USER_POOL_ID": outs["UserPoolId"],
        "COGNITO_CLIENT_ID": outs["UserPoolClientId"],
        "SEARCH_INDEX_BUCKET": outs["SearchIndexBucketName"],
        "LOW_STOCK_TOPIC_ARN": outs["LowStockTopicArn"],
        "FAILED_RECORDS_QUEUE_URL": outs["FailedRecordsQueueUrl"],
        "NOTIFY_FROM": "",
    }

    for key, configuration in seen["functions"].items():
        settings = configuration["Environment"]["Variables"]
        assert {name: settings.get(name) for name in wanted} == wanted, key
    # The *ReservedConcurrency parameters are 0 on a new stage: their conditions reserve none.
    assert set(seen["reserved"].values()) == {None}


def test_the_api_calls_the_stacks_functions_and_the_edge_sends_api_to_it(rehearsal: Rehearsal) -> None:
    outs, seen = rehearsal.steps["created"].outputs, rehearsal.steps["created"].seen
    names = {function_name(f.key) for f in FUNCTIONS}
    routes = seen["api"]["routes"]

    assert {"/health", "/products", "/orders"} <= set(routes)
    for path, methods in routes.items():
        for verb, (target, authorizer) in methods.items():
            assert verb == "OPTIONS" or target in names, (path, verb, target)
            assert authorizer in (None, function_name("authorizer")), (path, verb, authorizer)
    assert any(authorizer for methods in routes.values() for _, authorizer in methods.values())
    origins, edge_routes = seen["distribution"]["origins"], seen["distribution"]["routes"]
    assert origins["site"] == f"{outs['SiteBucketName']}.s3.us-east-1.amazonaws.com"
    assert origins["api"] == f"{outs['RestAPIId']}.execute-api.us-east-1.amazonaws.com"
    assert (edge_routes["api/*"], edge_routes["*"]) == ("api", "site")


def test_an_update_passes_new_parameters_to_the_stack_and_keeps_its_data(rehearsal: Rehearsal) -> None:
    created, updated = rehearsal.steps["created"], rehearsal.steps["updated"]

    assert updated.said(f"Creating a change set (UPDATE) for {NAME}...")
    assert updated.said(f"{NAME} is UPDATE_COMPLETE.")
    assert updated.seen["status"] == "UPDATE_COMPLETE"
    assert updated.seen["parameters"]["AlarmEmail"] == ALARM_EMAIL
    assert updated.seen["parameters"]["NotifyFrom"] == SENDER
    assert {k: c["Environment"]["Variables"]["NOTIFY_FROM"] for k, c in updated.seen["functions"].items()} == {
        f.key: SENDER for f in FUNCTIONS
    }
    assert updated.said(ALARM_EMAIL) and updated.said(SENDER)  # the next steps name them
    kept = ("TableName", "UserPoolId", "UserPoolClientId", "SiteBucketName", "SearchIndexBucketName", "SiteUrl")
    assert {k: updated.outputs[k] for k in kept} == {k: created.outputs[k] for k in kept}
    # HasAlarmEmail now holds: the template wants the subscription (which moto cannot make).
    assert "AlarmEmailSubscription" in updated.missing and "AlarmEmailSubscription" not in created.missing


def test_a_deploy_with_nothing_new_changes_nothing(rehearsal: Rehearsal) -> None:
    updated, unchanged = rehearsal.steps["updated"], rehearsal.steps["unchanged"]

    assert unchanged.said(f"{NAME}: nothing to change (the empty change set was deleted).")
    assert not unchanged.said("Executing it")
    assert unchanged.seen["status"] == "UPDATE_COMPLETE"
    assert unchanged.seen["parameters"] == updated.seen["parameters"]  # AlarmEmail, NotifyFrom kept
    assert unchanged.outputs == updated.outputs
    assert unchanged.seen["change sets"] == updated.seen["change sets"]  # the empty one is gone
    assert all(executed == "EXECUTE_COMPLETE" for _, executed in unchanged.seen["change sets"])


def test_destroy_deletes_the_stack_and_keeps_the_table_and_the_user_pool_with_its_client(rehearsal: Rehearsal) -> None:
    destroyed = rehearsal.steps["destroyed"]

    assert destroyed.seen == {
        "stack": False,
        "site bucket": False,
        "index bucket": False,
        "distribution": False,
        "api": False,
        "functions": [],
        "table": True,
        "pool": True,
        "client": True,
        "admin group": True,
    }
    assert destroyed.said(destroyed.outputs["TableName"]) and destroyed.said(destroyed.outputs["UserPoolId"])


def test_a_destroyed_stage_deploys_again_with_new_data(rehearsal: Rehearsal) -> None:
    first, again = rehearsal.steps["created"], rehearsal.steps["again"]

    assert again.said(f"Creating a change set (CREATE) for {NAME}...")
    assert again.seen["status"] == "CREATE_COMPLETE"
    assert again.outputs["TableName"] != first.outputs["TableName"]
    assert again.outputs["UserPoolId"] != first.outputs["UserPoolId"]
    assert again.seen["first table kept"]  # docs/deploy.md: the old data stays in the retained table


def test_a_purge_deletes_the_table_and_the_user_pool_too(rehearsal: Rehearsal) -> None:
    purged = rehearsal.steps["purged"]

    assert purged.seen["stack"] is False
    assert purged.seen["table"] is False and purged.seen["pool"] is False


@pytest.mark.parametrize("step", DEPLOYED)
def test_each_deploy_of_a_stage_without_an_index_invokes_its_indexer(rehearsal: Rehearsal, step: str) -> None:
    lines = rehearsal.steps[step]

    assert lines.said(f"({deploy.indexer_name(STAGE)})...")
    assert lines.said('Rebuilt the search index: {"rebuild": true}')  # moto's canned answer: the event itself


def test_moto_left_out_only_types_it_has_no_model_for(rehearsal: Rehearsal) -> None:
    from moto.cloudformation.parsing import get_model_map

    missing: dict[str, str] = {}
    for step in DEPLOYED:
        missing |= rehearsal.steps[step].missing
    report = "\n".join(f"  {name} ({kind})" for name, kind in sorted(missing.items()))
    print(f"moto did not create {len(missing)} resources of {NAME}:\n{report}")
    warnings.warn(RehearsalGap(f"moto did not create {len(missing)} resources of {NAME}:\n{report}"), stacklevel=1)

    assert {kind for kind in missing.values() if kind in get_model_map() or kind in shimmed_types()} == set()


@pytest.mark.parametrize("gap", sorted(GAPS))
def test_moto_still_has_the_gap_a_shim_covers(aws: str, gap: str) -> None:
    shim, probe = GAPS[gap]
    clients = {"cloudformation": boto3.client("cloudformation"), "s3": boto3.client("s3")}

    assert probe(clients), f"moto no longer has the gap {gap!r}: drop {shim} from tests/support/rehearsal.py"
