"""What CloudFormation runs: the built template after the SAM transform (build/<stage>/expanded.json).

`make package` expands Chalice's SAM template with samtranslator
(infra/expand.py) and `make test` lints the result; `make deploy` deploys the
same expansion. These assertions are on the resources SAM generates, which the
SAM template only implies: the API's one stage, its deployment, the functions
and their permissions, the stream mappings and the layer version.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.functions import FUNCTIONS
from infra.package import RUNTIME


@pytest.fixture(scope="module", params=["dev", "prod"])
def expanded(request: pytest.FixtureRequest, expanded_stage: Any) -> tuple[str, dict[str, Any]]:
    return request.param, expanded_stage(request.param)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_nothing_is_left_to_a_transform(expanded: Any) -> None:
    _, template = expanded
    assert "Transform" not in template
    assert not [k for k, v in template["Resources"].items() if v["Type"].startswith("AWS::Serverless::")]


def test_the_api_has_one_stage_throttled_logged_and_traced(expanded: Any) -> None:
    name, template = expanded
    (deployment,) = of_type(template, "AWS::ApiGateway::Deployment").values()
    assert "StageName" not in deployment["Properties"]  # SAM's implicit "Stage" stage
    stages = of_type(template, "AWS::ApiGateway::Stage")
    assert len(stages) == 1, f"expected the API's one stage, got {sorted(stages)}"
    (stage,) = stages.values()
    properties = stage["Properties"]
    assert properties["StageName"] == "api"
    assert properties["TracingEnabled"] is True
    assert properties["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert json.loads(properties["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"
    (throttle,) = properties["MethodSettings"]
    assert throttle["ResourcePath"] == "/*" and throttle["HttpMethod"] == "*"
    assert throttle["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert throttle["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    assert template["Parameters"]["ApiRateLimit"]["Default"] == {"dev": 20, "prod": 200}[name]


def test_every_function_runs_the_uploaded_zip_on_the_build_runtime_with_its_own_role(expanded: Any) -> None:
    _, template = expanded
    functions = of_type(template, "AWS::Lambda::Function")
    assert sorted(functions) == sorted(f.logical_id for f in FUNCTIONS)
    for function in FUNCTIONS:
        properties = functions[function.logical_id]["Properties"]
        assert properties["Runtime"] == RUNTIME
        assert properties["Handler"] == function.handler
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert set(properties["Code"]) == {"S3Bucket", "S3Key"}
        assert properties["Role"]["Fn::GetAtt"][0].endswith("Role")


def test_api_gateway_may_invoke_only_the_api_functions_and_only_from_this_api(expanded: Any) -> None:
    _, template = expanded
    permissions = of_type(template, "AWS::Lambda::Permission").values()
    names = [p["Properties"]["FunctionName"] for p in permissions]
    invoked = {n["Ref"] if "Ref" in n else n["Fn::GetAtt"][0] for n in names}
    api_functions = {f.logical_id for f in FUNCTIONS if f.blueprint} | {"JwtAuth"}
    assert invoked == api_functions
    for permission in permissions:
        properties = permission["Properties"]
        assert properties["Principal"] == "apigateway.amazonaws.com"
        source = json.dumps(properties["SourceArn"])
        assert "RestAPI" in source and ":execute-api:" in source


def test_the_stream_mappings_and_the_layer_version_are_generated_as_built(expanded: Any) -> None:
    _, template = expanded
    every = of_type(template, "AWS::Lambda::EventSourceMapping").values()
    mappings = [m for m in every if m["Properties"]["FunctionName"]["Ref"] != "ProcessPhotoUploads"]
    assert {m["Properties"]["FunctionName"]["Ref"] for m in mappings} == {"HandleTableStream", "IndexTableStream"}
    (uploads,) = [m["Properties"] for m in every if m["Properties"]["FunctionName"]["Ref"] == "ProcessPhotoUploads"]
    assert uploads["EventSourceArn"] == {"Fn::GetAtt": ["UploadsQueue", "Arn"]} and uploads["BatchSize"] == 1
    for mapping in mappings:
        properties = mapping["Properties"]
        assert properties["EventSourceArn"] == {"Fn::GetAtt": ["ShopTable", "StreamArn"]}
        assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailedRecordsQueue", "Arn"]
        }
    layers = of_type(template, "AWS::Lambda::LayerVersion").values()
    assert len(layers) == 2  # the search engine, the image library
    for layer in layers:
        assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME]
        assert layer["DeletionPolicy"] == "Delete"
