"""API Gateway's own 4XX/5XX carry CORS and a JSON body, locally and deployed."""

from __future__ import annotations

import json
from typing import Any

import boto3

from scripts.gateway import GATEWAY_RESPONSES, apply_gateway_responses, gateway_error


class Context:
    aws_request_id = "req-1"


def test_deployed_stages_get_the_gateway_responses(aws: str) -> None:
    client = boto3.client("apigateway")
    api_id = client.create_rest_api(name="petstore-gateway-test")["id"]
    apply_gateway_responses(client, api_id)
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        response = client.get_gateway_response(restApiId=api_id, responseType=response_type)
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
        assert "$context.error.responseType" in response["responseTemplates"]["application/json"]


def test_the_definitions_cover_every_gateway_error() -> None:
    responses: dict[str, Any] = json.loads(GATEWAY_RESPONSES.read_text())
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        assert set(response) == {"responseParameters", "responseTemplates"}


def test_local_answers_are_built_from_the_same_definitions() -> None:
    headers, body = gateway_error(401, "UNAUTHORIZED", "Unauthorized", Context())
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(body) == {"code": "UNAUTHORIZED", "message": "Unauthorized"}
    _, body = gateway_error(500, "AUTHORIZER_FAILURE", None, Context())
    assert json.loads(body) == {"code": "AUTHORIZER_FAILURE", "message": None}
