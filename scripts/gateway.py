"""API Gateway's own responses, the same locally and deployed.

API Gateway, in front of a TOKEN authorizer:
- no Authorization header: 401, the authorizer is not even called;
- the authorizer fails with exactly "Unauthorized": 401;
- any other authorizer failure: 500;
- an explicit Deny: 403.
Its own responses carry no CORS headers unless *gateway responses* add them:
infra/gateway-responses.json defines them for DEFAULT_4XX and DEFAULT_5XX
(CORS headers and a JSON body ``{"code": ..., "message": ...}``), in the form
of API Gateway's ``x-amazon-apigateway-gateway-responses`` extension. ``make
package`` puts them in the stage's API definition (so every deployment of the
API carries them); after ``chalice deploy``, ``python -m scripts.gateway
--stage dev`` applies them.

Chalice's local gateway (``chalice local``, ``chalice.test.Client``) calls the
authorizer without a token and lets its exception escape (a 500, or an
exception in the test client). ``install()`` replaces its authorizer runner
with one that answers as above, with the headers and body of the same gateway
responses. The local stack and the test fixtures call it, so the same token
gets the same status and body everywhere.
"""

from __future__ import annotations

import argparse
import json
from functools import cache
from typing import Any

from chalice import local
from chalice.app import ChaliceAuthorizer

from .resources import ROOT

GATEWAY_RESPONSES = ROOT / "infra" / "gateway-responses.json"


@cache
def gateway_responses() -> dict[str, dict[str, Any]]:
    """ResponseType -> responseParameters and responseTemplates, from infra/gateway-responses.json."""
    return dict(json.loads(GATEWAY_RESPONSES.read_text()))


def gateway_error(status: int, response_type: str, message: str | None, context: Any) -> tuple[dict[str, str], bytes]:
    """Headers and body API Gateway sends for one of its own errors."""
    props = gateway_responses()["DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"]
    headers = {
        name.removeprefix("gatewayresponse.header."): value.strip("'")
        for name, value in props["responseParameters"].items()
    }
    body = (
        props["responseTemplates"]["application/json"]
        .replace("$context.error.responseType", response_type)
        .replace("$context.error.messageString", json.dumps(message))
    )
    headers.update({"Content-Type": "application/json", "x-amzn-RequestId": context.aws_request_id})
    return headers, body.encode()


class ApiGatewayAuthorizer(local.LocalGatewayAuthorizer):
    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, ChaliceAuthorizer):
            return super().authorize(raw_path, lambda_event, lambda_context)
        headers = {k.lower(): v for k, v in (lambda_event.get("headers") or {}).items()}
        if not headers.get("authorization"):
            raise local.NotAuthorizedError(*gateway_error(401, "UNAUTHORIZED", "Unauthorized", lambda_context))
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except local.ForbiddenError as exc:  # an explicit Deny
            message = "User is not authorized to access this resource"
            raise local.ForbiddenError(*gateway_error(403, "ACCESS_DENIED", message, lambda_context)) from exc
        except local.LocalGatewayException:
            raise
        except Exception as exc:
            if str(exc) == "Unauthorized":
                error = gateway_error(401, "UNAUTHORIZED", "Unauthorized", lambda_context)
                raise local.NotAuthorizedError(*error) from exc
            error = gateway_error(500, "AUTHORIZER_FAILURE", None, lambda_context)
            raise local.InvalidAuthorizerError(*error) from exc


def install() -> None:
    """Use ``ApiGatewayAuthorizer`` in every LocalGateway created from now on."""
    local.LocalGatewayAuthorizer = ApiGatewayAuthorizer  # type: ignore[misc]


def apply_gateway_responses(apigateway: Any, rest_api_id: str) -> None:
    """Put the gateway responses on a deployed REST API (boto3 client)."""
    for response_type, props in gateway_responses().items():
        apigateway.put_gateway_response(
            restApiId=rest_api_id,
            responseType=response_type,
            responseParameters=props["responseParameters"],
            responseTemplates=props["responseTemplates"],
        )


def main(argv: list[str] | None = None) -> None:
    import boto3

    parser = argparse.ArgumentParser(description="Add the gateway responses to a stage deployed by `chalice deploy`.")
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)
    deployed = json.loads((ROOT / ".chalice" / "deployed" / f"{args.stage}.json").read_text())
    api = next(r for r in deployed["resources"] if r["resource_type"] == "rest_api")
    client = boto3.client("apigateway")
    apply_gateway_responses(client, api["rest_api_id"])
    client.create_deployment(restApiId=api["rest_api_id"], stageName=api.get("api_gateway_stage", "api"))
    print(f"gateway responses applied to {api['rest_api_url']}")


if __name__ == "__main__":
    main()
