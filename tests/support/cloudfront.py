"""A stage's CloudFront distribution, as the deploy and publish tests find it (moto's)."""

from __future__ import annotations

import uuid

import boto3

from infra.edge import CACHING_OPTIMIZED


def site_distribution(site_bucket: str) -> str:
    """A distribution in front of the stage's site bucket; returns its id."""
    origin = {
        "Id": "site",
        "DomainName": f"{site_bucket}.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    config = {
        "CallerReference": uuid.uuid4().hex,
        "Comment": "the shop",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_OPTIMIZED,
        },
    }
    return str(boto3.client("cloudfront").create_distribution(DistributionConfig=config)["Distribution"]["Id"])
