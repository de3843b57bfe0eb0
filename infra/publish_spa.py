"""Publish the SPA to a stage's S3 bucket, with the config.json that points it at the stage.

    python -m infra.publish_spa --stage dev --bucket <SiteBucketName output>

The API URL comes from `chalice deploy`'s record (.chalice/deployed/<stage>.json)
unless --api-url is given; the identity provider from the stage's environment
in .chalice/config.json (Cognito: COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID;
Auth0: AUTH0_DOMAIN, AUTH0_AUDIENCE and AUTH0_SPA_CLIENT_ID, the SPA
application's client id). CloudFront (SiteUrl output) serves the bucket;
with --distribution-id (the SiteDistributionId output) its cached copies are
invalidated after the upload. `make deploy` publishes the SPA itself, with the
values of the stage's stack, and invalidates them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra import chalice_config
from infra.cloudformation import StackError
from infra.session import checked_session, operator_session
from infra.template import ROOT

FRONTEND = ROOT / "frontend"
# Files keep their names (no build step), so only a short cache; the entry
# points are revalidated on every load so a new release shows at once.
CACHE = {"index.html": "no-cache", "config.json": "no-cache"}
DEFAULT_CACHE = "public, max-age=300"
# What a publish invalidates at the edge: everything. No file name is hashed,
# so the modules and styles (cached 5 minutes) change under the same names as
# the entry points, and "/" (the default root object) is cached apart from
# "/index.html"; one wildcard path costs what one path does.
INVALIDATED = ["/*"]
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


REQUIRED = {
    "cognito": ("COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"),
    "auth0": ("AUTH0_DOMAIN", "AUTH0_AUDIENCE", "AUTH0_SPA_CLIENT_ID"),
}


def missing_settings(env: Mapping[str, str]) -> list[str]:
    """What the SPA's identity provider needs and the environment lacks (or holds a placeholder for)."""
    needed = REQUIRED.get(env.get("AUTH_PROVIDER", "cognito"), ())
    return sorted(name for name in needed if not env.get(name) or str(env[name]).startswith("<"))


def stage_environment(stage: str) -> dict[str, str]:
    env = chalice_config.stage_environment(stage)
    missing = missing_settings(env)
    if missing:
        raise SystemExit(
            f"set {', '.join(missing)} of stage {stage!r} in .chalice/config.json first "
            f"(`make chalice-config STAGE={stage}` fills the Cognito ones from the stage's stack)"
        )
    return env


def deployed_api_url(stage: str) -> str:
    record = ROOT / ".chalice" / "deployed" / f"{stage}.json"
    if not record.exists():
        raise SystemExit(f"{record} is missing: run `chalice deploy --stage {stage}` first, or pass --api-url")
    for resource in json.loads(record.read_text())["resources"]:
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_url"]).rstrip("/")
    raise SystemExit(f"{record} records no REST API")


def upload_origins(bucket: str, region: str) -> list[str]:
    """Where an admin's browser posts a photo (the presigned POST's URL): the uploads bucket, either endpoint."""
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]


def site_config(
    stage: str, api_url: str, env: Mapping[str, str], region: str, uploads: Sequence[str] = ()
) -> dict[str, Any]:
    """What the SPA reads at start: where the API and the identity provider are (and photos are uploaded)."""
    provider = env.get("AUTH_PROVIDER", "cognito")
    auth: dict[str, str]
    if provider == "cognito":
        auth = {
            "provider": "cognito",
            "region": env.get("COGNITO_REGION") or region,
            "user_pool_id": env["COGNITO_USER_POOL_ID"],
            "client_id": env["COGNITO_CLIENT_ID"],
        }
    elif provider == "auth0":
        if "AUTH0_SPA_CLIENT_ID" not in env:
            raise SystemExit("set AUTH0_SPA_CLIENT_ID (the SPA application's client id) in the stage's environment")
        auth = {
            "provider": "auth0",
            "domain": env["AUTH0_DOMAIN"],
            "audience": env["AUTH0_AUDIENCE"],
            "client_id": env["AUTH0_SPA_CLIENT_ID"],
        }
    else:
        raise SystemExit(f"AUTH_PROVIDER must be cognito or auth0, not {provider!r}")
    config: dict[str, Any] = {
        "api_url": api_url.rstrip("/"),
        "stage": stage,
        "auth": auth,
        "admin_role": chalice_config.admin_role(env),
    }
    if uploads:
        config["upload_origins"] = list(uploads)
    return config


