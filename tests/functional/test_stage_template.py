"""The packaged stage (``make package``), read back from build/<stage>/template.json.

What no local run can show is asserted on the template CloudFormation would
get: one function per blueprint, each with its own role, every value wired by
reference, a stream that cannot jam, alarms bound to what they watch, the
search index's private bucket, the search engine layer on the functions that
search or index only, and a prod stage that is safe by default. cfn-lint
checks the schema in `make test`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.orders.follow_ups import STREAM_POLICY
from infra.bundle import MAX_ZIP_BYTES
from infra.functions import FUNCTIONS, RESOURCES, Function
from infra.package import BUILD, INDEXER_BATCHING, role_id
from infra.rest_api import routes

WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "s3:PutObject",
    "s3:DeleteObject",
}
STREAM_FUNCTIONS = ("order-events", "indexer")


@pytest.fixture(scope="module", params=["dev", "prod"])
def stage(request: pytest.FixtureRequest, built_stage: Any) -> tuple[str, dict[str, Any]]:
    return request.param, built_stage(request.param)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def references(value: Any) -> Iterator[str]:
    """Every logical id or parameter a CloudFormation value refers to."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref":
                yield arg
            elif key == "Fn::GetAtt":
                yield arg[0] if isinstance(arg, list) else arg.split(".")[0]
            elif key == "Fn::Sub":
                yield from _sub_references(arg)
            else:
                yield from references(arg)


def _sub_references(arg: str | list[Any]) -> Iterator[str]:
    text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
    yield from (name.split(".")[0] for name in _sub_names(text) if name.split(".")[0] not in local)
    yield from references(list(local.values()))


def _sub_names(text: str) -> Iterator[str]:
    start = text.find("${")
    while start != -1:
        end = text.index("}", start)
        yield text[start + 2 : end]
        start = text.find("${", end)


