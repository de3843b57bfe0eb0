"""Print an access token of a local user (for curl and REST clients).

    .venv/bin/python -m scripts.token admin@example.com Admin-pass-1

Signs in with Cognito's USER_PASSWORD_AUTH against the running `make run`
stack, as the SPA does; the user pool comes from its /config.json.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request

import boto3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("email")
    parser.add_argument("password")
    parser.add_argument("--web", default=f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8080')}")
    args = parser.parse_args(argv)
    with urllib.request.urlopen(f"{args.web}/config.json", timeout=5) as response:  # noqa: S310 (loopback)
        auth = json.loads(response.read())["auth"]
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=auth["endpoint"],
        region_name=auth["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 (moto accepts any; never real AWS)
    )
    result = cognito.initiate_auth(
        ClientId=auth["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": args.email, "PASSWORD": args.password},
    )
    print(result["AuthenticationResult"]["AccessToken"])


if __name__ == "__main__":
    main()