_CSP_META = re.compile(r'(<meta\s+http-equiv="Content-Security-Policy"\s+content=")([^"]*)"', re.IGNORECASE)
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def csp_sources(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Whom the page may connect to and frame, from its config.json: the API,
    the identity provider and the photo uploads bucket only.

    Cognito: its regional endpoint (or, locally, the embedded AWS that stands in
    for it), framed by nothing. Auth0: the tenant's domain, which the SDK also
    loads in a hidden frame to renew a session (``getTokenSilently``).
    """
    connect: list[str] = []
    frame: list[str] = []
    if config.get("api_url"):
        connect.append(_origin(str(config["api_url"])))
    auth = config.get("auth") or {}
    if auth.get("provider") == "auth0":
        provider = f"https://{auth['domain']}"
        connect.append(provider)
        frame.append(provider)
    elif auth.get("provider") == "cognito":
        endpoint = auth.get("endpoint")
        connect.append(_origin(endpoint) if endpoint else f"https://cognito-idp.{auth['region']}.amazonaws.com")
    connect += [str(origin) for origin in config.get("upload_origins", [])]  # an admin's photo uploads
    for origin in connect:
        if not _ORIGIN.fullmatch(origin):
            raise SystemExit(f"{origin!r} is not an origin the page's Content-Security-Policy can name")
    return {"connect-src": ["'self'", *dict.fromkeys(connect)], "frame-src": frame or ["'none'"]}


def tightened_index(html: str, config: Mapping[str, Any]) -> str:
    """index.html with its CSP naming the stage's API and identity provider.

    The file in the repo lets the page connect to its own origin only and
    frame nothing, so as it is it reaches no API and no identity provider:
    this fills in ``connect-src`` and ``frame-src`` from the page's
    config.json (``csp_sources``). The deployed
    site gets it at publish; `make run`'s server (localdev/local_stack.py) serves it
    the same way. ``frame-ancestors``, which browsers ignore in a meta tag,
    comes as a header: CloudFront's response headers policy (SiteHeadersPolicy,
    infra/package.py) and the local server send it.
    """
    found = _CSP_META.search(html)
    if found is None:
        raise SystemExit("frontend/index.html has no Content-Security-Policy meta tag")
    policy = found.group(2)
    for name, sources in csp_sources(config).items():
        policy, count = re.subn(rf"(?<![\w-]){name}(?![\w-])[^;]*", f"{name} {' '.join(sources)}", policy)
        if count != 1:
            raise SystemExit(f"frontend/index.html's Content-Security-Policy must have one {name} directive")
    return html[: found.start(2)] + policy + html[found.end(2) :]


CONFIG_ELEMENT = "shop-config"  # js/api.js reads it


def site_index(html: str, config: Mapping[str, Any]) -> str:
    """The page as served: its CSP tightened, and config.json inlined.

    Inlined as a JSON data block (``<script type="application/json">``, which
    runs nothing, so the CSP's ``script-src 'self'`` still holds), the page
    knows its API without a round trip before its first search; js/api.js
    fetches /config.json only when the block is missing. ``<`` is escaped so
    no value can close the element.
    """
    page = tightened_index(html, config)
    data = json.dumps(config, separators=(",", ":"), sort_keys=True).replace("<", "\\u003c")
    block = f'<script type="application/json" id="{CONFIG_ELEMENT}">{data}</script>\n'
    api = urlsplit(str(config.get("api_url", "")))
    if api.scheme in ("http", "https") and api.netloc:
        # The first search goes there: its connection is opened with the page's.
        # (On a stage the API is the site's own origin, already connected; a
        # cross-origin API, as locally, saves a connection's round trips.)
        origin = html_escape(f"{api.scheme}://{api.netloc}", quote=True)
        block = f'<link rel="preconnect" href="{origin}" crossorigin>\n  ' + block
    at = page.find('<script type="module"')
    if at < 0:
        raise SystemExit("frontend/index.html has no module script to put the config before")
    return page[:at] + block + "  " + page[at:]


def site_files() -> list[Path]:
    return sorted(p for p in FRONTEND.rglob("*") if p.is_file() and p.name != "config.json")


def content_type(path: str) -> str:
    suffix = Path(path).suffix
    return TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


@dataclass(frozen=True)
class Release:
    """What one publish wrote: its keys, and a reference naming exactly those objects."""

    keys: list[str]
    reference: str


def site_uploads(config: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """(key, body) of frontend/'s files, index.html as served (``site_index``), and config.json."""
    uploads = [(p.relative_to(FRONTEND).as_posix(), p.read_bytes()) for p in site_files()]
    uploads = [
        (key, site_index(body.decode(), config).encode() if key == "index.html" else body) for key, body in uploads
    ]
    uploads.append(("config.json", json.dumps(config, indent=2).encode()))
    return uploads


def release_reference(written: list[tuple[str, bytes, str]]) -> str:
    """A digest of (key, content, version id) of each object written.

    The same request made again (a retry) carries the same reference, and
    CloudFront makes no second invalidation for it. The version ids (the site
    bucket is versioned) tell two publishes of the same files apart: after
    A, B, then A again, the third must invalidate B's copies too.
    """
    digest = hashlib.sha256()
    for key, body, version in sorted(written):
        digest.update(f"{key}\0{hashlib.sha256(body).hexdigest()}\0{version}\n".encode())
    return f"publish-{digest.hexdigest()[:48]}"


def publish(s3: Any, bucket: str, config: dict[str, Any]) -> Release:
    """Upload frontend/ and config.json; returns what was written."""
    written = []
    for key, body in site_uploads(config):
        put = s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type(key),
            CacheControl=CACHE.get(key, DEFAULT_CACHE),
        )
        written.append((key, body, str(put.get("VersionId") or "")))
        print(f"  {key} ({len(body):,} bytes)")
    return Release([key for key, _, _ in written], release_reference(written))


