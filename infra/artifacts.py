"""The artifacts bucket: where a stage's zips and template go before CloudFormation reads them.

One bucket per account and region, made on first use (encrypted, private).
Keys are content-addressed (sha256), so an unchanged zip is not uploaded again
and an unchanged template gives CloudFormation nothing to change. The local
files a packaged template names are the functions' ``CodeUri`` (the deployment
zip) and the layers' ``ContentUri`` (the search engine layer).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.cloudformation import Out, StackError
from infra.expand import CODE_PROPERTIES, expand

# The property of each SAM type that may name a local file (a zip next to the template).
LOCAL_ARTIFACTS = CODE_PROPERTIES
MISSING = ("404", "NoSuchBucket", "NotFound")


def bucket_name(account: str, region: str) -> str:
    return f"petstore-artifacts-{account}-{region}"


def ensure_bucket(s3: Any, name: str, account: str, region: str, out: Out) -> None:
    """Create the bucket if it does not exist; refuse one that someone else owns."""
    try:
        s3.head_bucket(Bucket=name, ExpectedBucketOwner=account)
        return
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code not in MISSING:
            raise StackError(
                f"the artifacts bucket {name} exists but this account ({account}) cannot use it ({code})"
            ) from exc
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


def upload(s3: Any, bucket: str, key: str, body: bytes, out: Out) -> None:
    """Put the object unless it is already there (the key names its content)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        out(f"  s3://{bucket}/{key} is already uploaded")
        return
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) not in MISSING:
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    out(f"  s3://{bucket}/{key} ({len(body):,} bytes)")


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
