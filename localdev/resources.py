"""Create the stage's AWS resources from infra/template.yaml.

The local stack and the tests build their table, user pool and photo buckets
and queues from the same CloudFormation template that production deploys, so
keys, indexes and settings cannot drift apart. Also here: the embedded AWS
itself (moto's server, with ``ShopOnly`` and ``S3PostPolicy`` in front of it)
and what of its memory the local stack saves and restores (the user pool's
accounts, a bucket's objects).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.chalice_config import stage_environment
from infra.template import table_definition, template


def create_table(dynamodb: Any, table_name: str) -> None:
    """Create the table if it does not exist yet (``dynamodb`` is a boto3 client)."""
    existing = dynamodb.list_tables()["TableNames"]
    if table_name not in existing:
        dynamodb.create_table(**table_definition(table_name))
        dynamodb.get_waiter("table_exists").wait(TableName=table_name)
        ttl = template()["Resources"]["ShopTable"]["Properties"].get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


def create_search_index_bucket(s3: Any, bucket: str) -> None:
    """The bucket of the search index's versions (SearchIndexBucket in the template)."""
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)


def rebuild_search_index(table_name: str, bucket: str) -> int:
    """Build the search index from the table and publish it (what the
    indexer does when a stage has none); returns its version."""
    import tempfile

    import boto3

    from chalicelib.search.index_store import IndexStore
    from chalicelib.search.indexing import Indexer

    workdir = Path(tempfile.mkdtemp(prefix="petstore-rebuild-"))
    store = IndexStore(boto3.client("s3"), bucket, workdir)
    report = Indexer(store, boto3.resource("dynamodb").Table(table_name)).rebuild()
    return int(report.version or 0)


def local_stage_environment() -> dict[str, str]:
    """The local stage's variables of .chalice/config.json."""
    return stage_environment("local")


def _properties(logical_id: str) -> dict[str, Any]:
    return dict(template()["Resources"][logical_id]["Properties"])


def create_user_pool(cognito: Any, pool_name: str) -> dict[str, str]:
    """The user pool, its SPA client and its groups, as the template defines them.

    Returns the ids the app and the SPA need: ``user_pool_id``, ``client_id``.
    """
    pool = _properties("UserPool")
    created = cognito.create_user_pool(
        PoolName=pool_name,
        **{
            k: pool[k]
            for k in ("UsernameAttributes", "AutoVerifiedAttributes", "Policies", "Schema", "AccountRecoverySetting")
            if k in pool
        },
    )
    pool_id = created["UserPool"]["Id"]
    client = _properties("SpaClient")
    client.pop("UserPoolId")
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, **client)["UserPoolClient"]["ClientId"]
    for resource in template()["Resources"].values():
        if resource["Type"] == "AWS::Cognito::UserPoolGroup":
            group = dict(resource["Properties"])
            group.pop("UserPoolId")
            cognito.create_group(UserPoolId=pool_id, **group)
    return {"user_pool_id": pool_id, "client_id": client_id}


# Local only: the accounts `make run` creates and prints (README lists them).
DEMO_USERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("shopper@example.com", "Shopper-pass-1", ()),
    ("admin@example.com", "Admin-pass-1", ("admin",)),
)


