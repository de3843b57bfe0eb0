"""The local stack's saved data: a snapshot of the table plus a journal of its changes (docs/local.md)."""

from __future__ import annotations

import json
from pathlib import Path

from localdev.embedded_table import apply_changes
from localdev.local_stack import KEY_NAMES, LocalStack


def item(pk: str, **attributes: int) -> dict[str, dict[str, str]]:
    return {"PK": {"S": pk}, "SK": {"S": "S"}, **{name: {"N": str(value)} for name, value in attributes.items()}}


def change(pk: str, **attributes: int) -> dict[str, object]:
    return {"keys": {"PK": {"S": pk}, "SK": {"S": "S"}}, "item": item(pk, **attributes) if attributes else None}


def test_a_journal_line_cut_short_is_left_out_whole(tmp_path: Path) -> None:
    stack = LocalStack(data_dir=tmp_path)
    assert stack.journal_file is not None
    first = [change("ORDER#1", n=1), change("PRODUCT#a", stock=0)]
    second = [change("ORDER#2", n=1), change("PRODUCT#b", stock=0)]  # one transaction
    third = [change("ORDER#3", n=1), change("PRODUCT#c", stock=0)]
    stack._journal(first)
    with stack.journal_file.open("a") as out:  # a write that failed half-way (a full disk)...
        out.write("\n" + json.dumps(second)[:-20])
    stack._journal(second)  # ... is repeated by the next save
    with stack.journal_file.open("a") as out:  # the last one, cut short by a crash
        out.write("\n" + json.dumps(third)[:-20])

    assert stack._journaled() == first + second


def test_the_journal_applied_again_to_the_snapshot_it_was_folded_into_changes_nothing() -> None:
    snapshot = [item("PRODUCT#a", stock=3), item("PRODUCT#b", stock=1), item("ORDER#0", n=1)]
    journal = [change("PRODUCT#a", stock=2), change("ORDER#1", n=1), change("ORDER#0"), change("PRODUCT#a", stock=1)]

    folded = apply_changes(snapshot, journal, KEY_NAMES)

    assert sorted(json.dumps(i) for i in folded) == sorted(
        json.dumps(i) for i in [item("PRODUCT#a", stock=1), item("PRODUCT#b", stock=1), item("ORDER#1", n=1)]
    )
    assert apply_changes(folded, journal, KEY_NAMES) == folded


def test_a_saved_account_comes_back_with_its_sub_groups_and_password_never_saved_as_typed(aws: str) -> None:
    import uuid

    import boto3
    import pytest
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    from localdev.resources import create_user_pool, restore_user_pool_state, user_pool_state

    cognito = boto3.client("cognito-idp")
    pool = create_user_pool(cognito, f"restore-{uuid.uuid4().hex[:6]}")
    client_id, pool_id = pool["client_id"], pool["user_pool_id"]
    email, password = "saved@example.com", "Saved-pass-1"
    cognito.sign_up(ClientId=client_id, Username=email, Password=password)
    cognito.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode="1")
    sub = cognito.admin_get_user(UserPoolId=pool_id, Username=email)["Username"]
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName="admin")

    def sign_in(typed: str) -> dict[str, str]:
        auth = {"USERNAME": email, "PASSWORD": typed}
        return dict(cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=auth))

    refresh = sign_in(password)["AuthenticationResult"]["RefreshToken"]

    # WHEN the pool's state is saved, and the pool forgets its users (a new process)
    saved = json.loads(json.dumps(user_pool_state(pool_id, {})))
    assert password not in json.dumps(saved) and saved["users"][0]["password"].startswith("scrypt$")
    moto_pool = cognitoidp_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].user_pools[pool_id]
    moto_pool.users.clear()
    moto_pool.refresh_tokens.clear()
    for group in moto_pool.groups.values():
        group.users.clear()
    assert restore_user_pool_state(pool_id, saved) == 1

    # THEN the account signs in with its password alone, as the same user, still in its group
    assert "AuthenticationResult" in sign_in(password)
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        sign_in("Wrong-pass-1")
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=email)
    assert user["Username"] == sub and user["UserStatus"] == "CONFIRMED"
    assert {"Name": "sub", "Value": sub} in user["UserAttributes"]
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=email)["Groups"]
    assert [g["GroupName"] for g in groups] == ["admin"]
    # AND the session the SPA held goes on
    refreshed = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh}
    )
    assert refreshed["AuthenticationResult"]["AccessToken"]
