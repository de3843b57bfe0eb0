"""Publishing the SPA to S3 and invalidating CloudFront's copies (moto's server), as `infra.publish_spa` does."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import boto3
import pytest

from infra import publish_spa
from tests.support.cloudfront import site_distribution

COGNITO_STAGE = {
    "AUTH_PROVIDER": "cognito",
    "COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
    "COGNITO_CLIENT_ID": "client123",
}


@pytest.fixture()
def bucket(aws: str) -> str:
    name = f"site-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def test_the_site_and_its_config_are_uploaded_with_types_and_cache_headers(bucket: str) -> None:
    s3 = boto3.client("s3")
    config = publish_spa.site_config(
        "dev", "https://abc.execute-api.eu-west-1.amazonaws.com/api/", COGNITO_STAGE, "eu-west-1"
    )

    release = publish_spa.publish(s3, bucket, config)

    assert {"index.html", "styles.css", "js/app.js", "vendor/auth0-spa-js.production.esm.js", "config.json"} <= set(
        release.keys
    )
    index = s3.get_object(Bucket=bucket, Key="index.html")
    assert index["ContentType"].startswith("text/html") and index["CacheControl"] == "no-cache"
    script = s3.get_object(Bucket=bucket, Key="js/app.js")
    assert script["ContentType"].startswith("text/javascript") and "max-age" in script["CacheControl"]
    published = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert published == {
        "api_url": "https://abc.execute-api.eu-west-1.amazonaws.com/api",
        "stage": "dev",
        "admin_role": "admin",
        "auth": {
            "provider": "cognito",
            "region": "eu-west-1",
            "user_pool_id": "eu-west-1_AbCdEf123",
            "client_id": "client123",
        },
    }


def test_an_auth0_stage_gives_the_spa_its_domain_audience_and_spa_client() -> None:
    env: dict[str, Any] = {
        "AUTH_PROVIDER": "auth0",
        "AUTH0_DOMAIN": "shop.eu.auth0.com",
        "AUTH0_AUDIENCE": "https://api.shop.example",
        "AUTH0_SPA_CLIENT_ID": "spa-1",
    }
    auth = publish_spa.site_config("prod", "https://api.shop.example", env, "us-east-1")["auth"]
    assert auth == {
        "provider": "auth0",
        "domain": "shop.eu.auth0.com",
        "audience": "https://api.shop.example",
        "client_id": "spa-1",
    }
    with pytest.raises(SystemExit, match="AUTH0_SPA_CLIENT_ID"):
        publish_spa.site_config(
            "prod", "https://x", {k: v for k, v in env.items() if k != "AUTH0_SPA_CLIENT_ID"}, "us-east-1"
        )


def test_a_stage_without_its_providers_values_is_refused_with_their_names_and_the_fix() -> None:
    with pytest.raises(SystemExit, match=r"COGNITO_CLIENT_ID, COGNITO_USER_POOL_ID .*make chalice-config STAGE=dev"):
        publish_spa.stage_environment("dev")
    placeholder = {**COGNITO_STAGE, "COGNITO_CLIENT_ID": "<UserPoolClientId output>"}
    assert publish_spa.missing_settings(placeholder) == ["COGNITO_CLIENT_ID"]
    assert publish_spa.missing_settings({"AUTH_PROVIDER": "auth0", "AUTH0_DOMAIN": "shop.eu.auth0.com"}) == [
        "AUTH0_AUDIENCE",
        "AUTH0_SPA_CLIENT_ID",
    ]


def test_the_published_page_carries_its_config_inline_so_it_needs_no_round_trip_before_searching(bucket: str) -> None:
    s3 = boto3.client("s3")
    config = publish_spa.site_config(
        "dev", "https://abc.execute-api.eu-west-1.amazonaws.com/api", COGNITO_STAGE, "eu-west-1"
    )
    config["note"] = "</script><script>alert(1)</script>"  # a value that would close the element, unescaped

    publish_spa.publish(s3, bucket, config)

    html = s3.get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
    found = re.search(r'<script type="application/json" id="shop-config">(.*?)</script>', html)
    assert found is not None
    assert json.loads(found.group(1)) == config
    assert html.count("<script") == 3  # the data block and the two modules: the note closed nothing
    assert html.index('id="shop-config"') < html.index('<script type="module"')
    # AND the API's connection is opened with the page's
    assert '<link rel="preconnect" href="https://abc.execute-api.eu-west-1.amazonaws.com" crossorigin>' in html
    published = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert published == config  # still published for REST clients and older pages


def test_the_published_page_may_only_talk_to_the_stages_api_and_identity_provider(bucket: str) -> None:
    s3 = boto3.client("s3")
    config = publish_spa.site_config(
        "dev", "https://abc.execute-api.eu-west-1.amazonaws.com/api", COGNITO_STAGE, "eu-west-1"
    )
    publish_spa.publish(s3, bucket, config)
    html = s3.get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
    assert (
        "connect-src 'self' https://abc.execute-api.eu-west-1.amazonaws.com "
        "https://cognito-idp.eu-west-1.amazonaws.com; frame-src 'none';"
    ) in html
    assert "127.0.0.1" not in html and "https: " not in html

    auth0 = publish_spa.tightened_index(
        (publish_spa.FRONTEND / "index.html").read_text(),
        {"api_url": "https://api.shop.example/v1", "auth": {"provider": "auth0", "domain": "shop.eu.auth0.com"}},
    )
    assert (
        "connect-src 'self' https://api.shop.example https://shop.eu.auth0.com; frame-src https://shop.eu.auth0.com;"
        in auth0
    )


def test_an_admins_page_may_post_photos_to_the_stages_uploads_bucket_and_nowhere_else() -> None:
    uploads = publish_spa.upload_origins("petstore-dev-uploadsbucket-1a2b", "eu-west-1")
    config = publish_spa.site_config("dev", "https://d1.cloudfront.net/api", COGNITO_STAGE, "eu-west-1", uploads)
    assert config["upload_origins"] == uploads
    html = publish_spa.tightened_index((publish_spa.FRONTEND / "index.html").read_text(), config)
    assert (
        "connect-src 'self' https://d1.cloudfront.net https://cognito-idp.eu-west-1.amazonaws.com "
        "https://petstore-dev-uploadsbucket-1a2b.s3.amazonaws.com "
        "https://petstore-dev-uploadsbucket-1a2b.s3.eu-west-1.amazonaws.com; frame-src 'none';"
    ) in html
    widened = {**config, "upload_origins": ["https://evil.example; script-src *"]}
    with pytest.raises(SystemExit):
        publish_spa.tightened_index((publish_spa.FRONTEND / "index.html").read_text(), widened)


def test_the_page_in_the_repo_talks_to_nobody_until_publish_names_the_stages_origins() -> None:
    file = (publish_spa.FRONTEND / "index.html").read_text()
    assert "connect-src 'self';" in file and "frame-src 'none';" in file and "https:" not in file

    local = publish_spa.tightened_index(
        file,
        {
            "api_url": "http://127.0.0.1:8000",
            "auth": {"provider": "cognito", "region": "us-east-1", "endpoint": "http://127.0.0.1:5100/"},
        },
    )

    assert "connect-src 'self' http://127.0.0.1:8000 http://127.0.0.1:5100; frame-src 'none';" in local


@pytest.mark.parametrize(
    "config",
    [
        {"api_url": "https://api.example; script-src *", "auth": {"provider": "cognito", "region": "eu-west-1"}},
        {"api_url": "https://api.example", "auth": {"provider": "auth0", "domain": "shop.auth0.com 'unsafe-eval'"}},
        {"api_url": "https://api.example", "auth": {"provider": "cognito", "region": 'eu-west-1" onload="'}},
    ],
)
def test_a_config_value_that_is_not_an_origin_cannot_widen_the_csp(config: dict[str, Any]) -> None:
    with pytest.raises(SystemExit, match="not an origin"):
        publish_spa.tightened_index((publish_spa.FRONTEND / "index.html").read_text(), config)


# --- CloudFront's copies ---------------------------------------------------------------------------


@pytest.fixture()
def site_bucket(aws: str) -> str:
    """A stage's site bucket: versioned, as the template makes it."""
    name = f"site-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture()
