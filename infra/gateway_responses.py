"""API Gateway's own answers (auth failures, unknown routes) with CORS and the shop's error body.

infra/gateway-responses.json defines them for DEFAULT_4XX and DEFAULT_5XX in
the form of API Gateway's ``x-amazon-apigateway-gateway-responses``
extension: ``make package`` puts them in the stage's API definition, and the
local gateway (localdev/gateway.py) answers with the same headers and body.
After ``chalice deploy``, ``python -m infra.gateway_responses --stage dev``
applies them to the deployed API.
"""

from __future__ import annotations

import argparse
import json
from functools import cache
from typing import Any

from infra.template import ROOT

GATEWAY_RESPONSES = ROOT / "infra" / "gateway-responses.json"


@cache
def gateway_responses() -> dict[str, dict[str, Any]]:
    """ResponseType -> responseParameters and responseTemplates, from infra/gateway-responses.json."""
    return dict(json.loads(GATEWAY_RESPONSES.read_text()))


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
