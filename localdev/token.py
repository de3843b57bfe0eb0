"""Print an access token of a local user (for curl and REST clients).

    .venv/bin/python -m localdev.token admin@example.com Admin-pass-1

Signs in with Cognito's USER_PASSWORD_AUTH against the running local stack
(`make run` or `make aws`), as the SPA does; the user pool comes from the
stack's file (<LOCAL_DATA_DIR>/stack.json), or from the SPA's /config.json
when --web is given.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request

import boto3

from chalicelib.platform.config import local_stack_file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("email")
    parser.add_argument("password")
    parser.add_argument("--web", help="the local SPA's address, to read the user pool from its /config.json")
    args = parser.parse_args(argv)
    auth = user_pool_of(args.web)
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


def user_pool_of(web: str | None) -> dict[str, str]:
    """The local user pool: from the SPA's config, or from the running stack's file."""
    if not web:
        stack_file = local_stack_file(os.environ)
        if stack_file.exists():
            return dict(json.loads(stack_file.read_text())["auth"])
        web = f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8080')}"
    # The local stack's own SPA server.
    with urllib.request.urlopen(f"{web}/config.json", timeout=5) as response:  # noqa: S310  # nosec B310
        return dict(json.loads(response.read())["auth"])


if __name__ == "__main__":
    main()
