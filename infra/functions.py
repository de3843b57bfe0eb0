"""The stage's functions: what each runs, what it may do, how it is sized.

One entry per Lambda of a packaged stage (``make package``). ``code`` lists
what the function's code calls, and nothing else: the role in the template is
built from it, and tests/functional/test_function_permissions.py runs every
route and event of each function against moto, records the AWS calls it
really makes and proves the two are equal. ``platform`` is what Lambda itself
does with the function's role: send traces to X-Ray, and for the order events
function read the stream and send to the on-failure queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Grant:
    """Some actions of one service on some of the stage's resources."""

    actions: tuple[str, ...]  # IAM actions, e.g. "dynamodb:Query"
    resources: tuple[str, ...]  # names in RESOURCES


@dataclass(frozen=True)
class Function:
    key: str  # the function's name is <stack>-<key>
    logical_id: str  # its resource in the template
    handler: str
    memory_mb: int
    timeout_s: int
    code: tuple[Grant, ...] = ()
    platform: tuple[Grant, ...] = ()
    blueprint: str | None = None  # API functions: the module whose routes it serves
    reserved_concurrency: bool = False  # a stack parameter may reserve concurrency for it


# What grants may name, as CloudFormation values of the stage's template.
RESOURCES: Final[dict[str, object]] = {
    "table": {"Fn::GetAtt": ["ShopTable", "Arn"]},
    "table-indexes": {"Fn::Sub": "${ShopTable.Arn}/index/*"},
    "table-stream": {"Fn::GetAtt": ["ShopTable", "StreamArn"]},
    "low-stock-topic": {"Ref": "LowStockTopic"},
    "failed-records-queue": {"Fn::GetAtt": ["FailedRecordsQueue", "Arn"]},
    # SES authorises SendEmail on the sender's (and, in the sandbox, the
    # recipient's) identity: any verified identity of the account.
    "ses-identities": {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"},
    "xray": "*",  # X-Ray's actions take no resource
}

# Active tracing: Lambda sends each invocation's segments with the function's role.
TRACING: Final = Grant(("xray:PutTelemetryRecords", "xray:PutTraceSegments"), ("xray",))

# Calls that the caller's own token authorises, not IAM (Cognito's GetUser
# with the shopper's access token, for GET /me's email).
TOKEN_AUTHORISED: Final = frozenset({"cognito-idp:GetUser"})

READ_CATALOG: Final = (
    Grant(("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"), ("table",)),
    Grant(("dynamodb:Query",), ("table-indexes",)),  # price and name order: the LSIs
)

FUNCTIONS: Final[tuple[Function, ...]] = (
    Function(
        key="search",
        logical_id="APIHandler",  # Chalice's API function, given the search routes
        handler="chalicelib.functions.search.app",
        blueprint="chalicelib.api.search",
        memory_mb=512,
        timeout_s=10,
        code=READ_CATALOG,
        platform=(TRACING,),
        reserved_concurrency=True,
    ),
    Function(
        key="purchase",
        logical_id="PurchaseFunction",
        handler="chalicelib.functions.purchase.app",
        blueprint="chalicelib.api.purchase",
        memory_mb=512,
        timeout_s=10,
        code=(
            Grant(
                (
                    "dynamodb:BatchGetItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                    "dynamodb:UpdateItem",
                ),
                ("table",),
            ),
        ),
        platform=(TRACING,),
        reserved_concurrency=True,
    ),
    Function(
        key="admin",
        logical_id="AdminFunction",
        handler="chalicelib.functions.admin.app",
        blueprint="chalicelib.api.admin",
        memory_mb=512,
        timeout_s=10,
        code=(
            Grant(
                ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
                ("table",),
            ),
        ),
        platform=(TRACING,),
        reserved_concurrency=True,
    ),
    Function(
        key="authorizer",
        logical_id="JwtAuth",
        handler="chalicelib.api.authorizer.jwt_auth",
        memory_mb=256,
        timeout_s=5,
        platform=(TRACING,),
    ),
    Function(
        key="order-events",
        logical_id="HandleTableStream",
        handler="chalicelib.api.order_events.handle_table_stream",
        memory_mb=256,
        timeout_s=30,
        code=(
            Grant(("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), ("table",)),
            Grant(("ses:SendEmail",), ("ses-identities",)),
            Grant(("sns:Publish",), ("low-stock-topic",)),
            Grant(("sqs:SendMessage",), ("failed-records-queue",)),
        ),
        platform=(
            TRACING,
            Grant(
                (
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ),
                ("table-stream",),
            ),
            Grant(("sqs:SendMessage",), ("failed-records-queue",)),
        ),
    ),
)


def by_key(key: str) -> Function:
    return next(f for f in FUNCTIONS if f.key == key)
