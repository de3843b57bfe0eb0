"""Cognito's emailed codes, played locally as Cognito plays them (local only).

moto 5.2's cognito-idp (moto/cognitoidp/models.py) does not mail codes, and
checks them loosely:

- ``ForgotPassword`` makes a code ``moto-confirmation-code:<n>`` and returns it
  in an ``x-moto-forgot-password-confirmation-code`` header, not in a mail;
- ``ConfirmForgotPassword`` accepts *any* code that does not start with that
  prefix, and sets the new password without checking the pool's policy;
- ``ResendConfirmationCode`` is not implemented at all (the SPA's *Send a new
  code* failed with "The sign-in service cannot be reached").

``AccountRecovery``, a WSGI middleware in front of moto's app (inside
``resources.ShopOnly``, so only the SPA's origin reaches it), answers those
three calls itself, as a pool with ``PreventUserExistenceErrors: ENABLED``
(infra/template.yaml) answers them, through public APIs only:

- ``ForgotPassword``: a six-digit code, valid for an hour, *mailed* with the
  embedded SES from Cognito's default sender (``no-reply@verificationemail.com``):
  it is in the local mail log, ``/moto-api/data.json`` ("ses" -> "Message"),
  and the stack's log prints it. An unknown email gets the same answer and no
  mail; an unconfirmed account is told to confirm first, as Cognito does;
- ``ConfirmForgotPassword``: that code only (``CodeMismatchException``; none
  asked for, or over an hour old: ``ExpiredCodeException``; five wrong codes:
  ``LimitExceededException``), then ``AdminSetUserPassword``, which checks the
  pool's password policy (``InvalidPasswordException``);
- ``ResendConfirmationCode``: a new sign-up code, mailed the same way. moto's
  ``ConfirmSignUp`` still accepts any code (DESIGN.md's known pitfall), and the
  confirm page says so.

Every other request goes to moto unchanged.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

logger = logging.getLogger(__name__)

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
HANDLED: Final = frozenset({"ForgotPassword", "ConfirmForgotPassword", "ResendConfirmationCode"})
SENDER: Final = "no-reply@verificationemail.com"  # Cognito's own sender, when a pool sends its mail itself
CODE_TTL_S: Final = 3600  # Cognito's password reset codes are valid for an hour
MAX_WRONG_CODES: Final = 5
MAX_BODY_BYTES: Final = 64 * 1024

StartResponse = Callable[..., Any]


class CognitoError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


@dataclass
class PendingCode:
    code: str
    expires_at: float
    wrong: int = 0


def mask(email: str) -> str:
    """How Cognito shows where it sent a code: ``s***@e***``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


