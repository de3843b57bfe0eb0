"""`make chalice-config` (infra/stage_config.py): a Chalice stage's environment and search layer from its stack."""

from __future__ import annotations

import difflib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra import stage_config
from infra.template import ROOT
from tests.support.stubbed_cloudformation import FakeCloudFormation, stack

COMMITTED = ROOT / ".chalice" / "config.json"
OUTPUTS = {
    "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/api",
    "SiteUrl": "https://d111111abcdef8.cloudfront.net",
    "SiteBucketName": "petstore-dev-sitebucket-1a2b",
    "TableName": "petstore-dev-ShopTable-1X2Y",
    "TableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/petstore-dev-ShopTable-1X2Y",
    "TableStreamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/petstore-dev-ShopTable-1X2Y/stream/2025",
    "UserPoolId": "eu-west-1_AbCdEf123",
    "UserPoolClientId": "client123",
    "LowStockTopicArn": "arn:aws:sns:eu-west-1:123456789012:petstore-dev-LowStockTopic-1",
    "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:petstore-dev-AlarmTopic-1",
    "FailedRecordsQueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/petstore-dev-FailedRecords-1",
    "SearchIndexBucketName": "petstore-dev-searchindexbucket-1a2b3c",
    "SearchEngineLayerArn": "arn:aws:lambda:eu-west-1:123456789012:layer:petstore-dev-search-engine:3",
}
FROM_STACK = {
    "TABLE_NAME": OUTPUTS["TableName"],
    "TABLE_STREAM_ARN": OUTPUTS["TableStreamArn"],
    "LOW_STOCK_TOPIC_ARN": OUTPUTS["LowStockTopicArn"],
    "FAILED_RECORDS_QUEUE_URL": OUTPUTS["FailedRecordsQueueUrl"],
    "SEARCH_INDEX_BUCKET": OUTPUTS["SearchIndexBucketName"],
    "COGNITO_USER_POOL_ID": OUTPUTS["UserPoolId"],
    "COGNITO_CLIENT_ID": OUTPUTS["UserPoolClientId"],
    "NOTIFY_FROM": "orders@shop.example",
}


@pytest.fixture()
def config_file(tmp_path: Path) -> Path:
    copy = tmp_path / "config.json"
    shutil.copy(COMMITTED, copy)
    return copy


@pytest.fixture()
def stage() -> str:
    return "dev"


@pytest.fixture()
def cfn(aws: str, stage: str) -> Iterator[FakeCloudFormation]:
    fake = FakeCloudFormation(boto3.client("cloudformation"), stage)
    with fake.stubber:
        yield fake
    fake.stubber.assert_no_pending_responses()


def deployed(stage: str) -> dict[str, Any]:
    return stack(stage, "UPDATE_COMPLETE", OUTPUTS, {"AlarmEmail": "", "NotifyFrom": "orders@shop.example"})


def configure(cfn: FakeCloudFormation, config_file: Path) -> int:
    return stage_config.main(["--stage", cfn.stage], cloudformation=cfn.stubber.client, config_file=config_file)


