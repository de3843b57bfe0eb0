"""The stage's functions: what each runs, what it may do, how it is sized.

One entry per Lambda of a packaged stage (``make package``). ``code`` lists
what the function's code calls, and nothing else: the role in the template is
built from it, and tests/functional/test_function_permissions.py runs every
route and event of each function against moto, records the AWS calls it
really makes and proves the two are equal. ``platform`` is what Lambda itself
does with the function's role: send traces to X-Ray, and for the stream
functions (order events, indexer) read the stream and send to the on-failure
queue. ``search_engine`` functions carry the search engine (tantivy) as a
Lambda layer, built by ``make package`` from requirements-search.txt; the
others, and the deployment zip, do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Grant:
    """Some actions of one service on some of the stage's resources, under a condition if any."""

    actions: tuple[str, ...]  # IAM actions, e.g. "dynamodb:Query"
    resources: tuple[str, ...]  # names in RESOURCES
    # (operator, condition key, template parameter whose value it must have)
    condition: tuple[tuple[str, str, str], ...] = ()


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
    search_engine: bool = False  # the search engine layer (tantivy) is attached to it
    image_library: bool = False  # the image layer (Pillow) is attached to it


# What grants may name, as CloudFormation values of the stage's template.
RESOURCES: Final[dict[str, object]] = {
    "table": {"Fn::GetAtt": ["ShopTable", "Arn"]},
    "table-stream": {"Fn::GetAtt": ["ShopTable", "StreamArn"]},
    # The search index's files, manifests and pointer (the bucket holds nothing else).
    "search-index-objects": {"Fn::Sub": "${SearchIndexBucket.Arn}/search-index/*"},
    "search-index-bucket": {"Fn::GetAtt": ["SearchIndexBucket", "Arn"]},
    "low-stock-topic": {"Ref": "LowStockTopic"},
    "failed-records-queue": {"Fn::GetAtt": ["FailedRecordsQueue", "Arn"]},
    # SES authorises SendEmail on the sender's (and, in the sandbox, the
    # recipient's) identity: any verified identity of the account, as long as
    # the mail is from the stage's sender (FROM_THE_SENDER).
    "ses-identities": {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"},
    # Photos: uploads (admins' browsers write them with the admin function's
    # presigned POST; the image function reads and deletes them) and the
    # renditions made of them (served by CloudFront under /img/).
    "uploads-objects": {"Fn::Sub": "${UploadsBucket.Arn}/uploads/*"},
    "uploads-bucket": {"Fn::GetAtt": ["UploadsBucket", "Arn"]},
    "renditions-objects": {"Fn::Sub": "${RenditionsBucket.Arn}/img/*"},
    "renditions-bucket": {"Fn::GetAtt": ["RenditionsBucket", "Arn"]},
    "uploads-queue": {"Fn::GetAtt": ["UploadsQueue", "Arn"]},
    "xray": "*",  # X-Ray's actions take no resource
}

# The order events function mails only as the stage's sender (NotifyFrom),
# whatever other identities the account has verified; with no sender it
# sends nothing (confirmations are off), and the condition matches none.
FROM_THE_SENDER: Final = (("StringEquals", "ses:FromAddress", "NotifyFrom"),)

# Active tracing: Lambda sends each invocation's segments with the function's role.
TRACING: Final = Grant(("xray:PutTelemetryRecords", "xray:PutTraceSegments"), ("xray",))

# Calls that the caller's own token authorises, not IAM (Cognito's GetUser
# with the shopper's access token, for GET /me's email).
TOKEN_AUTHORISED: Final = frozenset({"cognito-idp:GetUser"})

# A product is one item: a page of results is one BatchGetItem, a product one GetItem.
READ_CATALOG: Final = (Grant(("dynamodb:BatchGetItem", "dynamodb:GetItem"), ("table",)),)

# S3 answers a GetObject of a missing key with 404 only to a caller that may
# list the bucket, and with 403 AccessDenied to any other. The code reads "no
# index yet" from that 404 (the pointer, search-index/current.json, and a
# pruned version: chalicelib/search/index_store.py), so the functions that read the
# index may list its bucket, which holds nothing but the index.
SEE_MISSING_INDEX_OBJECTS: Final = Grant(("s3:ListBucket",), ("search-index-bucket",))

# What Lambda does to run a function on the table's stream: read it, and send
# a batch it gave up on to the on-failure queue.
STREAM_TRIGGER: Final = (
    Grant(
        ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"),
        ("table-stream",),
    ),
    Grant(("sqs:SendMessage",), ("failed-records-queue",)),
)

# What Lambda does to run a function on a queue: receive, delete, hide a message while it works.
QUEUE_TRIGGER: Final = (
    Grant(
        ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
        ("uploads-queue",),
    ),
)

# A photo's renditions are one prefix: listed, then deleted in one request.
DELETE_RENDITIONS: Final = (
    Grant(("s3:DeleteObject",), ("renditions-objects",)),
    Grant(("s3:ListBucket",), ("renditions-bucket",)),
)

FUNCTIONS: Final[tuple[Function, ...]] = (
    Function(
        key="search",
        logical_id="APIHandler",  # Chalice's API function, given the search routes
        handler="chalicelib.lambdas.search.app",
        blueprint="chalicelib.api.search",
        memory_mb=512,
        timeout_s=10,
        code=(*READ_CATALOG, Grant(("s3:GetObject",), ("search-index-objects",)), SEE_MISSING_INDEX_OBJECTS),
        platform=(TRACING,),
        reserved_concurrency=True,
        search_engine=True,
    ),
    Function(
        key="purchase",
        logical_id="PurchaseFunction",
        handler="chalicelib.lambdas.purchase.app",
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
        handler="chalicelib.lambdas.admin.app",
        blueprint="chalicelib.api.admin",
        memory_mb=512,
        timeout_s=10,
        code=(
            Grant(
                ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
                ("table",),
            ),
            # The presigned POST is signed with this role: S3 checks PutObject on
            # it when the browser uploads. A deleted photo's upload and renditions go.
            Grant(("s3:DeleteObject", "s3:PutObject"), ("uploads-objects",)),
            *DELETE_RENDITIONS,
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
            Grant(("ses:SendEmail",), ("ses-identities",), FROM_THE_SENDER),
            Grant(("sns:Publish",), ("low-stock-topic",)),
            Grant(("sqs:SendMessage",), ("failed-records-queue",)),
        ),
        platform=(TRACING, *STREAM_TRIGGER),
    ),
    Function(
        key="indexer",
        logical_id="IndexTableStream",  # Chalice's name for index_table_stream
        handler="chalicelib.api.indexer.index_table_stream",
        memory_mb=1024,
        timeout_s=60,  # a rebuild ({"rebuild": true}, `make reindex`) scans the table
        code=(
            # A changed product's sales counter, a counter's product (BatchGetItem); a rebuild (Scan).
            Grant(("dynamodb:BatchGetItem", "dynamodb:Scan"), ("table",)),
            Grant(("s3:DeleteObject", "s3:GetObject", "s3:PutObject"), ("search-index-objects",)),
            SEE_MISSING_INDEX_OBJECTS,
        ),
        platform=(TRACING, *STREAM_TRIGGER),
        search_engine=True,
    ),
    Function(
        key="images",
        logical_id="ProcessPhotoUploads",  # Chalice's name for process_photo_uploads
        handler="chalicelib.api.images.process_photo_uploads",
        memory_mb=1024,  # a 40-megapixel upload decodes to a few hundred MB (bench/images.py)
        timeout_s=60,
        code=(
            Grant(("dynamodb:GetItem", "dynamodb:UpdateItem"), ("table",)),  # the product's photo list
            Grant(("s3:DeleteObject", "s3:GetObject"), ("uploads-objects",)),
            Grant(("s3:ListBucket",), ("uploads-bucket",)),  # a missing upload is a 404, not a 403
            Grant(("s3:PutObject",), ("renditions-objects",)),
            *DELETE_RENDITIONS,  # a photo deleted while its renditions were made
        ),
        platform=(TRACING, *QUEUE_TRIGGER),
        image_library=True,
    ),
)


def by_key(key: str) -> Function:
    return next(f for f in FUNCTIONS if f.key == key)