class AccountRecovery:
    """The middleware; ``aws_url`` is the embedded AWS itself (its public APIs do the work)."""

    def __init__(self, app: Any, aws_url: str, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.aws_url = aws_url
        self.clock = clock
        self.codes: dict[tuple[str, str], PendingCode] = {}  # (pool id, username) -> its reset code
        self._lock = threading.Lock()
        self._sender_verified = False

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        action = target.removeprefix(TARGET_PREFIX)
        if environ.get("REQUEST_METHOD") != "POST" or not target.startswith(TARGET_PREFIX) or action not in HANDLED:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(min(length, MAX_BODY_BYTES))
        try:
            params = json.loads(raw or b"{}")
            result = self.answer(action, params if isinstance(params, dict) else {})
        except CognitoError as error:
            return _reply(start_response, "400 Bad Request", {"__type": error.kind, "message": error.message})
        except ValueError:
            environ["wsgi.input"] = io.BytesIO(raw)  # not JSON: moto says what it says to that
            return self.app(environ, start_response)
        return _reply(start_response, "200 OK", result)

    # -- the three calls ---------------------------------------------------------
    def answer(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        pool_id = self._pool_of(str(params.get("ClientId", "")))
        username = str(params.get("Username", ""))
        if action == "ForgotPassword":
            return self.forgot_password(pool_id, username)
        if action == "ConfirmForgotPassword":
            self.confirm_forgot_password(
                pool_id, username, str(params.get("ConfirmationCode", "")), str(params.get("Password", ""))
            )
            return {}
        return self.resend_confirmation_code(pool_id, username)

    def forgot_password(self, pool_id: str, username: str) -> dict[str, Any]:
        user = self._user(pool_id, username)
        if user is None:  # PreventUserExistenceErrors: the same answer, and no mail
            return _delivered_to(username)
        if user["UserStatus"] == "UNCONFIRMED":
            raise CognitoError(
                "InvalidParameterException",
                "Cannot reset password for the user as there is no registered/verified email or phone_number",
            )
        email = _email_of(user, username)
        code = _new_code()
        with self._lock:
            self.codes[(pool_id, user["Username"])] = PendingCode(code, self.clock() + CODE_TTL_S)
        self._mail(email, "Your password reset code", f"Your password reset code is {code}. It is valid for an hour.")
        logger.info("local mail to %s: password reset code %s", mask(email), code)
        return _delivered_to(email)

    def confirm_forgot_password(self, pool_id: str, username: str, code: str, password: str) -> None:
        user = self._user(pool_id, username)
        if user is None:
            raise CognitoError("CodeMismatchException", "Invalid verification code provided, please try again.")
        key = (pool_id, user["Username"])
        with self._lock:
            pending = self.codes.get(key)
            if pending is None or pending.expires_at <= self.clock():
                self.codes.pop(key, None)
                raise CognitoError("ExpiredCodeException", "Invalid code provided, please request a code again.")
            if pending.wrong >= MAX_WRONG_CODES:
                raise CognitoError("LimitExceededException", "Attempt limit exceeded, please try after some time.")
            if not secrets.compare_digest(pending.code, code.strip()):
                pending.wrong += 1
                raise CognitoError("CodeMismatchException", "Invalid verification code provided, please try again.")
            del self.codes[key]  # used: it cannot set a password twice
        cognito = self._client("cognito-idp")
        try:
            cognito.admin_set_user_password(
                UserPoolId=pool_id, Username=user["Username"], Password=password, Permanent=True
            )
        except cognito.exceptions.InvalidPasswordException as exc:
            with self._lock:
                self.codes.setdefault(key, pending)  # a password the policy refuses does not use the code up
            raise CognitoError("InvalidPasswordException", str(exc.response["Error"]["Message"])) from exc

    def resend_confirmation_code(self, pool_id: str, username: str) -> dict[str, Any]:
        user = self._user(pool_id, username)
        if user is None:
            return _delivered_to(username)
        if user["UserStatus"] != "UNCONFIRMED":
            raise CognitoError("InvalidParameterException", "User is already confirmed.")
        email = _email_of(user, username)
        code = _new_code()
        self._mail(email, "Your verification code", f"Your confirmation code is {code}.")
        logger.info("local mail to %s: sign-up confirmation code %s (any code is accepted here)", mask(email), code)
        return _delivered_to(email)

    # -- through the embedded AWS's public APIs ------------------------------------
    def _client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106  # nosec B106: moto's, accepted by moto only
        )

    def _pool_of(self, client_id: str) -> str:
        """The pool whose app client this is, as Cognito finds it from the ClientId alone."""
        cognito = self._client("cognito-idp")
        for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]:
            clients = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"]
            if any(c["ClientId"] == client_id for c in clients):
                return str(pool["Id"])
        raise CognitoError("ResourceNotFoundException", f"User pool client {client_id} does not exist.")

    def _user(self, pool_id: str, username: str) -> dict[str, Any] | None:
        if not username:
            raise CognitoError("InvalidParameterException", "Username must not be empty.")
        cognito = self._client("cognito-idp")
        try:
            return dict(cognito.admin_get_user(UserPoolId=pool_id, Username=username))
        except cognito.exceptions.UserNotFoundException:
            return None

    def _mail(self, to: str, subject: str, text: str) -> None:
        ses = self._client("ses")
        if not self._sender_verified:
            ses.verify_email_identity(EmailAddress=SENDER)
            self._sender_verified = True
        ses.send_email(
            Source=SENDER,
            Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}},
        )


def _new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _email_of(user: dict[str, Any], username: str) -> str:
    attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    return str(attributes.get("email") or username)


def _delivered_to(email: str) -> dict[str, Any]:
    return {"CodeDeliveryDetails": {"Destination": mask(email), "DeliveryMedium": "EMAIL", "AttributeName": "email"}}


def _reply(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(data))),
            # As moto's own answers carry them; ShopOnly names the caller's origin instead of *.
            ("Access-Control-Allow-Origin", "*"),
        ],
    )
    return [data]