def create_demo_users(cognito: Any, user_pool_id: str) -> None:
    """The demo users that the pool does not have yet (a restored pool keeps its own)."""
    for email, password, groups in DEMO_USERS:
        try:
            cognito.admin_get_user(UserPoolId=user_pool_id, Username=email)
            continue
        except cognito.exceptions.UserNotFoundException:
            pass
        cognito.admin_create_user(
            UserPoolId=user_pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(UserPoolId=user_pool_id, Username=email, Password=password, Permanent=True)
        for group in groups:
            cognito.admin_add_user_to_group(UserPoolId=user_pool_id, Username=email, GroupName=group)


# -- a local user pool that survives a restart --------------------------------------------
# moto's user pools live in its memory: each start made a new pool, new ids and
# new users (a new `sub` each, so their orders were no longer theirs). The
# local stack keeps them: moto's own setting makes the pool and client ids a
# hash of their definition (the same at every start), and the users (their
# `sub`, attributes, status, groups and password) and refresh tokens are saved
# with the snapshot and put back into moto's memory at the next start.
# Passwords are saved as scrypt hashes, never as typed. Tokens stay verifiable:
# moto signs every pool's tokens with one fixed key.
STABLE_USER_POOL_IDS = {
    "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
    "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
}
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    import base64
    import hashlib

    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    encode = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${encode(salt).decode()}${encode(digest).decode()}"


class StoredPassword(str):
    """A restored user's password, kept as its scrypt hash.

    moto keeps a user's password as a string and checks a sign-in with
    ``user.password != password`` (moto 5.2's cognitoidp/models.py); this
    string is the hash, and is equal to a password that hashes to it.
    """

    __slots__ = ()

    def matches(self, password: str) -> bool:
        import base64
        import hashlib
        import hmac

        try:
            scheme, n, r, p, salt, digest = str(self).split("$")
            found = hashlib.scrypt(
                password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
            )
        except ValueError:  # a malformed hash matches nothing
            return False
        if scheme != "scrypt":
            return False
        return hmac.compare_digest(found, base64.b64decode(digest))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredPassword):
            return str(self) == str(other)
        if isinstance(other, str):
            return self.matches(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__


def _user_pool(user_pool_id: str, region: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    return cognitoidp_backends[DEFAULT_ACCOUNT_ID][region].user_pools[user_pool_id]


def user_pool_state(user_pool_id: str, hashes: dict[tuple[str, str], str], region: str = "us-east-1") -> dict[str, Any]:
    """The users and refresh tokens of a pool of the embedded AWS, as JSON data.

    ``hashes`` remembers the hash of each password already hashed (scrypt is
    slow on purpose): pass the same dict at every call.
    """
    pool = _user_pool(user_pool_id, region)
    users = []
    for user in list(pool.users.values()):  # a copy: sign-ups may come in meanwhile
        password = user.password
        if password is not None and not isinstance(password, StoredPassword):
            remembered = (str(user.username), str(password))
            if remembered not in hashes:
                hashes[remembered] = hash_password(password)
            password = hashes[remembered]
        users.append(
            {
                "username": user.username,
                "sub": user.id,
                "password": None if password is None else str(password),
                "status": getattr(user.status, "value", user.status),
                "enabled": user.enabled,
                "attributes": [dict(attribute) for attribute in user.attributes],
                "groups": sorted(group.group_name for group in list(user.groups)),
                "created": user.create_date.isoformat(),
                "modified": user.last_modified_date.isoformat(),
            }
        )
    refresh = [[token, *found] for token, found in list(pool.refresh_tokens.items()) if found]
    now = time.time()
    access = [[token, *found] for token, found in list(pool.access_tokens.items()) if _expires(token) > now]
    return {
        "user_pool_id": pool.id,
        "client_ids": list(pool.clients),
        "users": users,
        "refresh_tokens": refresh,
        "access_tokens": access,  # those still valid: GetUser answers them (GET /me reads the email so)
    }


def _expires(token: str) -> float:
    """When a token moto issued expires (its ``exp``, read without verifying: moto made it)."""
    import base64
    import json

    try:
        payload = token.split(".")[1]
        return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        return 0.0


def restore_user_pool_state(user_pool_id: str, saved: dict[str, Any], region: str = "us-east-1") -> int:
    """Put saved users (with their `sub`) and refresh tokens back into a pool; returns the users restored."""
    import datetime as dt

    from moto.cognitoidp.models import CognitoIdpUser, UserStatus

    pool = _user_pool(user_pool_id, region)
    restored = 0
    for found in saved.get("users", []):
        if found["username"] in pool.users:
            continue
        password = StoredPassword(found["password"]) if found.get("password") else None
        user = CognitoIdpUser(pool.id, found["username"], password, UserStatus(found["status"]), found["attributes"])
        user.id = found["sub"]
        user.update_attributes([{"Name": "sub", "Value": found["sub"]}])
        user.enabled = bool(found["enabled"])
        user.create_date = dt.datetime.fromisoformat(found["created"])
        user.last_modified_date = dt.datetime.fromisoformat(found["modified"])
        for name in found.get("groups", []):
            group = pool.groups.get(name)
            if group is not None:
                group.users.add(user)
                user.groups.add(group)
        pool.users[user.username] = user
        restored += 1
    # A token names its user as signed in (the email, or the username): moto finds them at each use.
    for token, client_id, username, origin in saved.get("refresh_tokens", []):
        if client_id in pool.clients:
            pool.refresh_tokens[token] = (client_id, username, origin)
    for token, client_id, username in saved.get("access_tokens", []):
        if client_id in pool.clients and _expires(token) > time.time():
            pool.access_tokens[token] = (client_id, username)
    return restored


LOCAL_SENDER = "orders@petstore.example.com"


def create_notifications(prefix: str) -> dict[str, str]:
    """The order events' SES sender, SNS low-stock topic and SQS failed-records
    queue (local stack), as the app's environment names them."""
    import boto3

    boto3.client("ses").verify_email_identity(EmailAddress=LOCAL_SENDER)
    topic = boto3.client("sns").create_topic(Name=f"{prefix}-low-stock")["TopicArn"]
    queue = boto3.client("sqs").create_queue(QueueName=f"{prefix}-failed-records")["QueueUrl"]
    return {
        "NOTIFY_FROM": LOCAL_SENDER,
        "LOW_STOCK_TOPIC_ARN": topic,
        "FAILED_RECORDS_QUEUE_URL": queue,
    }


# -- photos: the uploads bucket and its queue, the renditions bucket -----------------------
# Created from infra/template.yaml's UploadsBucket, UploadsQueue,
# PhotoFailuresQueue and RenditionsBucket (chalicelib/photos/uploads.py says
# what travels where), with these local differences:
# - the uploads bucket's CORS names the local SPA's origins instead of any
#   (ShopOnly lets no other origin reach the embedded AWS anyway);
# - the uploads queue's visibility timeout is a minute, not six times a
#   deployed function's timeout: a delivery that failed comes back sooner;
# - what moto stores but never applies is left out (lifecycle rules, bucket
#   policies, SQS encryption): the TLS-only policies would refuse plain http.
LOCAL_UPLOADS_VISIBILITY_S = 60


def create_photo_storage(
    prefix: str,
    uploads_bucket: str,
    renditions_bucket: str,
    web_origins: tuple[str, ...],
    visibility_timeout_s: int = LOCAL_UPLOADS_VISIBILITY_S,
) -> dict[str, str]:
    """The photo buckets, the uploads queue with its failed-events queue, and the
    uploads bucket's report of each new upload to the queue; returns the queues' URLs
    (``UPLOADS_QUEUE_URL``, ``PHOTO_FAILURES_QUEUE_URL``). Harmless when repeated."""
    import json

    import boto3

    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    uploads, renditions = _properties("UploadsBucket"), _properties("RenditionsBucket")
    _private_bucket(s3, uploads_bucket, uploads)
    _private_bucket(s3, renditions_bucket, renditions)
    s3.put_bucket_cors(
        Bucket=uploads_bucket, CORSConfiguration={"CORSRules": _cors_rules(uploads["CorsConfiguration"], web_origins)}
    )
    failures_url = sqs.create_queue(
        QueueName=f"{prefix}-photo-failures",
        Attributes={"MessageRetentionPeriod": str(_properties("PhotoFailuresQueue")["MessageRetentionPeriod"])},
    )["QueueUrl"]
    redrive = dict(_properties("UploadsQueue")["RedrivePolicy"], deadLetterTargetArn=_queue_arn(sqs, failures_url))
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-uploads",
        Attributes={"VisibilityTimeout": str(visibility_timeout_s), "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    reports = [
        {
            "Id": f"uploads-to-image-function-{n}",
            "QueueArn": queue_arn,
            "Events": [found["Event"]],
            "Filter": {"Key": {"FilterRules": found["Filter"]["S3Key"]["Rules"]}},
        }
        for n, found in enumerate(uploads["NotificationConfiguration"]["QueueConfigurations"])
    ]
    s3.put_bucket_notification_configuration(
        Bucket=uploads_bucket, NotificationConfiguration={"QueueConfigurations": reports}
    )
    return {"UPLOADS_QUEUE_URL": queue_url, "PHOTO_FAILURES_QUEUE_URL": failures_url}


def _private_bucket(s3: Any, name: str, properties: dict[str, Any]) -> None:
    if name not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=name)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"])
    rules = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]} for rule in rules]
        },
    )


