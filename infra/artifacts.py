"""The artifacts bucket: where a stage's zips and template go before CloudFormation reads them.

One bucket per account and region, made on first use (encrypted, private),
and held to TLS-only access and a lifecycle on every deploy, also when an
older version made it. Keys are content-addressed (sha256), so an unchanged
zip is not uploaded again and an unchanged template gives CloudFormation
nothing to change. The local files a packaged template names are the
functions' ``CodeUri`` (the deployment zip) and the layers' ``ContentUri``
(the search engine layer).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.platform.aws import is_missing
from infra.cloudformation import Out, StackError
from infra.expand import CODE_PROPERTIES, expand

# The property of each SAM type that may name a local file (a zip next to the template).
LOCAL_ARTIFACTS = CODE_PROPERTIES
NO_BUCKET = ("404", "NoSuchBucket", "NotFound")  # what HeadBucket says of a bucket no one has
TLS_ONLY = "TlsRequestsOnly"  # the Sid of the bucket policy's statement
# Why these ages: a rollback sets each function back to the code the stack's
# previous template names, which Lambda reads from here again. An upload that
# finds its key present renews an object older than RENEW_AFTER, so what a
# deploy uses stays at least EXPIRE_DAYS - RENEW_AFTER (150) days after it: a
# stage deployed within that time can always roll back. Older objects (code no
# stage runs any more) go; unchanged code whose object expired is uploaded again.
EXPIRE_DAYS = 180
RENEW_AFTER = timedelta(days=30)
LIFECYCLE_RULES = [
    {
        "ID": "abort-incomplete-uploads",
        "Status": "Enabled",
        "Filter": {},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    },
    {"ID": "expire-old-artifacts", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": EXPIRE_DAYS}},
]
COMPARED = ("Status", "Expiration", "AbortIncompleteMultipartUpload")  # S3 may spell the filter back differently


def bucket_name(account: str, region: str) -> str:
    return f"petstore-artifacts-{account}-{region}"


def ensure_bucket(s3: Any, name: str, account: str, region: str, out: Out) -> None:
    """Create the bucket if it does not exist (refusing one someone else owns); hold it to TLS and the lifecycle."""
    if not bucket_exists(s3, name, account):
        create_bucket(s3, name, region, out)
    ensure_tls_only(s3, name, out)
    ensure_lifecycle(s3, name, out)


def bucket_exists(s3: Any, name: str, account: str) -> bool:
    try:
        s3.head_bucket(Bucket=name, ExpectedBucketOwner=account)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code not in NO_BUCKET:
            raise StackError(
                f"the artifacts bucket {name} exists but this account ({account}) cannot use it ({code})"
            ) from exc
        return False
    return True


def create_bucket(s3: Any, name: str, region: str, out: Out) -> None:
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **location)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    out(f"Created the artifacts bucket s3://{name} (encrypted, private).")


def tls_only_statement(partition: str, name: str) -> dict[str, Any]:
    return {
        "Sid": TLS_ONLY,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:{partition}:s3:::{name}", f"arn:{partition}:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def ensure_tls_only(s3: Any, name: str, out: Out) -> None:
    """A policy refusing any request without TLS; other statements of the bucket's policy are kept."""
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucketPolicy":
            raise
        policy = {"Version": "2012-10-17", "Statement": []}
    wanted = tls_only_statement(s3.meta.partition, name)
    statements = policy.get("Statement", [])
    if wanted in statements:
        return
    policy["Statement"] = [st for st in statements if st.get("Sid") != TLS_ONLY] + [wanted]
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    out(f"The artifacts bucket s3://{name} takes TLS requests only (bucket policy).")


def ensure_lifecycle(s3: Any, name: str, out: Out) -> None:
    """The lifecycle rules above; rules of other ids are kept."""
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    by_id = {rule.get("ID"): rule for rule in rules}

    def same(wanted: dict[str, Any]) -> bool:
        found = by_id.get(wanted["ID"], {})
        return all(found.get(key) == wanted.get(key) for key in COMPARED)

    if all(same(wanted) for wanted in LIFECYCLE_RULES):
        return
    ours = {rule["ID"] for rule in LIFECYCLE_RULES}
    kept = [rule for rule in rules if rule.get("ID") not in ours]
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": kept + LIFECYCLE_RULES})
    out(
        f"The artifacts bucket s3://{name} aborts incomplete uploads after a day "
        f"and expires objects after {EXPIRE_DAYS} days (lifecycle)."
    )


def upload(s3: Any, bucket: str, key: str, body: bytes, out: Out, now: datetime | None = None) -> None:
    """Put the object unless it is already there (the key names its content); renew an old one."""
    try:
        found = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if not is_missing(exc):
            raise
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        out(f"  s3://{bucket}/{key} ({len(body):,} bytes)")
        return
    age = (now or datetime.now(UTC)) - found["LastModified"]
    if age <= RENEW_AFTER:
        out(f"  s3://{bucket}/{key} is already uploaded")
        return
    # Copied onto itself, the object starts a new life: the lifecycle counts from there.
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key}, MetadataDirective="REPLACE")
    out(f"  s3://{bucket}/{key} is already uploaded ({age.days} days ago: renewed, so it does not expire in use)")


def content_key(prefix: str, body: bytes, suffix: str) -> str:
    return f"{prefix}/{hashlib.sha256(body).hexdigest()}{suffix}"


def local_artifacts(template: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(property block, property) of each CodeUri/ContentUri that is a file next to the template."""
    blocks = [
        (r.get("Properties", {}), LOCAL_ARTIFACTS[r["Type"]])
        for r in template.get("Resources", {}).values()
        if r["Type"] in LOCAL_ARTIFACTS
    ]
    blocks.append((template.get("Globals", {}).get("Function", {}), "CodeUri"))
    return [(b, key) for b, key in blocks if isinstance(b.get(key), str) and not b[key].startswith("s3://")]


def with_uploaded_code(
    template: dict[str, Any], build_dir: Path, put: Callable[[Path], dict[str, str]]
) -> dict[str, Any]:
    """A copy of the template whose local CodeUris and ContentUris point at the uploaded objects."""
    rewritten = copy.deepcopy(template)
    local = [(block, key, (build_dir / block[key]).resolve()) for block, key in local_artifacts(rewritten)]
    for _, key, path in local:  # all there before anything is uploaded
        if not path.is_file():
            raise StackError(f"{path} (a {key} of {build_dir / 'template.json'}) is missing: package the stage again")
    uploaded: dict[Path, dict[str, str]] = {}
    for properties, key, path in local:
        if path not in uploaded:
            uploaded[path] = put(path)
        properties[key] = dict(uploaded[path])
    return rewritten


def template_url(bucket: str, region: str, key: str) -> str:
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def upload_stage(s3: Any, bucket: str, region: str, build_dir: Path, prefix: str, out: Out) -> str:
    """Upload the stage's zip(s) and its template, expanded by the SAM transform; returns the template's URL."""
    template = json.loads((build_dir / "template.json").read_text())

    def put(path: Path) -> dict[str, str]:
        body = path.read_bytes()
        key = content_key(prefix, body, path.suffix)
        upload(s3, bucket, key, body, out)
        return {"Bucket": bucket, "Key": key}

    expanded = expand(with_uploaded_code(template, build_dir, put), region)
    body = json.dumps(expanded, indent=1, sort_keys=True).encode()
    key = content_key(prefix, body, ".template.json")
    upload(s3, bucket, key, body, out)
    return template_url(bucket, region, key)
