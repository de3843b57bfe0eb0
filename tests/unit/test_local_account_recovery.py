"""The local stack's Cognito codes (localdev/account_recovery.py): the rules, without I/O."""

from __future__ import annotations

import re
from typing import Any

import pytest

from localdev.account_recovery import CODE_TTL_S, MAX_WRONG_CODES, AccountRecovery, CognitoError, mask


class Recorded(AccountRecovery):
    """The middleware's rules, with the embedded AWS's users and mail replaced by memory."""

    def __init__(self, status: str = "CONFIRMED") -> None:
        self.now = 1000.0
        super().__init__(app=None, aws_url="http://127.0.0.1:1", clock=lambda: self.now)
        self.users = {"ada@example.com": {"Username": "ada@example.com", "UserStatus": status, "UserAttributes": []}}
        self.mails: list[str] = []
        self.passwords: list[str] = []

    def _user(self, pool_id: str, username: str) -> dict[str, Any] | None:
        return self.users.get(username)

    def _mail(self, to: str, subject: str, text: str) -> None:
        self.mails.append(text)

    def _client(self, service: str) -> Any:
        recorder = self

        class Cognito:
            class exceptions:  # boto3's spelling
                InvalidPasswordException = KeyError

            def admin_set_user_password(self, **kwargs: Any) -> None:
                recorder.passwords.append(kwargs["Password"])

        return Cognito()

    def code(self) -> str:
        found = re.search(r"\b\d{6}\b", self.mails[-1])
        assert found
        return found.group()


def test_a_reset_code_is_mailed_and_sets_the_password_once() -> None:
    recovery = Recorded()
    answer = recovery.forgot_password("pool", "ada@example.com")
    assert answer["CodeDeliveryDetails"]["Destination"] == "a***@e***"
    code = recovery.code()
    assert len(code) == 6 and code.isdigit()
    recovery.confirm_forgot_password("pool", "ada@example.com", code, "New-pass-123")
    assert recovery.passwords == ["New-pass-123"]
    with pytest.raises(CognitoError) as used:
        recovery.confirm_forgot_password("pool", "ada@example.com", code, "Other-pass-123")
    assert used.value.kind == "ExpiredCodeException"


def test_a_wrong_code_is_refused_and_five_of_them_stop_the_code() -> None:
    recovery = Recorded()
    recovery.forgot_password("pool", "ada@example.com")
    wrong = "000000" if recovery.code() != "000000" else "111111"
    for _ in range(MAX_WRONG_CODES):
        with pytest.raises(CognitoError) as refused:
            recovery.confirm_forgot_password("pool", "ada@example.com", wrong, "New-pass-123")
        assert refused.value.kind == "CodeMismatchException"
    with pytest.raises(CognitoError) as limited:
        recovery.confirm_forgot_password("pool", "ada@example.com", recovery.code(), "New-pass-123")
    assert limited.value.kind == "LimitExceededException" and recovery.passwords == []


def test_a_code_expires_after_an_hour() -> None:
    recovery = Recorded()
    recovery.forgot_password("pool", "ada@example.com")
    recovery.now += CODE_TTL_S
    with pytest.raises(CognitoError) as expired:
        recovery.confirm_forgot_password("pool", "ada@example.com", recovery.code(), "New-pass-123")
    assert expired.value.kind == "ExpiredCodeException"


def test_an_unknown_email_gets_the_same_answer_and_no_mail() -> None:
    recovery = Recorded()
    assert recovery.forgot_password("pool", "nobody@example.com")["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert recovery.mails == []
    with pytest.raises(CognitoError) as refused:
        recovery.confirm_forgot_password("pool", "nobody@example.com", "123456", "New-pass-123")
    assert refused.value.kind == "CodeMismatchException"


def test_a_new_sign_up_code_is_mailed_to_an_unconfirmed_account_only() -> None:
    unconfirmed, confirmed = Recorded("UNCONFIRMED"), Recorded()
    unconfirmed.resend_confirmation_code("pool", "ada@example.com")
    assert "confirmation code" in unconfirmed.mails[-1]
    with pytest.raises(CognitoError) as already:
        confirmed.resend_confirmation_code("pool", "ada@example.com")
    assert already.value.kind == "InvalidParameterException"
    with pytest.raises(CognitoError) as first:
        unconfirmed.forgot_password("pool", "ada@example.com")
    assert first.value.kind == "InvalidParameterException"


def test_where_a_code_went_is_masked() -> None:
    assert mask("shopper@example.com") == "s***@e***"
