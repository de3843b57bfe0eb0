"""Photos in the packaged stage: the image function's role and layer, the private buckets, the queue and its alarm.

Read from the built template (build/<stage>/template.json); the role is also
proved equal to what the code calls by tests/functional/test_function_permissions.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.functions import by_key
from infra.package import role_id


@pytest.fixture(scope="module", params=["dev", "prod"])
def resources(request: pytest.FixtureRequest, built_stage: Any) -> dict[str, Any]:
    return dict(built_stage(request.param)["Resources"])


def statements(resources: dict[str, Any], key: str) -> list[dict[str, Any]]:
    role = resources[role_id(by_key(key))]["Properties"]["Policies"]
    return [s for p in role for s in p["PolicyDocument"]["Statement"] if s["Sid"] != "OwnLogs"]


def test_the_image_function_may_only_read_uploads_write_renditions_and_update_products(
    resources: dict[str, Any],
) -> None:
    granted = {(a, json.dumps(r)) for s in statements(resources, "images") for a in s["Action"] for r in s["Resource"]}
    text = json.dumps(sorted(granted))
    assert all("*" not in a for a, _ in granted)
    assert "uploads/*" in text and "img/*" in text and "search-index" not in text
    assert {a for a, _ in granted if a.startswith("dynamodb:")} == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert {a for a, r in granted if "UploadsBucket" in r and a != "s3:ListBucket"} == {
        "s3:GetObject",
        "s3:DeleteObject",
    }
    function = resources["ProcessPhotoUploads"]["Properties"]
    assert function["Layers"] == [{"Ref": "ImageLibraryLayer"}] and function["MemorySize"] == 1024
    others = [
        r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function" and k != "ProcessPhotoUploads"
    ]
    assert all({"Ref": "ImageLibraryLayer"} not in r["Properties"].get("Layers", []) for r in others)


@pytest.mark.parametrize("bucket", ["UploadsBucket", "RenditionsBucket"])
def test_the_photo_buckets_are_private_encrypted_and_tls_only(resources: dict[str, Any], bucket: str) -> None:
    properties = resources[bucket]["Properties"]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (deny, *rest) = resources[f"{bucket}Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for statement in rest:  # only CloudFront, only this distribution, only the renditions
        assert (
            statement["Principal"] == {"Service": "cloudfront.amazonaws.com"} and statement["Action"] == "s3:GetObject"
        )
        assert "${SiteDistribution}" in json.dumps(statement["Condition"])
    assert len(rest) == (1 if bucket == "RenditionsBucket" else 0)


def test_uploads_reach_the_queue_and_failures_an_alarm(resources: dict[str, Any]) -> None:
    (notification,) = resources["UploadsBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Queue"] == {"Fn::GetAtt": ["UploadsQueue", "Arn"]}
    assert notification["Event"] == "s3:ObjectCreated:*"
    queue = resources["UploadsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3 and queue["VisibilityTimeout"] >= 6 * 60
    (policy,) = resources["UploadsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert policy["Principal"] == {"Service": "s3.amazonaws.com"} and policy["Action"] == "sqs:SendMessage"
    alarm = resources["PhotoFailuresAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["PhotoFailuresQueue", "QueueName"]}}]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    unprocessed = resources["UploadsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {
        "Id": "forget-unprocessed-uploads",
        "Status": "Enabled",
        "Prefix": "uploads/",
        "ExpirationInDays": 1,
    } in unprocessed