def invalidate(
    cloudfront: Any, distribution_id: str | None, release: Release, out: Callable[[str], None]
) -> str | None:
    """Have CloudFront drop its copies of the site, so the release shows at once; returns the invalidation's id."""
    if not distribution_id:
        out(
            "Not invalidating CloudFront's copies: the stack has no SiteDistributionId output (it predates it). "
            "The previous files may be served for up to 5 minutes."
        )
        return None
    created = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(INVALIDATED), "Items": INVALIDATED},
            "CallerReference": release.reference,
        },
    )["Invalidation"]
    out(
        f"Invalidated {', '.join(INVALIDATED)} on CloudFront {distribution_id}: {created['Id']} "
        f"({created['Status']}; the edges drop their copies within minutes)."
    )
    return str(created["Id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--bucket", required=True, help="the SiteBucketName output of the stage's stack")
    parser.add_argument("--api-url", help="default: the URL `chalice deploy` recorded for the stage")
    parser.add_argument("--distribution-id", help="the SiteDistributionId output: invalidate its cached copies")
    args = parser.parse_args()
    try:
        session = checked_session(operator_session())
    except StackError as exc:
        raise SystemExit(f"error: {exc}") from None
    config = site_config(
        args.stage,
        args.api_url or deployed_api_url(args.stage),
        stage_environment(args.stage),
        str(session.region_name),
    )
    print(f"Publishing frontend/ to s3://{args.bucket} for stage {args.stage} (API {config['api_url']})")
    release = publish(session.client("s3"), args.bucket, config)
    print(f"{len(release.keys)} files published.")
    if args.distribution_id:
        invalidate(session.client("cloudfront"), args.distribution_id, release, print)


if __name__ == "__main__":
    main()
