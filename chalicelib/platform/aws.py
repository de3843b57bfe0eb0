"""What AWS's answers mean to the shop: one reader of a ``ClientError``.

Once botocore's bounded retries are spent (chalicelib/bootstrap.py), AWS
being busy or out of reach is a 503 with ``Retry-After``
(chalicelib/api/responses.py): the client may try again; nothing was
half-written (every write is one request or transaction).
"""

from __future__ import annotations

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


def is_transient_aws_error(exc: BaseException) -> bool:
    """AWS was busy or unreachable: the same request may succeed later."""
    from botocore import exceptions as aws

    if isinstance(exc, (aws.ConnectionError, aws.HTTPClientError)):
        return True  # refused, timed out, reset
    if not isinstance(exc, aws.ClientError):
        return False
    error = exc.response.get("Error", {})
    if error.get("Code") in TRANSIENT_AWS_CODES:
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return any(reason.get("Code") in TRANSIENT_CANCELLATION_CODES for reason in reasons)