def statements(template: dict[str, Any], function: Function) -> list[dict[str, Any]]:
    policies = template["Resources"][role_id(function)]["Properties"]["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def actions(template: dict[str, Any], function: Function) -> set[str]:
    return {a for s in statements(template, function) for a in s["Action"]}


def by_key(key: str) -> Function:
    return next(f for f in FUNCTIONS if f.key == key)


def test_every_function_is_in_the_template_with_its_own_handler_and_role(stage: Any) -> None:
    _, template = stage
    functions = resources_of(template, "AWS::Serverless::Function")
    assert set(functions) == {f.logical_id for f in FUNCTIONS}
    roles = [f["Properties"]["Role"] for f in functions.values()]
    assert len({json.dumps(r) for r in roles}) == len(FUNCTIONS), "two functions share a role"
    for function in FUNCTIONS:
        properties = functions[function.logical_id]["Properties"]
        assert properties["Handler"] == function.handler
        assert properties["Role"] == {"Fn::GetAtt": [role_id(function), "Arn"]}
        assert properties["FunctionName"] == {"Fn::Sub": f"${{AWS::StackName}}-{function.key}"}
        assert properties["MemorySize"] == function.memory_mb and properties["Timeout"] == function.timeout_s


def test_every_reference_names_something_in_the_template(stage: Any, expanded_stage: Any) -> None:
    template = expanded_stage(stage[0])  # as CloudFormation resolves them: SAM's own (RestAPI.Stage) expanded
    known = set(template["Resources"]) | set(template["Parameters"])
    known |= {"AWS::StackName", "AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix", "AWS::NoValue"}
    found = set(references(template["Resources"])) | set(references(template["Outputs"]))
    assert found <= known, f"dangling references: {sorted(found - known)}"
    assert '"<' not in json.dumps(template), "a placeholder is left in the template"


def test_environment_values_come_from_the_stack_by_reference(stage: Any) -> None:
    _, template = stage
    for function in FUNCTIONS:
        env = template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"]
        assert env["TABLE_NAME"] == {"Ref": "ShopTable"}
        assert env["COGNITO_USER_POOL_ID"] == {"Ref": "UserPool"}
        assert env["COGNITO_CLIENT_ID"] == {"Ref": "SpaClient"}
        assert env["LOW_STOCK_TOPIC_ARN"] == {"Ref": "LowStockTopic"}
        assert env["FAILED_RECORDS_QUEUE_URL"] == {"Ref": "FailedRecordsQueue"}
        assert env["SEARCH_INDEX_BUCKET"] == {"Ref": "SearchIndexBucket"}
        assert env["NOTIFY_FROM"] == {"Ref": "NotifyFrom"}


def test_each_route_is_served_by_the_function_of_its_blueprint(stage: Any) -> None:
    _, template = stage
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    served = 0
    for function in FUNCTIONS:
        for path, methods in routes(function).items():
            for method in methods:
                uri = paths[path][method.lower()]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                assert f"${{{function.logical_id}.Arn}}" in uri, f"{method} {path}"
                served += 1
    documented = sum(1 for entry in paths.values() for method in entry if method != "options")
    assert served == documented >= 13


def test_search_and_the_authorizer_write_nothing_and_only_order_events_send_mail(stage: Any) -> None:
    _, template = stage
    assert not actions(template, by_key("search")) & WRITES
    authorizer = actions(template, by_key("authorizer"))
    assert authorizer == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    for function in FUNCTIONS:
        granted = actions(template, function)
        messaging = {a for a in granted if a.split(":")[0] in {"ses", "sns"}}
        assert bool(messaging) == (function.key == "order-events"), function.key
        assert all("*" not in a for a in granted), f"{function.key} has a wildcard action"
        for statement in statements(template, function):  # "*" only where IAM offers no resource
            assert statement["Resource"] != ["*"] or all(a.startswith("xray:") for a in statement["Action"])
    (mail,) = [s for s in statements(template, by_key("order-events")) if "ses:SendEmail" in s["Action"]]
    assert mail["Action"] == ["ses:SendEmail"]  # the condition binds this action alone
    assert mail["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "NotifyFrom"}}}  # the stage's sender


def test_roles_grant_only_the_stages_own_resources(stage: Any) -> None:
    _, template = stage
    own_logs = {
        f.key: {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"
            f"${{AWS::StackName}}-{f.key}:*"
        }
        for f in FUNCTIONS
    }
    for function in FUNCTIONS:
        for statement in statements(template, function):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for resource in resources:
                assert resource in RESOURCES.values() or resource == own_logs[function.key], (function.key, resource)


def stream_mapping(template: dict[str, Any], function: Function) -> dict[str, Any]:
    (mapping,) = template["Resources"][function.logical_id]["Properties"]["Events"].values()
    assert mapping["Type"] == "DynamoDB"
    return dict(mapping["Properties"])


@pytest.mark.parametrize("key", STREAM_FUNCTIONS)
def test_the_stream_cannot_jam(stage: Any, key: str) -> None:
    _, template = stage
    properties = stream_mapping(template, by_key(key))
    assert properties["Stream"] == {"Fn::GetAtt": ["ShopTable", "StreamArn"]}
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    assert properties["BisectBatchOnFunctionError"] is True
    assert properties["MaximumRetryAttempts"] == STREAM_POLICY.maximum_retry_attempts <= 10
    assert properties["MaximumRecordAgeInSeconds"] == STREAM_POLICY.maximum_record_age_s
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailedRecordsQueue", "Arn"]}
    alarm = template["Resources"]["FailedRecordsAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["FailedRecordsQueue", "QueueName"]}
    # Lambda reads the stream and sends the on-failure record with the function's own role.
    queue = {"Fn::GetAtt": ["FailedRecordsQueue", "Arn"]}
    role = statements(template, by_key(key))
    assert any("sqs:SendMessage" in s["Action"] and queue in s["Resource"] for s in role)
    stream = {"Fn::GetAtt": ["ShopTable", "StreamArn"]}
    assert any("dynamodb:GetRecords" in s["Action"] and stream in s["Resource"] for s in role)


def test_order_events_report_failed_records_and_the_indexer_takes_fuller_batches(stage: Any) -> None:
    from chalicelib.search.indexing import INDEX_STREAM_POLICY

    _, template = stage
    events = stream_mapping(template, by_key("order-events"))
    assert events["BatchSize"] == STREAM_POLICY.batch_size
    assert events["FunctionResponseTypes"] == ["ReportBatchItemFailures"]  # handle_records reports, never raises
    indexer = stream_mapping(template, by_key("indexer"))
    assert indexer["BatchSize"] == INDEX_STREAM_POLICY.batch_size == 1000
    assert indexer["MaximumBatchingWindowInSeconds"] == 1 and indexer["ParallelizationFactor"] == 1
    assert INDEXER_BATCHING == {"MaximumBatchingWindowInSeconds": 1, "ParallelizationFactor": 1}
    # A batch is one index version, applied whole or retried whole: the indexer reports no single records.
    reports = ["ReportBatchItemFailures"] if INDEX_STREAM_POLICY.report_batch_item_failures else None
    assert indexer.get("FunctionResponseTypes") == reports


def test_every_function_has_alarms_bound_to_it_and_a_log_group_with_retention(stage: Any) -> None:
    name, template = stage
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    for function in FUNCTIONS:
        watching = {
            a["Properties"]["MetricName"]
            for a in alarms.values()
            if {"Name": "FunctionName", "Value": {"Ref": function.logical_id}} in a["Properties"].get("Dimensions", [])
        }
        expected = {"Throttles", "Duration"} | ({"Errors"} if function.key != "authorizer" else set())
        expected |= {"IteratorAge"} if function.key in STREAM_FUNCTIONS else set()
        assert watching == expected, function.key
        group = template["Resources"][f"{function.logical_id}LogGroup"]["Properties"]
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{function.key}"}
        assert group["RetentionInDays"] == {"dev": 30, "prod": 90}[name]
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_alarms_watch_the_stages_own_resources_and_reach_a_person(stage: Any) -> None:
    _, template = stage
    resources = template["Resources"]
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()}
    assert {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("PetStore", "ServerErrors"),
        ("PetStore", "JwksFetchFailures"),
        ("AWS/Lambda", "IteratorAge"),
        ("AWS/DynamoDB", "ReadThrottleEvents"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    } <= watched
    for name, alarm in alarms.items():
        for dimension in alarm["Properties"]["Dimensions"]:
            value = dimension["Value"]
            assert isinstance(value, dict) or value == "api", f"{name} names {value!r} by hand"
            assert set(references(value)) <= set(resources) | {"AWS::StackName", "Stage"}, name
    api = resources["RestAPI"]["Properties"]
    assert api["Name"] == {"Ref": "AWS::StackName"}  # the ApiName the API alarms watch
    # The topic's key lets CloudWatch publish; an e-mail address subscribes.
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key_policy = resources["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and "kms:GenerateDataKey*" in s["Action"]
        for s in key_policy
    )
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_traces_access_logs_and_throttling_are_on(stage: Any) -> None:
    name, template = stage
    resources = template["Resources"]
    for function in FUNCTIONS:
        assert resources[function.logical_id]["Properties"]["Tracing"] == "Active"
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions(template, function)
    api = resources["RestAPI"]["Properties"]
    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    logged = json.loads(api["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "latencyMs", "principal"} <= set(logged) and "Authorization" not in str(logged)
    assert resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"dev": 30, "prod": 90}[name]
    (throttle,) = api["MethodSettings"]
    assert throttle["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert template["Parameters"]["ApiRateLimit"]["Default"] == {"dev": 20, "prod": 200}[name]
    dashboard = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(dashboard)["widgets"]
    assert len(widgets) >= 10 and set(_sub_names(dashboard)) - {"AWS::Region", "AWS::StackName", "Stage"} <= {
        f"{r}.QueueName" if r == "FailedRecordsQueue" else r for r in resources
    }


def test_gateway_errors_are_json_in_every_deployment_of_the_api(stage: Any) -> None:
    name, template = stage
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        assert "$context.error.responseType" in response["responseTemplates"]["application/json"]
        origin = response["responseParameters"].get("gatewayresponse.header.Access-Control-Allow-Origin")
        assert origin == ("'*'" if name == "dev" else None)


def test_gateway_errors_carry_nosniff_and_no_store_in_every_stage(stage: Any) -> None:
    _, template = stage
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    for response in body["x-amazon-apigateway-gateway-responses"].values():
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'"
        assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"


def test_the_authorizers_cache_keeps_an_answer_at_most_five_minutes(stage: Any) -> None:
    _, template = stage
    definitions = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["securityDefinitions"]
    authorizer = definitions["jwt_auth"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerResultTtlInSeconds"] == 300  # AUTH_CACHE_TTL_S unset: the default, the maximum


def test_the_site_and_the_api_get_the_stages_own_security_headers_not_the_managed_policy(stage: Any) -> None:
    _, template = stage
    resources = template["Resources"]
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    # site, photos, best sellers, API
    assert [b["ResponseHeadersPolicyId"] for b in behaviors] == [{"Ref": "SiteHeadersPolicy"}] * 4
    assert "67f7725c-6f97-4210-82d7-5512b31e9d03" not in json.dumps(template)  # Managed-SecurityHeadersPolicy
    policy = resources["SiteHeadersPolicy"]
    assert policy["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert set(headers) == {
        "StrictTransportSecurity",
        "ContentTypeOptions",
        "FrameOptions",
        "ReferrerPolicy",
        "ContentSecurityPolicy",
    }  # no XSSProtection: the header is deprecated
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"  # as frame-ancestors 'none' says
    assert headers["ContentSecurityPolicy"]["ContentSecurityPolicy"] == "frame-ancestors 'none'"
    assert all(header["Override"] is True for header in headers.values())


def test_the_local_spa_server_sends_what_cloudfront_adds(stage: Any) -> None:
    from localdev.local_stack import FRONTEND, site_headers

    _, template = stage
    config = template["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    deployed = config["SecurityHeadersConfig"]
    local = site_headers((FRONTEND / "index.html").read_text())
    assert local["X-Frame-Options"] == deployed["FrameOptions"]["FrameOption"]
    assert local["Referrer-Policy"] == deployed["ReferrerPolicy"]["ReferrerPolicy"]
    assert local["X-Content-Type-Options"] == "nosniff"
    assert deployed["ContentSecurityPolicy"]["ContentSecurityPolicy"] in local["Content-Security-Policy"]
    assert "X-XSS-Protection" not in local


def test_the_shop_reaches_its_api_on_its_own_origin(stage: Any) -> None:
    _, template = stage
    resources = template["Resources"]
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert set(origins) == {"site", "api", "photos"}
    assert "${RestAPI}" in origins["api"]["DomainName"]["Fn::Sub"]
    photos, _best_sellers, api = config["CacheBehaviors"]  # best sellers: tests/functional/test_edge_template.py
    assert photos["PathPattern"] == "img/*" and photos["TargetOriginId"] == "photos"
    assert photos["AllowedMethods"] == ["GET", "HEAD"]
    assert origins["photos"]["DomainName"] == {"Fn::GetAtt": ["RenditionsBucket", "RegionalDomainName"]}
    assert origins["photos"]["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccess", "Id"]}
    assert api["PathPattern"] == "api/*" and api["TargetOriginId"] == "api" and "POST" in api["AllowedMethods"]
    cache = resources["ApiCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert cache["DefaultTTL"] == 0 and cache["MaxTTL"] <= 300  # only what Cache-Control allows, briefly
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["Headers"] == ["Authorization"]  # a signed-in answer is keyed by its token
    forwarded = resources["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]
    assert "Idempotency-Key" in forwarded["Headers"] and "Host" not in forwarded["Headers"]
    assert config["WebACLId"]["Fn::If"][0] == "HasWaf" and resources["WebAcl"]["Condition"] == "HasWaf"
    rule = resources["WebAcl"]["Properties"]["Rules"][0]["Statement"]["RateBasedStatement"]
    assert rule["Limit"] == {"Ref": "WafRateLimit"} and template["Parameters"]["WafRateLimit"]["Default"] == 0


def test_prod_is_safe_by_default(built_stage: Any) -> None:
    template = built_stage("prod")
    resources = template["Resources"]
    assert resources["ShopTable"]["DeletionPolicy"] == "Retain"
    assert resources["UserPool"]["DeletionPolicy"] == "Retain"
    protection = resources["ShopTable"]["Properties"]["DeletionProtectionEnabled"]
    assert protection == {"Fn::If": ["IsProd", True, False]} and template["Parameters"]["Stage"]["Default"] == "prod"
    for function in FUNCTIONS:
        properties = resources[function.logical_id]["Properties"]
        assert properties["Environment"]["Variables"]["CORS_ALLOW_ORIGIN"] == ""  # no other origin
        reserved = properties["ReservedConcurrentExecutions"]
        if reserved != {"Ref": "AWS::NoValue"}:  # only from a parameter that defaults to none
            _, value, otherwise = reserved["Fn::If"]
            parameter = template["Parameters"][value["Ref"]]
            assert parameter["Default"] == 0 and otherwise == {"Ref": "AWS::NoValue"}
    paths = resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert not [path for path, entry in paths.items() if "options" in entry], "prod answers CORS preflights"


def test_dev_lets_a_local_spa_call_it(built_stage: Any) -> None:
    template = built_stage("dev")
    for function in FUNCTIONS:
        env = template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"]
        assert env["CORS_ALLOW_ORIGIN"] == "*"
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert all("options" in entry for entry in paths.values())


# -- the search index and its engine ----------------------------------------------

SEARCH_INDEX_OBJECTS = {"Fn::Sub": "${SearchIndexBucket.Arn}/search-index/*"}
SEARCH_INDEX_BUCKET = {"Fn::GetAtt": ["SearchIndexBucket", "Arn"]}
# S3 answers a missing key with 404 (no index yet) only to a role that may list the bucket; else 403.
LISTS_INDEX_BUCKET = ("s3:ListBucket", json.dumps(SEARCH_INDEX_BUCKET))
TABLE = {"Fn::GetAtt": ["ShopTable", "Arn"]}
STREAM = {"Fn::GetAtt": ["ShopTable", "StreamArn"]}
QUEUE = {"Fn::GetAtt": ["FailedRecordsQueue", "Arn"]}
TRACES = {("xray:PutTelemetryRecords", "*"), ("xray:PutTraceSegments", "*")}
STREAM_READS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")
READS_STREAM = {(action, json.dumps(STREAM)) for action in STREAM_READS}


def grants(template: dict[str, Any], function: Function) -> set[tuple[str, str]]:
    """(action, resource) of the function's role, its own logs aside."""
    return {
        (action, resource if isinstance(resource, str) else json.dumps(resource))
        for statement in statements(template, function)
        if statement["Sid"] != "OwnLogs"
        for action in statement["Action"]
        for resource in statement["Resource"]
    }


def test_the_search_index_bucket_is_private_encrypted_and_tls_only(stage: Any) -> None:
    _, template = stage
    resources = template["Resources"]
    bucket = resources["SearchIndexBucket"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == "Delete"  # derived data: `make reindex` rebuilds it from the table
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    assert "WebsiteConfiguration" not in properties and "CorsConfiguration" not in properties
    policy = resources["SearchIndexBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "SearchIndexBucket"}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [{"Fn::GetAtt": ["SearchIndexBucket", "Arn"]}, {"Fn::Sub": "${SearchIndexBucket.Arn}/*"}]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert template["Outputs"]["SearchIndexBucketName"]["Value"] == {"Ref": "SearchIndexBucket"}
    # Only the functions that search or index reach it: its objects under search-index/, and listing it.
    for function in FUNCTIONS:
        reach = {(a, r) for a, r in grants(template, function) if a.startswith("s3:") and "SearchIndex" in r}
        objects = {r for a, r in reach if a != "s3:ListBucket"}
        if function.key in ("search", "indexer"):
            assert objects == {json.dumps(SEARCH_INDEX_OBJECTS)} and LISTS_INDEX_BUCKET in reach
        else:
            assert reach == set(), function.key


def test_the_table_keeps_its_local_indexes_so_it_is_never_replaced(stage: Any) -> None:
    _, template = stage
    table = template["Resources"]["ShopTable"]
    indexes = table["Properties"]["LocalSecondaryIndexes"]
    assert [(i["IndexName"], i["KeySchema"][1]["AttributeName"]) for i in indexes] == [
        ("by_price", "price"),
        ("by_name", "name_key"),
    ]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_the_search_function_reads_the_index_and_one_item_per_product(stage: Any) -> None:
    _, template = stage
    assert grants(template, by_key("search")) == TRACES | {
        ("dynamodb:BatchGetItem", json.dumps(TABLE)),
        ("dynamodb:GetItem", json.dumps(TABLE)),
        ("s3:GetObject", json.dumps(SEARCH_INDEX_OBJECTS)),
        LISTS_INDEX_BUCKET,
    }


def test_the_indexer_reads_the_stream_scans_the_table_and_writes_the_index_only(stage: Any) -> None:
    _, template = stage
    assert grants(template, by_key("indexer")) == TRACES | READS_STREAM | {
        ("dynamodb:BatchGetItem", json.dumps(TABLE)),  # a product's sales counter, a counter's product
        ("dynamodb:Scan", json.dumps(TABLE)),
        ("s3:GetObject", json.dumps(SEARCH_INDEX_OBJECTS)),
        ("s3:PutObject", json.dumps(SEARCH_INDEX_OBJECTS)),
        ("s3:DeleteObject", json.dumps(SEARCH_INDEX_OBJECTS)),
        LISTS_INDEX_BUCKET,
        ("sqs:SendMessage", json.dumps(QUEUE)),
    }
    properties = template["Resources"]["IndexTableStream"]["Properties"]
    assert properties["Handler"] == "chalicelib.api.indexer.index_table_stream"
    assert properties["MemorySize"] == 1024 and properties["Timeout"] == 60
    assert properties["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-indexer"}  # what `make reindex` invokes


def test_the_search_engine_layer_is_on_the_search_and_indexer_functions_only(stage: Any) -> None:
    _, template = stage
    resources = template["Resources"]
    layer = resources["SearchEngineLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    properties = layer["Properties"]
    assert properties["ContentUri"] == "./search-layer.zip"
    assert properties["CompatibleRuntimes"] == [f"python{sys.version_info.major}.{sys.version_info.minor}"]
    assert properties["CompatibleArchitectures"] == ["x86_64"] and properties["RetentionPolicy"] == "Delete"
    carrying = {
        logical_id
        for logical_id, resource in resources_of(template, "AWS::Serverless::Function").items()
        if {"Ref": "SearchEngineLayer"} in resource["Properties"].get("Layers", [])
    }
    assert carrying == {"APIHandler", "IndexTableStream"}
    assert {f.logical_id for f in FUNCTIONS if f.search_engine} == carrying
    for logical_id in carrying:
        function = resources[logical_id]["Properties"]
        assert function["Layers"] == [{"Ref": "SearchEngineLayer"}]
        assert function["Runtime"] in properties["CompatibleRuntimes"]
        assert function["Architectures"] == properties["CompatibleArchitectures"]
    assert "Layers" not in template.get("Globals", {}).get("Function", {})


def test_the_deployment_zip_has_no_search_engine_and_the_layer_has_it_within_budget(
    built_stage: Any, tmp_path: Path
) -> None:
    built_stage("dev")
    with zipfile.ZipFile(BUILD / "dev" / "deployment.zip") as archive:
        assert not [n for n in archive.namelist() if n.lower().startswith("tantivy")]
    layer = BUILD / "dev" / "search-layer.zip"
    assert layer.stat().st_size <= MAX_ZIP_BYTES
    with zipfile.ZipFile(layer) as archive:
        names = set(archive.namelist())
        assert {"python/tantivy/__init__.py", "python/tantivy/tantivy.abi3.so"} <= names
        assert "python/tantivy-0.27.0.dist-info/METADATA" in names
        assert all(name.startswith("python/") for name in names)  # Lambda puts /opt/python on sys.path
        archive.extractall(tmp_path / "opt")
    # The layer alone gives the engine, as in Lambda's /opt (this machine is Linux x86_64 too).
    code = "import sys; sys.path.insert(0, sys.argv[1]); import tantivy; print(tantivy.__file__)"
    found = subprocess.run(
        [sys.executable, "-S", "-c", code, str(tmp_path / "opt" / "python")],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert found == str(tmp_path / "opt" / "python" / "tantivy" / "__init__.py")
