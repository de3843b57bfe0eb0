"""The embedded AWS serves the shop's SPA and its own clients, and no other web page.

A second server on the session's moto backends, started as the local stack
starts it (``start_embedded_aws`` with the SPA's origins), answers requests
as a browser would send them from the SPA and from another site.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from localdev.resources import spa_origins, start_embedded_aws
from tests.support.ports import free_port

SPA = spa_origins(8080)[0]  # http://127.0.0.1:8080
ELSEWHERE = "http://evil.example"
COGNITO_JSON = "application/x-amz-json-1.1"


@pytest.fixture(scope="module")
def embedded(aws: str) -> Iterator[str]:
    port = free_port()
    server = start_embedded_aws(port, allowed_origins=spa_origins(8080))
    yield f"http://127.0.0.1:{port}"
    server.stop()


def preflight(url: str, origin: str) -> requests.Response:
    return requests.options(
        f"{url}/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target",
        },
        timeout=10,
    )


def cognito(url: str, action: str, body: dict[str, Any], origin: str | None) -> requests.Response:
    """Cognito's JSON API, called as the SPA's frontend/js/session.js calls it."""
    headers = {"Content-Type": COGNITO_JSON, "X-Amz-Target": f"AWSCognitoIdentityProviderService.{action}"}
    return requests.post(
        f"{url}/", data=json.dumps(body), headers={**headers, **({"Origin": origin} if origin else {})}, timeout=10
    )


def test_a_preflight_from_another_origin_is_refused_without_cors_headers(embedded: str) -> None:
    refused = preflight(embedded, ELSEWHERE)

    assert refused.status_code == 403
    assert not [name for name in refused.headers if name.lower().startswith("access-control-")]


def test_a_preflight_from_the_spa_is_allowed_for_its_origin_alone(embedded: str) -> None:
    for origin in spa_origins(8080):  # 127.0.0.1 and localhost
        allowed = preflight(embedded, origin)

        assert allowed.status_code == 200
        assert allowed.headers["Access-Control-Allow-Origin"] == origin
        assert "x-amz-target" in allowed.headers["Access-Control-Allow-Headers"].lower()
        assert "Origin" in allowed.headers["Vary"]


def test_the_spa_signs_up_confirms_and_signs_in_from_its_origin(embedded: str, user_pool: dict[str, str]) -> None:
    email, password = f"boundary-{uuid.uuid4().hex[:8]}@example.com", "Boundary-pass-1"
    client = {"ClientId": user_pool["client_id"]}
    steps = [
        ("SignUp", {"Username": email, "Password": password, "UserAttributes": [{"Name": "email", "Value": email}]}),
        ("ConfirmSignUp", {"Username": email, "ConfirmationCode": "123456"}),
        (
            "InitiateAuth",
            {"AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": email, "PASSWORD": password}},
        ),
    ]
    for action, body in steps:
        answer = cognito(embedded, action, {**client, **body}, SPA)
        assert answer.status_code == 200, (action, answer.text)
        assert answer.headers["Access-Control-Allow-Origin"] == SPA
    assert answer.json()["AuthenticationResult"]["AccessToken"]


def test_cognitos_admin_api_is_refused_to_another_origin(embedded: str, user_pool: dict[str, str]) -> None:
    email = f"planted-{uuid.uuid4().hex[:8]}@example.com"
    body = {"UserPoolId": user_pool["user_pool_id"], "Username": email, "MessageAction": "SUPPRESS"}

    refused = cognito(embedded, "AdminCreateUser", body, ELSEWHERE)

    assert refused.status_code == 403
    users = boto3.client("cognito-idp").list_users(UserPoolId=user_pool["user_pool_id"])["Users"]
    assert email not in json.dumps(users, default=str)


def test_the_data_dump_answers_no_other_origin_or_site_not_even_the_spa(embedded: str) -> None:
    dump = f"{embedded}/moto-api/data.json"
    for headers in (
        {"Origin": ELSEWHERE},
        {"Origin": SPA},
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},  # a <script src> has no Origin
        {"Sec-Fetch-Site": "same-site"},
    ):
        refused = requests.get(dump, headers=headers, timeout=10)
        assert refused.status_code == 403, headers
        assert "Access-Control-Allow-Origin" not in refused.headers
    reset = requests.post(f"{embedded}/moto-api/reset", headers={"Origin": ELSEWHERE}, timeout=10)
    assert reset.status_code == 403


def test_the_tools_and_motos_own_dashboard_still_reach_motos_api(embedded: str) -> None:
    # (moto's /moto-api/config: the data dump itself can fail on the state other tests leave)
    plain = requests.get(f"{embedded}/moto-api/config", timeout=10)  # curl, the tests
    dashboard = requests.get(
        f"{embedded}/moto-api/config", headers={"Origin": embedded, "Sec-Fetch-Site": "same-origin"}, timeout=10
    )

    assert plain.ok and dashboard.ok
    assert plain.json() == dashboard.json()
    assert not [name for name in plain.headers if name.lower().startswith("access-control-")]


def test_a_page_whose_name_was_rebound_to_loopback_is_refused(embedded: str) -> None:
    port = embedded.rsplit(":", 1)[1]
    rebound = requests.get(f"{embedded}/moto-api/config", headers={"Host": f"evil.example:{port}"}, timeout=10)

    assert rebound.status_code == 403
    assert requests.get(f"http://localhost:{port}/moto-api/config", timeout=10).ok