def distribution(site_bucket: str) -> str:
    """The stage's CloudFront distribution in front of the bucket (moto's)."""
    return site_distribution(site_bucket)


def cognito_config() -> dict[str, Any]:
    return publish_spa.site_config("dev", "https://d1.cloudfront.net/api", COGNITO_STAGE, "eu-west-1")


def test_a_publish_invalidates_every_cached_file_since_no_name_is_hashed(site_bucket: str, distribution: str) -> None:
    s3, cloudfront = boto3.client("s3"), boto3.client("cloudfront")
    release = publish_spa.publish(s3, site_bucket, cognito_config())
    said: list[str] = []

    invalidation_id = publish_spa.invalidate(cloudfront, distribution, release, said.append)

    batch = cloudfront.get_invalidation(DistributionId=distribution, Id=invalidation_id)["Invalidation"]
    assert batch["InvalidationBatch"]["Paths"]["Items"] == ["/*"]  # "/" and the modules too, not only index.html
    assert batch["InvalidationBatch"]["CallerReference"] == release.reference
    assert said == [
        f"Invalidated /* on CloudFront {distribution}: {invalidation_id} "
        f"({batch['Status']}; the edges drop their copies within minutes)."
    ]
    # Why every file: the modules keep their names from release to release and are cached for minutes.
    assert s3.head_object(Bucket=site_bucket, Key="js/app.js")["CacheControl"] == "public, max-age=300"


def test_a_retried_invalidation_carries_the_same_reference_and_each_publish_its_own(
    site_bucket: str, distribution: str
) -> None:
    s3, cloudfront = boto3.client("s3"), boto3.client("cloudfront")
    first = publish_spa.publish(s3, site_bucket, cognito_config())
    again = publish_spa.publish(s3, site_bucket, cognito_config())  # the same files, written again
    other = publish_spa.publish(s3, site_bucket, {**cognito_config(), "stage": "prod"})

    tried = [publish_spa.invalidate(cloudfront, distribution, first, print) for _ in range(2)]

    # A retry of the same request: the same reference, so CloudFront makes no second invalidation.
    references = {
        cloudfront.get_invalidation(DistributionId=distribution, Id=i)["Invalidation"]["InvalidationBatch"][
            "CallerReference"
        ]
        for i in tried
    }
    assert references == {first.reference}
    # Each publish writes new versions: after A, B, then A again, the edges must drop B's copies.
    assert len({first.reference, again.reference, other.reference}) == 3
    assert first.keys == again.keys == other.keys


def test_a_stack_without_its_distribution_id_is_not_invalidated_and_says_so(site_bucket: str) -> None:
    release = publish_spa.publish(boto3.client("s3"), site_bucket, cognito_config())
    said: list[str] = []

    assert publish_spa.invalidate(boto3.client("cloudfront"), None, release, said.append) is None
    assert said == [
        "Not invalidating CloudFront's copies: the stack has no SiteDistributionId output (it predates it). "
        "The previous files may be served for up to 5 minutes."
    ]