def _cors_rules(configuration: dict[str, Any], origins: tuple[str, ...]) -> list[dict[str, Any]]:
    """The template's CORS rules (CloudFormation's spelling) as S3's API takes them, for ``origins``."""
    return [
        {
            "AllowedMethods": rule["AllowedMethods"],
            "AllowedOrigins": list(origins),
            "AllowedHeaders": rule.get("AllowedHeaders", []),
            **({"MaxAgeSeconds": int(rule["MaxAge"])} if "MaxAge" in rule else {}),
        }
        for rule in configuration["CorsRules"]
    ]


def _queue_arn(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


# The renditions bucket survives a restart as the table does (local_stack.py
# keeps its objects in .local/renditions/). The embedded AWS runs in this
# process, so its memory is read and restored directly, as the user pool's is:
# a restart puts back thousands of objects in a fraction of a second, where
# one PutObject over HTTP takes milliseconds.
def _bucket(bucket: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(bucket)


def object_keys(bucket: str) -> set[str]:
    """Every key of a bucket of the embedded AWS (a copy: uploads may come in meanwhile)."""
    return set(dict.keys(_bucket(bucket).keys))  # dict's own keys(): one step, whatever writes meanwhile


def object_body(bucket: str, key: str) -> bytes | None:
    """An object's bytes, read from the embedded AWS's memory; None if it is gone (deleted meanwhile)."""
    try:
        return bytes(_bucket(bucket).keys[key].value)
    except (KeyError, IndexError, ValueError):  # gone, or its buffer closed by a delete meanwhile
        return None


def put_objects(bucket: str, objects: Iterable[tuple[str, bytes, dict[str, str]]]) -> int:
    """Put ``(key, body, headers)`` into a bucket of the embedded AWS directly, reporting
    nothing (they are restored, not new); ``headers``: Content-Type, Cache-Control."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    count = 0
    for key, body, headers in objects:
        backend.put_object(bucket, key, body, disable_notification=True).set_metadata(dict(headers))
        count += 1
    return count


def local_auth_environment(aws_url: str, pool: dict[str, str], region: str = "us-east-1") -> dict[str, str]:
    """What the app needs to verify the local pool's tokens (set by the stack)."""
    return {
        "AUTH_PROVIDER": "cognito",
        "COGNITO_REGION": region,
        "COGNITO_USER_POOL_ID": pool["user_pool_id"],
        "COGNITO_CLIENT_ID": pool["client_id"],
        "AUTH_JWKS_URL": f"{aws_url}/{pool['user_pool_id']}/.well-known/jwks.json",
    }


def fake_aws_environment(aws_url: str) -> dict[str, str]:
    """Credentials that only moto accepts: real ones are never sent anywhere."""
    return {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def start_embedded_aws(port: int, allowed_origins: tuple[str, ...] = ()) -> Any:
    """moto's server on loopback, with the patches of localdev/moto_patches.py installed,
    answering only the shop (``ShopOnly``): browsers may call it from
    ``allowed_origins`` (the SPA's) alone; and a browser's form upload to a
    bucket is checked against its policy as S3 checks it (``S3PostPolicy``);
    Cognito's emailed codes (forgot password, a new sign-up code) are mailed
    and checked as Cognito does (localdev/account_recovery.py).

    Used by the local stack, the tests and the benchmarks alike.
    """
    import logging

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from localdev import moto_patches
    from localdev.account_recovery import AccountRecovery

    moto_patches.install()  # checks moto's version too
    own = (f"http://127.0.0.1:{port}", f"http://localhost:{port}")

    class EmbeddedAws(ThreadedMotoServer):
        def _server_entry(self) -> None:  # moto 5.2's, with ShopOnly, AccountRecovery and S3PostPolicy in front
            moto_app = AccountRecovery(S3PostPolicy(DomainDispatcherApplication(create_backend_app)), own[0])
            app = ShopOnly(moto_app, allowed_origins, own)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per AWS call
    server = EmbeddedAws(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def spa_origins(web_port: int) -> tuple[str, ...]:
    """Where the local SPA runs: the origins that may call the embedded AWS from a browser."""
    return (f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}")


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})


class ShopOnly:
    """The embedded AWS's boundary against the other pages of the user's browser (local only).

    moto's server answers CORS for every origin (flask-cors, ``*``), so any web
    page open in the same browser could read its data dump (the demo
    passwords, the mails sent) and call Cognito's admin API, and a plain form
    could post to any of its services. In front of moto's app:

    - a request with an ``Origin`` is served only from ``allowed_origins`` (the
      SPA: Cognito's JSON API, as it calls the real one) or the server's own
      origin (moto's dashboard); any other origin gets a 403 without CORS
      headers, preflight or not;
    - ``/moto-api/`` (the data dump, reset, state manager) answers no other
      site at all, the SPA included: an ``Origin`` must be the server's own and
      a browser's ``Sec-Fetch-Site`` must be same-origin or none;
    - a ``Host`` that is not a loopback name is refused (a page whose name
      was rebound to 127.0.0.1);
    - CORS headers name the caller's origin, never ``*``, and are left out when
      there is no ``Origin``.

    Clients without an ``Origin`` (boto3, the aws CLI, curl) are served as before.
    """

    def __init__(self, app: Any, allowed_origins: tuple[str, ...], own_origins: tuple[str, ...]) -> None:
        self.app = app
        self.own = frozenset(own_origins)
        self.allowed = frozenset(allowed_origins) | self.own

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why a request is refused; None when it is served."""
        origin = environ.get("HTTP_ORIGIN")
        host = str(environ.get("HTTP_HOST", "127.0.0.1"))
        if host.rsplit(":", 1)[0] not in LOOPBACK_NAMES and not host.rsplit(":", 1)[0].endswith(".localhost"):
            return "the embedded AWS answers loopback names only"
        if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            if origin is not None and origin not in self.own:
                return "moto's API answers no other origin"
            if environ.get("HTTP_SEC_FETCH_SITE", "none") not in ("same-origin", "none"):
                return "moto's API answers no other site"
        elif origin is not None and origin not in self.allowed:
            return "this origin may not call the embedded AWS"
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        import json

        refused = self.refusal(environ)
        if refused is not None:
            body = json.dumps({"__type": "AccessDeniedException", "message": f"{refused} (localdev/resources.py)"})
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Vary", "Origin")],
            )
            return [body.encode()]
        origin = environ.get("HTTP_ORIGIN")

        def cors_start_response(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            if origin is not None:
                cors = [(n, v) for n, v in headers if n.lower().startswith("access-control-")]
                kept += [(n, origin if n.lower() == "access-control-allow-origin" else v) for n, v in cors]
                kept.append(("Vary", "Origin"))
            return start_response(status, kept, *exc_info)

        return self.app(environ, cors_start_response)


# -- S3's check of a browser's form upload ---------------------------------------------------
MAX_FORM_BYTES = 64 * 2**20  # what the embedded S3 reads of one form (the shop's uploads: 10 MB)
# Form fields that no condition of a policy names (S3's documentation of POST policies).
_UNCONDITIONED = frozenset({"policy", "file", "signature", "awsaccesskeyid", "x-amz-signature"})


@dataclass(frozen=True)
class S3Error:
    status: int
    code: str
    message: str
    details: dict[str, str | int] = field(default_factory=dict)


def post_policy_refusal(bucket: str, fields: dict[str, str], size: int, now: float) -> S3Error | None:
    """Why S3 refuses a form upload of ``size`` bytes with these ``fields`` (its policy
    among them); None when the policy lets it through. The signature is not checked."""
    import base64
    import json
    from datetime import datetime

    named = {name.lower(): value for name, value in fields.items()}
    if "policy" not in named:
        return S3Error(403, "AccessDenied", "Access Denied")  # a private bucket takes no anonymous form
    try:
        policy = json.loads(base64.b64decode(named["policy"], validate=True))
        expires = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00")).timestamp()
        conditions = list(policy.get("conditions", []))
    except (ValueError, KeyError, TypeError):
        return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if expires <= now:
        return S3Error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {**named, "bucket": bucket}
    covered: set[str] = set()
    for condition in conditions:
        refused = _condition_refusal(condition, values, size, covered)
        if refused is not None:
            return refused
    extra = sorted(n for n in named if n not in covered and n not in _UNCONDITIONED and not n.startswith("x-ignore-"))
    if extra:
        return S3Error(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
    return None


def _condition_refusal(condition: Any, values: dict[str, str], size: int, covered: set[str]) -> S3Error | None:
    import json

    if isinstance(condition, dict):  # {"name": "value"}: the same as ["eq", "$name", "value"]
        for name, wanted in condition.items():
            refused = _condition_refusal(["eq", f"${name}", wanted], values, size, covered)
            if refused is not None:
                return refused
        return None
    if not (isinstance(condition, list) and len(condition) == 3):
        return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
    operator = str(condition[0]).lower()
    if operator == "content-length-range":
        low, high = int(condition[1]), int(condition[2])
        if size > high:
            message = "Your proposed upload exceeds the maximum allowed size"
            return S3Error(400, "EntityTooLarge", message, {"ProposedSize": size, "MaxSizeAllowed": high})
        if size < low:
            message = "Your proposed upload is smaller than the minimum allowed size"
            return S3Error(400, "EntityTooSmall", message, {"ProposedSize": size, "MinSizeAllowed": low})
        return None
    if operator not in ("eq", "starts-with") or not str(condition[1]).startswith("$"):
        return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
    name, wanted = str(condition[1])[1:].lower(), str(condition[2])
    covered.add(name)
    value = values.get(name, "")
    if value == wanted or (operator == "starts-with" and value.startswith(wanted)):
        return None
    failed = json.dumps([operator, str(condition[1]), wanted])
    return S3Error(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {failed}")


class S3PostPolicy:
    """S3's check of a browser's form upload (a presigned POST), in front of moto's app (local only).

    moto 5.2 stores whatever a form posts to a bucket: it reads neither the
    form's policy nor its signature (``_bucket_response_post`` in
    moto/s3/responses.py), so a file over the admin function's
    ``content-length-range`` was stored, and a form could name another key
    or type than the one granted. Here, as S3 does, a form upload (a
    ``multipart/form-data`` POST to a bucket) is refused, with S3's XML
    error, when it has no policy, when its policy has expired, when one of
    its conditions fails or a field is named by none (403 AccessDenied), or
    when its file is outside ``content-length-range`` (400 EntityTooLarge or
    EntityTooSmall, before moto stores anything or reports it to a queue).
    The signature is not checked: moto checks no credentials.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        import io

        bucket = _form_upload_bucket(environ)
        if bucket is None or not environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)  # not a form upload (moto answers 411 without a length)
        length = int(environ["CONTENT_LENGTH"])
        if length > MAX_FORM_BYTES:
            too_large: dict[str, str | int] = {"ProposedSize": length, "MaxSizeAllowed": MAX_FORM_BYTES}
            message = "Your proposed upload exceeds the maximum allowed size"
            return _s3_error(environ, start_response, S3Error(400, "EntityTooLarge", message, too_large))
        body = environ["wsgi.input"].read(length)
        fields, size = _form(environ, body)
        refused = post_policy_refusal(bucket, fields, size, time.time())
        if refused is not None:
            return _s3_error(environ, start_response, refused)
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the form again
        return self.app(environ, start_response)


