"""API Gateway's own 4XX/5XX carry CORS and a JSON body, locally and deployed."""

from __future__ import annotations

import json
from typing import Any

import boto3

from infra.gateway_responses import GATEWAY_RESPONSES, apply_gateway_responses
from localdev.gateway import gateway_error


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


def test_the_gateways_401_and_403_carry_nosniff_and_no_store_like_every_other_answer() -> None:
    for status, response_type in ((401, "UNAUTHORIZED"), (403, "ACCESS_DENIED"), (500, "AUTHORIZER_FAILURE")):
        headers, _ = gateway_error(status, response_type, "x", Context())
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"


def test_deployed_gateway_responses_carry_nosniff_and_no_store(aws: str) -> None:
    client = boto3.client("apigateway")
    api_id = client.create_rest_api(name="petstore-gateway-headers-test")["id"]
    apply_gateway_responses(client, api_id)
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        parameters = client.get_gateway_response(restApiId=api_id, responseType=response_type)["responseParameters"]
        assert parameters["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'"
        assert parameters["gatewayresponse.header.Cache-Control"] == "'no-store'"


def test_a_call_without_a_token_is_the_gateways_401_with_the_headers_of_every_answer(client: Any) -> None:
    response = client.http.get("/me")
    assert response.status_code == 401 and json.loads(response.body)["code"] == "UNAUTHORIZED"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
