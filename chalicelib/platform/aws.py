"""What AWS's answers mean to the shop: one reader of a ``ClientError``.

Every feature reads an error's code, and a cancelled transaction's reasons,
through ``error_code``, ``is_missing``, ``cancellation_codes`` and
``condition_failed_at`` here; nowhere else looks inside ``exc.response``.

Once botocore's bounded retries are spent (chalicelib/bootstrap.py), AWS
being busy or out of reach is a 503 with ``Retry-After``
(chalicelib/api/responses.py): the client may try again; nothing was
half-written (every write is one request or transaction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

Table = Any  # a boto3 DynamoDB Table resource

CONDITIONAL_CHECK_FAILED: Final = "ConditionalCheckFailedException"  # a single write's condition
TRANSACTION_CANCELED: Final = "TransactionCanceledException"
CONDITION_FAILED_REASON: Final = "ConditionalCheckFailed"  # one action's condition, in a cancelled transaction
NO_REASON: Final = "None"  # what DynamoDB says of an action that did not cancel the transaction

# DynamoDB's answers that mean "busy, try again", whole-request or per
# transaction item (a TransactionCanceledException's reasons).
TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
TRANSIENT_CANCELLATION_CODES = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
# What "no such thing" is called: S3 answers a HEAD with the bare status (no
# body to name a code), a GET with "NoSuchKey"; other services say "NotFound".
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def error_code(exc: ClientError) -> str:
    """The error's code (``ConditionalCheckFailedException``, ``MessageRejected``...); "" if it has none."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    """What was asked for (an S3 object, say) does not exist."""
    return error_code(exc) in MISSING_CODES


def cancellation_codes(exc: ClientError) -> list[str]:
    """Why DynamoDB cancelled a transaction: one code per action, in the order
    the actions were sent ("None" for an action that did not cancel it); empty
    for any other error."""
    return [str(reason.get("Code") or NO_REASON) for reason in exc.response.get("CancellationReasons") or []]


def condition_failed(exc: ClientError) -> bool:
    """A single write (PutItem, UpdateItem, DeleteItem) refused by its condition."""
    return error_code(exc) == CONDITIONAL_CHECK_FAILED


def condition_failed_at(exc: ClientError, position: int) -> bool:
    """A transaction cancelled because the condition of its action at
    ``position`` (negative: from the end, as for a list) did not hold."""
    if error_code(exc) != TRANSACTION_CANCELED:
        return False
    codes = cancellation_codes(exc)
    return -len(codes) <= position < len(codes) and codes[position] == CONDITION_FAILED_REASON


def is_cancelled_transaction(exc: ClientError) -> bool:
    """A transaction DynamoDB refused for a reason a retry of the same request
    would not change (a condition, a conflicting write): nothing was written."""
    return error_code(exc) == TRANSACTION_CANCELED and not is_transient_aws_error(exc)


def is_transient_aws_error(exc: BaseException) -> bool:
    """AWS was busy or unreachable: the same request may succeed later."""
    from botocore import exceptions as aws

    if isinstance(exc, (aws.ConnectionError, aws.HTTPClientError)):
        return True  # refused, timed out, reset
    if not isinstance(exc, aws.ClientError):
        return False
    if error_code(exc) in TRANSIENT_AWS_CODES:
        return True
    return any(code in TRANSIENT_CANCELLATION_CODES for code in cancellation_codes(exc))