def _form_upload_bucket(environ: dict[str, Any]) -> str | None:
    """The bucket a form upload posts to (path or virtual-host style); None for any other request."""
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING"):
        return None
    if not str(environ.get("CONTENT_TYPE", "")).lower().startswith("multipart/form-data"):
        return None
    path = str(environ.get("PATH_INFO", "")).strip("/")
    host = str(environ.get("HTTP_HOST", "")).rsplit(":", 1)[0]
    if path and "/" not in path:
        return path
    if not path and host.endswith(".localhost"):
        return host.removesuffix(".localhost")
    return None


def _form(environ: dict[str, Any], body: bytes) -> tuple[dict[str, str], int]:
    """A form's fields (the first value of each) and the size of its ``file``."""
    import io

    from werkzeug.formparser import parse_form_data

    _, form, files = parse_form_data({**environ, "wsgi.input": io.BytesIO(body)})
    fields = {name: str(form[name]) for name in form}
    upload = files.get("file")
    size = upload.stream.seek(0, io.SEEK_END) if upload is not None else len(fields.pop("file", "").encode())
    return fields, size


def _s3_error(environ: dict[str, Any], start_response: Any, error: S3Error) -> list[bytes]:
    """S3's answer to a refused request: its XML error document."""
    import html
    import http
    import uuid

    parts = {"Code": error.code, "Message": error.message, **error.details, "RequestId": uuid.uuid4().hex[:16]}
    document = "".join(f"<{name}>{html.escape(str(value), quote=False)}</{name}>" for name, value in parts.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{document}</Error>'.encode()
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    if environ.get("HTTP_ORIGIN"):  # S3 answers a refused upload with the bucket's CORS headers too
        headers.append(("Access-Control-Allow-Origin", str(environ["HTTP_ORIGIN"])))
    start_response(f"{error.status} {http.HTTPStatus(error.status).phrase}", headers)
    return [body]