def test_the_stage_gets_the_stacks_values_and_every_other_key_stays(
    cfn: FakeCloudFormation, config_file: Path, capsys: Any
) -> None:
    cfn.has_stack(deployed("dev"))
    before_text = config_file.read_text()
    before = json.loads(before_text)

    assert configure(cfn, config_file) == 0

    after = json.loads(config_file.read_text())
    assert after["stages"]["dev"]["environment_variables"] == {
        **before["stages"]["dev"]["environment_variables"],
        **FROM_STACK,
    }
    # tantivy is in no function's zip: the functions that search or index get the stack's layer.
    layer = [OUTPUTS["SearchEngineLayerArn"]]
    assert after["stages"]["dev"].pop("lambda_functions") == {
        "api_handler": {"layers": layer},
        "index_table_stream": {"layers": layer},
    }
    after["stages"]["dev"]["environment_variables"] = before["stages"]["dev"]["environment_variables"]
    assert after == before  # the other stages, the top level and the dev stage's other keys
    # 2-space JSON as before: the file only gains the stage's new lines.
    text = config_file.read_text()
    assert text == json.dumps(json.loads(text), indent=2) + "\n"
    diff = list(difflib.ndiff(before_text.splitlines(), text.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    assert all(line + "," in text.splitlines() for line in removed)  # the last key before the new ones
    layer_lines = 2 + 2 * 5  # "lambda_functions": { and its }; per function: its name, "layers": [, the ARN, ], }
    assert len([line for line in diff if line.startswith("+ ")]) == len(FROM_STACK) + layer_lines + len(removed)
    printed = capsys.readouterr().out
    assert "10 setting(s) of stage 'dev' updated" in printed  # 8 variables, 2 functions' layers
    assert f"  layers of index_table_stream = {layer[0]}" in printed


@pytest.mark.parametrize("stage", ["prod"])
def test_prod_answers_only_its_shops_origin(cfn: FakeCloudFormation, config_file: Path) -> None:
    cfn.has_stack(deployed("prod"))

    assert configure(cfn, config_file) == 0

    config = json.loads(config_file.read_text())
    assert config["stages"]["prod"]["environment_variables"]["CORS_ALLOW_ORIGIN"] == OUTPUTS["SiteUrl"]
    assert config["stages"]["dev"]["environment_variables"]["CORS_ALLOW_ORIGIN"] == "*"  # dev: untouched


def test_running_it_again_changes_nothing(cfn: FakeCloudFormation, config_file: Path, capsys: Any) -> None:
    cfn.has_stack(deployed("dev"))
    cfn.has_stack(deployed("dev"))
    configure(cfn, config_file)
    first = config_file.read_text()

    assert configure(cfn, config_file) == 0

    assert config_file.read_text() == first
    assert "0 setting(s) of stage 'dev' updated" in capsys.readouterr().out


def test_without_a_stack_it_says_to_deploy_first(cfn: FakeCloudFormation, config_file: Path, capsys: Any) -> None:
    cfn.no_stack()
    before = config_file.read_text()

    assert configure(cfn, config_file) == 1

    assert "there is no stack petstore-dev: run `make deploy STAGE=dev` first" in capsys.readouterr().err
    assert config_file.read_text() == before


def test_the_committed_stages_hold_no_stack_values_or_placeholders() -> None:
    config = json.loads(COMMITTED.read_text())
    for name in ("dev", "prod"):
        stage = config["stages"][name]
        assert set(stage) == {"api_gateway_stage", "iam_policy_file", "environment_variables"}
        cors = {"CORS_ALLOW_ORIGIN": "*"} if name == "dev" else {}  # prod: none until its site is known
        assert stage["environment_variables"] == {"STAGE": name, "AUTH_PROVIDER": "cognito", **cors}
    assert COMMITTED.read_text() == json.dumps(config, indent=2) + "\n"


def test_no_stage_answers_every_origin_unless_it_says_so() -> None:
    """`chalice deploy --stage prod` must not answer "*": CORS is each stage's own setting."""
    from infra.chalice_config import stage_environment

    config = json.loads(COMMITTED.read_text())
    assert "CORS_ALLOW_ORIGIN" not in config.get("environment_variables", {})
    assert stage_environment("prod", COMMITTED).get("CORS_ALLOW_ORIGIN", "") == ""
    assert stage_environment("dev", COMMITTED)["CORS_ALLOW_ORIGIN"] == "*"


def test_the_chalice_deploy_policies_are_the_union_of_the_functions_grants() -> None:
    from infra.functions import FUNCTIONS
    from infra.stage_config import CONFIG, chalice_policy

    for stage in ("dev", "prod"):
        committed = json.loads((CONFIG.parent / f"policy-{stage}.json").read_text())
        assert committed == chalice_policy(stage), "run: python -m infra.stage_config --stage dev --write-policies"
        allowed = {a for s in committed["Statement"] for a in s["Action"]}
        needed = {a for f in FUNCTIONS for g in (*f.code, *f.platform) for a in g.actions}
        assert needed <= allowed
        assert f"table/petstore-{stage}-ShopTable-*" in json.dumps(committed)


def test_a_deployed_stages_catalog_goes_to_the_table_its_stack_names() -> None:
    from infra.import_catalog import stage_table_name

    cfn = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cfn) as stub:
        table = "petstore-dev-ShopTable-1A2B3C"
        stub.add_response("describe_stacks", {"Stacks": [stack("dev", "CREATE_COMPLETE", {"TableName": table})]})
        assert stage_table_name("dev", cloudformation=cfn) == table
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id petstore-dev does not exist")
        with pytest.raises(SystemExit, match="make deploy STAGE=dev"):
            stage_table_name("dev", cloudformation=cfn)
