"""What tells a person that the stage is unwell: alarms and the dashboard.

``make package`` adds these to the stage's template (infra/package.py). Every
alarm watches a resource of the same template by reference and notifies the
alarm topic, which CloudWatch can publish to (its key lets it) and which
``AlarmEmail`` subscribes to. docs/operations.md says what each alarm means
and what to check first.
"""

from __future__ import annotations

import json
from typing import Any, Final

from infra.functions import FUNCTIONS, Function

# The shop's own metrics (CloudWatch embedded metric format, chalicelib/platform/metrics.py).
NAMESPACE: Final = "PetStore"
API_STAGE: Final = "api"  # Chalice's api_gateway_stage


def _alarm(description: str, metric: dict[str, Any], threshold: float, **options: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": {"Fn::Sub": f"{description} (${{AWS::StackName}})"},
            **metric,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
            **options,
        },
    }


def _metric(namespace: str, name: str, dimensions: dict[str, Any], **statistic: Any) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        **statistic,
    }


def function_alarms(function: Function) -> dict[str, Any]:
    """Errors, throttles and p99 duration of one function, bound by reference."""
    lambda_metric = {"FunctionName": {"Ref": function.logical_id}}
    what = f"the {function.key} function"
    found = {
        f"{function.logical_id}ThrottlesAlarm": _alarm(
            f"Throttled invocations of {what}", _metric("AWS/Lambda", "Throttles", lambda_metric, Statistic="Sum"), 1
        ),
        f"{function.logical_id}DurationAlarm": _alarm(
            f"p99 duration of {what} above 80% of its timeout",
            _metric("AWS/Lambda", "Duration", lambda_metric, ExtendedStatistic="p99"),
            function.timeout_s * 800,
            EvaluationPeriods=3,
            DatapointsToAlarm=2,
        ),
    }
    # An authorizer's refusal of a bad token is a Lambda error (API Gateway
    # answers 401 only to an authorizer that fails with "Unauthorized"): not
    # an alarm. Its real failures show as JWKS fetch failures and durations.
    if function.key != "authorizer":
        found[f"{function.logical_id}ErrorsAlarm"] = _alarm(
            f"Errors in {what}", _metric("AWS/Lambda", "Errors", lambda_metric, Statistic="Sum"), 1
        )
    return found


def stage_alarms() -> dict[str, Any]:
    """The API, the shop's own failures, the stream's two readers and the table."""
    api = {"ApiName": {"Ref": "AWS::StackName"}, "Stage": API_STAGE}
    shop = {"Stage": {"Ref": "Stage"}}
    return {
        "ApiServerErrorRateAlarm": _alarm(
            "More than 1% of API requests answered 5XX",
            _metric("AWS/ApiGateway", "5XXError", api, Statistic="Average"),
            0.01,
        ),
        "ApiLatencyAlarm": _alarm(
            "p99 API latency above 3 s",
            _metric("AWS/ApiGateway", "Latency", api, ExtendedStatistic="p99"),
            3000,
            EvaluationPeriods=3,
            DatapointsToAlarm=2,
        ),
        # The views answer their own 500s, so Lambda's Errors never sees them.
        "AppServerErrorsAlarm": _alarm(
            "The API answered 500 (an unexpected error in a view)",
            _metric(NAMESPACE, "ServerErrors", shop, Statistic="Sum"),
            1,
        ),
        "JwksFetchFailuresAlarm": _alarm(
            "The authorizer could not fetch the identity provider's keys",
            _metric(NAMESPACE, "JwksFetchFailures", shop, Statistic="Sum"),
            1,
        ),
        "StreamIteratorAgeAlarm": _alarm(
            "Order events lag more than a minute behind the table",
            _metric("AWS/Lambda", "IteratorAge", {"FunctionName": {"Ref": "HandleTableStream"}}, Statistic="Maximum"),
            60_000,
        ),
        # Search matches from the index: while the indexer lags, it matches older data.
        "SearchIndexIteratorAgeAlarm": _alarm(
            "The search index lags more than a minute behind the table",
            _metric("AWS/Lambda", "IteratorAge", {"FunctionName": {"Ref": "IndexTableStream"}}, Statistic="Maximum"),
            60_000,
        ),
        "TableReadThrottlesAlarm": _alarm(
            "DynamoDB throttled reads of the shop table",
            _metric("AWS/DynamoDB", "ReadThrottleEvents", {"TableName": {"Ref": "ShopTable"}}, Statistic="Sum"),
            1,
        ),
        "TableWriteThrottlesAlarm": _alarm(
            "DynamoDB throttled writes to the shop table",
            _metric("AWS/DynamoDB", "WriteThrottleEvents", {"TableName": {"Ref": "ShopTable"}}, Statistic="Sum"),
            1,
        ),
    }


# -- the dashboard ---------------------------------------------------------------
def _widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": 300,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def dashboard() -> dict[str, Any]:
    api = ["ApiName", "${AWS::StackName}", "Stage", API_STAGE]
    shop = ["Stage", "${Stage}"]
    per_function = [(f, ["FunctionName", f"${{{f.logical_id}}}"]) for f in FUNCTIONS]
    widgets = [
        _widget(
            "API requests and errors",
            [["AWS/ApiGateway", m, *api] for m in ("Count", "4XXError", "5XXError")],
            0,
            0,
        ),
        _widget("API latency (p99)", [["AWS/ApiGateway", "Latency", *api]], 12, 0, stat="p99"),
        _widget("Invocations", [["AWS/Lambda", "Invocations", *d] for _, d in per_function], 0, 6),
        _widget(
            "Errors and throttles",
            [["AWS/Lambda", m, *d] for _, d in per_function for m in ("Errors", "Throttles")],
            12,
            6,
        ),
        _widget("Duration (p99)", [["AWS/Lambda", "Duration", *d] for _, d in per_function], 0, 12, stat="p99"),
        _widget(
            "Orders",
            [[NAMESPACE, m, *shop] for m in ("OrdersPlaced", "OutOfStockRefusals", "IdempotentReplays")],
            12,
            12,
        ),
        _widget("Order value (cents)", [[NAMESPACE, "OrderValueCents", *shop]], 0, 18),
        _widget(
            "Search (p90 latency ms, items read)",
            [[NAMESPACE, "SearchLatency", *shop], [NAMESPACE, "SearchItemsRead", *shop]],
            12,
            18,
            stat="p90",
        ),
        _widget(
            "Auth and the shop's own failures",
            [[NAMESPACE, m, *shop] for m in ("TokensRefused", "JwksFetchFailures", "ServerErrors")],
            0,
            24,
        ),
        _widget(
            "Order events",
            [
                [NAMESPACE, "StreamRecordsFailed", *shop],
                ["AWS/Lambda", "IteratorAge", "FunctionName", "${HandleTableStream}", {"stat": "Maximum"}],
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${FailedRecordsQueue.QueueName}"],
            ],
            12,
            24,
        ),
        _widget(
            "Table throttles",
            [["AWS/DynamoDB", m, "TableName", "${ShopTable}"] for m in ("ReadThrottleEvents", "WriteThrottleEvents")],
            0,
            30,
        ),
        _widget(
            "Search index (lag behind the table, ms)",
            [["AWS/Lambda", "IteratorAge", "FunctionName", "${IndexTableStream}", {"stat": "Maximum"}]],
            12,
            30,
            stat="Maximum",
        ),
    ]
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}"},
            "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets}, separators=(",", ":"))},
        },
    }


def resources() -> dict[str, Any]:
    """Everything this module adds to the stage's template."""
    found: dict[str, Any] = {"Dashboard": dashboard(), **stage_alarms()}
    for function in FUNCTIONS:
        found.update(function_alarms(function))
    return found
