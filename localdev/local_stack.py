"""The whole shop on one machine: `make run`.

Starts, in this one process and on loopback only:
- the embedded AWS: moto's server (DynamoDB, Cognito with its JWKS, SES, SNS,
  SQS), reached by the app through the same boto3 calls as in production
  (AWS_ENDPOINT_URL);
- the stage's resources, created from infra/template.yaml: the table, the user
  pool with its SPA client and admin group, and the demo users; and the order
  events' sender, low-stock topic and failed-records queue;
- the table's stream delivered to the app's handler as Lambda's event source
  mapping does (localdev/stream_pump.py);
- product photos as in AWS: the private uploads bucket (browsers post to it
  with the admin function's presigned POST, checked against its policy),
  its report of each upload to the uploads queue, the queue delivered to the
  image function in lower-priority child processes (localdev/upload_pump.py),
  and the renditions bucket, served under /img/ by the SPA's server as
  CloudFront serves it; each seeded product is given a photo through that
  same pipeline, in the background (LOCAL_PHOTOS=0: none);
- a few orders of the demo shopper, placed once per data dir through the API
  in the background, so that the best sellers are not all at 0 units
  (localdev/demo_orders.py; LOCAL_DEMO_ORDERS=0: none);
- the catalog, seeded from data/products.json on the first start and restored
  from the snapshot in .local/ afterwards (so local edits survive a restart),
  and the user pool's accounts, restored with their ids and passwords;
- the real Chalice app, served as `chalice local --stage local` serves it, its
  JWT authorizer answering as API Gateway does (localdev/gateway.py);
- a static server for frontend/, with /config.json telling the SPA where the
  API and the user pool are.

While it runs, <LOCAL_DATA_DIR>/stack.json says where its AWS is and which user
pool it made: `chalice local --stage local` started in another terminal reads
it (chalicelib/platform/config.py), and so does `python -m localdev.token`. `make aws`
(``--aws-only``) starts everything but the API and SPA servers, for that use.

The snapshot (the table, the renditions, the accounts) is saved about every
second while something changes (a crash loses at most that), and by Ctrl-C
or SIGTERM, which then stop everything (docs/local.md).
Ports: API_PORT (8000), WEB_PORT (8080), AWS_PORT (5100); data: LOCAL_DATA_DIR (.local);
seeded products' photos: LOCAL_PHOTOS (1; 0 makes none); the demo shopper's
orders: LOCAL_DEMO_ORDERS (1; 0 makes none).
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from chalicelib.catalog.product import Product
from chalicelib.catalog.product_table import DynamoProductStore, to_product
from chalicelib.photos.photo import PhotoState
from chalicelib.platform.aws import is_missing
from chalicelib.platform.config import local_stack_file
from infra.cloudformation import stack_name
from infra.import_catalog import load, read_catalog, stage_table_name
from infra.template import ROOT
from localdev import gateway
from localdev.demo_orders import DemoOrders, plan_orders
from localdev.embedded_table import TableChanges, apply_changes, table_items
from localdev.moto_fixes import table_lock
from localdev.resources import (
    DEMO_USERS,
    STABLE_USER_POOL_IDS,
    create_demo_users,
    create_notifications,
    create_photo_storage,
    create_search_index_bucket,
    create_table,
    create_user_pool,
    fake_aws_environment,
    local_auth_environment,
    local_stage_environment,
    object_body,
    object_keys,
    put_objects,
    rebuild_search_index,
    restore_user_pool_state,
    spa_origins,
    start_embedded_aws,
    table_definition,
    user_pool_state,
)
from localdev.stream_pump import StreamPump
from localdev.upload_pump import PhotoProcesses, UploadPump, default_workers

HOST = "127.0.0.1"
STAGE = "local"
FRONTEND = ROOT / "frontend"
SEED_FILE = ROOT / "data" / "products.json"
SNAPSHOT_EVERY_S = 1.0  # while something changes; a SIGKILL loses at most about this
SNAPSHOT_CHUNK = 500  # items serialised at a time, so that no other thread waits long for the GIL
KEY_NAMES = [key["AttributeName"] for key in table_definition("-")["KeySchema"]]  # the table's, from the template
logger = logging.getLogger(__name__)
STOP_GRACE_S = 20


_CSP_META = re.compile(r'<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"', re.IGNORECASE)


def page_csp(index_html: str) -> str:
    """The Content-Security-Policy of index.html's meta tag, as a header.

    Read from the page, so the two cannot drift; ``frame-ancestors``, which a
    meta tag cannot carry, is added: nobody may frame the shop.
    """
    found = _CSP_META.search(index_html)
    if found is None:
        raise SystemExit("frontend/index.html has no Content-Security-Policy meta tag")
    policy = " ".join(html.unescape(found.group(1)).split()).rstrip("; ")
    return f"{policy}; frame-ancestors 'none'"


def site_headers(index_html: str) -> dict[str, str]:
    """What CloudFront adds to every answer of the deployed site (its response
    headers policy, SiteHeadersPolicy in infra/package.py), plus the page's CSP.

    Strict-Transport-Security is left out: the local site is plain http on
    loopback, where browsers ignore it. ``X-Frame-Options: DENY`` says what
    the CSP's ``frame-ancestors 'none'`` says, for a browser that knows only
    the older header (SAMEORIGIN would contradict it); ``X-XSS-Protection``
    is not sent: browsers have dropped the filter it configured, and its
    blocking mode could be abused to disable a page's scripts.
    """
    return {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Content-Security-Policy": page_csp(index_html),
    }


class ServedPage:
    """index.html as infra/publish_spa.py publishes it for ``site_config``, and its CSP as a header."""

    def __init__(self, page: str) -> None:
        self.body = page.encode()
        self.csp = page_csp(page)


_served_pages: dict[tuple[int, int, str], ServedPage] = {}
_served_pages_lock = threading.Lock()


def served_page(site_config: dict[str, Any]) -> ServedPage:
    """The page as served now: made again when index.html changes (a kept-alive connection sees an edit)."""
    from infra.publish_spa import site_index

    index = FRONTEND / "index.html"
    stat = index.stat()
    key = (stat.st_mtime_ns, stat.st_size, json.dumps(site_config, sort_keys=True))
    with _served_pages_lock:
        found = _served_pages.get(key)
    if found is None:
        found = ServedPage(site_index(index.read_text(), site_config))
        with _served_pages_lock:
            if len(_served_pages) > 16:  # old versions of the page
                _served_pages.clear()
            _served_pages[key] = found
    return found


class GzipCache:
    """Gzipped bodies, kept per key (a file's path) while its version (mtime and size; a page's bytes) holds."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Any, bytes]] = {}
        self._lock = threading.Lock()
        self.made = 0  # bodies compressed: a test can tell a kept one from a new one

    def get(self, key: str, version: Any, read: Callable[[], bytes]) -> bytes:
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        body = gateway.gzipped(read())
        with self._lock:
            self._kept[key] = (version, body)
            self.made += 1
        return body


COMPRESSED = GzipCache()


class FrontendHandler(gateway.BoundedRequests, SimpleHTTPRequestHandler):
    """Serves frontend/ and the SPA's /config.json, with the deployed site's
    headers, and lists no directory (a directory without index.html is a 404).

    index.html is served as infra/publish_spa.py publishes it: its CSP names
    the API and the identity provider of ``site_config`` (here the local API
    and the embedded AWS) instead of nothing, and the header carries the same
    policy. A path that is not printable ASCII, or that decodes to invalid
    UTF-8 or a control character (a NUL, say), is a 400; every error is one
    line of plain text, never Python's HTML page; reads are bounded and
    HTTP/0.9 is refused as on the API server (``gateway.BoundedRequests``).

    As CloudFront serves the site: HTTP/1.1, connections kept alive (every
    answer has a Content-Length; a 404 keeps the connection, other errors and
    a request with a body close it), and text (``gateway.compressible``: HTML,
    CSS, JavaScript, JSON, SVG of 1,000 bytes to 10 MB) gzipped for a client
    whose Accept-Encoding allows it, with ``Vary: Accept-Encoding``. The
    gzipped bytes are kept per file while its mtime and size hold
    (``COMPRESSED``). Renditions under /img/ are never compressed (CloudFront's
    ``img/*`` behaviour has ``Compress: false``).
    """

    protocol_version = "HTTP/1.1"

    def __init__(
        self,
        *args: Any,
        site_config: dict[str, Any],
        headers: dict[str, str],
        renditions: RenditionsOrigin | None = None,
        **kwargs: Any,
    ) -> None:
        self.site_config = site_config
        self.renditions = renditions
        self.policy_headers = headers
        self.served = served_page(site_config)
        super().__init__(*args, directory=str(FRONTEND), **kwargs)

    @property
    def site_headers(self) -> dict[str, str]:
        return {**self.policy_headers, "Content-Security-Policy": self.served.csp}

    def handle_one_request(self) -> None:
        self.served = served_page(self.site_config)  # one version of the page for all of this answer
        super().handle_one_request()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.headers.get("Content-Length", "0").strip() != "0":  # a body, never read: close after the answer
            self.close_connection = True
        return True

    def end_headers(self) -> None:
        for name, value in self.site_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "Not found")

    @staticmethod
    def clean_path(target: str) -> bool:
        """Printable ASCII, and a path that decodes to UTF-8 without control characters."""
        from urllib.parse import unquote

        if not target or not all("!" <= char <= "~" for char in target):
            return False
        try:
            path = unquote(target.split("?", 1)[0].split("#", 1)[0], errors="strict")
        except UnicodeDecodeError:
            return False
        return not any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in path)

    def send_head(self) -> Any:
        if not self.clean_path(self.path):
            self.send_error(400)
            return None
        if self.path.startswith("/img/"):
            return self.send_rendition()
        route = self.path.split("?", 1)[0].split("#", 1)[0]
        if route in ("/", "/index.html"):
            page = self.served
            return self.send_body(page.body, "text/html; charset=utf-8", {"Cache-Control": "no-cache"}, "/", page)
        if route == "/config.json":
            body = json.dumps(self.site_config).encode()
            return self.send_body(body, "application/json", {"Cache-Control": "no-store"}, route, body)
        path = self.translate_path(self.path)
        if os.path.isfile(path) and not path.endswith("/"):
            return self.send_file(path)
        return super().send_head()  # a directory (a redirect, or a 404) or nothing (a 404)

    def send_body(self, body: bytes, content_type: str, headers: dict[str, str], key: str, version: Any) -> Any:
        """A 200 with ``body`` (or its gzipped bytes, kept under ``key`` while ``version`` holds)."""
        import io

        self.send_response(200)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        body = self._encoded(body, content_type, key, version)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def _encoded(self, body: bytes, content_type: str, key: str, version: Any) -> bytes:
        """``body`` gzipped if CloudFront would compress it for this client (and the Vary header said)."""
        if not gateway.compressible(content_type, len(body)):
            return body
        self.send_header("Vary", "Accept-Encoding")
        if not gateway.accepts_gzip(self.headers.get("Accept-Encoding")):
            return body
        self.send_header("Content-Encoding", "gzip")
        return COMPRESSED.get(key, version, lambda: body)

    def send_file(self, path: str) -> Any:
        """A file of frontend/, as Python's send_head serves it (Last-Modified, If-Modified-Since), gzipped
        when it should be: the gzipped bytes are kept while the file's mtime and size hold."""
        import io

        try:
            file = open(path, "rb")  # noqa: SIM115 (returned open, as Python's handler does; the caller closes it)
        except OSError:
            self.send_error(404, "File not found")
            return None
        try:
            stat = os.fstat(file.fileno())
            content_type = self.guess_type(path)
            if self._not_modified(stat.st_mtime):
                file.close()
                self.send_response(304)
                if gateway.compressible(content_type, stat.st_size):
                    self.send_header("Vary", "Accept-Encoding")
                self.end_headers()
                return None
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
            if gateway.compressible(content_type, stat.st_size) and gateway.accepts_gzip(
                self.headers.get("Accept-Encoding")
            ):
                body = COMPRESSED.get(path, (stat.st_mtime_ns, stat.st_size), file.read)
                file.close()
                self.send_header("Vary", "Accept-Encoding")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return io.BytesIO(body)
            if gateway.compressible(content_type, stat.st_size):
                self.send_header("Vary", "Accept-Encoding")
            self.send_header("Content-Length", str(stat.st_size))
            self.end_headers()
            return file
        except BaseException:
            file.close()
            raise

    def _not_modified(self, mtime: float) -> bool:
        """If-Modified-Since (without If-None-Match) at or after ``mtime``, as Python's handler reads it."""
        import datetime
        import email.utils

        since = self.headers.get("If-Modified-Since")
        if since is None or "If-None-Match" in self.headers:
            return False
        try:
            when = email.utils.parsedate_to_datetime(since)
        except (TypeError, IndexError, OverflowError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        if when.tzinfo is not datetime.UTC:
            return False
        modified = datetime.datetime.fromtimestamp(mtime, datetime.UTC).replace(microsecond=0)
        return modified <= when

    def send_rendition(self) -> Any:
        """/img/<key>: the renditions bucket's object, as CloudFront's ``img/*`` behaviour serves it
        (the path is the key, the query is left out, nothing is compressed); no listing, nothing outside ``img/``."""
        import io
        from urllib.parse import unquote

        key = unquote(self.path.split("?", 1)[0].split("#", 1)[0])[1:]
        found = self.renditions.read(key) if self.renditions is not None and rendition_path(key) else None
        if found is None:
            self.send_error(404)
            return None
        if isinstance(found, int):
            self.send_error(found)
            return None
        body, headers = found
        not_modified = self.headers.get("If-None-Match") == headers["ETag"]
        self.send_response(304 if not_modified else 200)
        for name, value in headers.items():
            self.send_header(name, value)
        if not not_modified:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return None if not_modified else io.BytesIO(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """One line of plain text: Python's page is HTML that quotes the request.

        A 404 keeps the connection, as CloudFront does for a missing file;
        any other error closes it (its request may not have been read to the end).
        """
        if code == 501:  # a method other than GET and HEAD, the only ones CloudFront lets through
            code = 405
        body = f"{code} {self.responses.get(code, ('Error',))[0]}\n".encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        if code != 404 or self.close_connection:
            self.send_header("Connection", "close")  # sets close_connection
        if code == 405:
            self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


_KEY_PART = re.compile(r"[A-Za-z0-9_.-]{1,255}")


def rendition_path(key: str) -> bool:
    """A key under ``img/`` only: named parts, none of them ``.`` or ``..`` (no way out), no directory."""
    parts = key.split("/")
    return (
        len(key) <= 1024  # S3's longest key
        and len(parts) >= 2
        and parts[0] == "img"
        and all(_KEY_PART.fullmatch(part) and part not in (".", "..") for part in parts[1:])
    )


class RenditionsOrigin:
    """The renditions bucket, read as CloudFront reads it (GetObject, through boto3 against the embedded AWS)."""

    PASSED_ON = ("Content-Type", "Cache-Control", "ETag", "Last-Modified")

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def read(self, key: str) -> tuple[bytes, dict[str, str]] | int | None:
        """The object's bytes and headers; None if there is none; 502 if the bucket could not be read."""
        from botocore.exceptions import ClientError

        try:
            found = self.s3.get_object(Bucket=self.bucket, Key=key)
            body = found["Body"].read()
        except ClientError as exc:
            if is_missing(exc):
                return None
            logger.warning("could not read %s from the renditions bucket: %s", key, exc)
            return 502
        except Exception as exc:  # the embedded AWS is stopping, say: what CloudFront answers for its origin
            logger.warning("could not read %s from the renditions bucket: %s", key, exc)
            return 502
        sent = found["ResponseMetadata"]["HTTPHeaders"]
        return body, {name: sent[name.lower()] for name in self.PASSED_ON if name.lower() in sent}


class FrontendServer(gateway.QuietClientErrors, ThreadingHTTPServer):
    """A thread per connection, and room for a burst of clients (the default backlog is 5);
    a client that goes away prints no traceback."""

    daemon_threads = True
    request_queue_size = gateway.REQUEST_QUEUE_SIZE


# -- photos: the renditions kept across restarts, and the seeded products' photos -------------
class RenditionFiles:
    """The renditions bucket kept in a directory (``<data dir>/renditions/<key>``), as the table is kept.

    ``save`` writes the renditions made since the last save and removes the
    files of those deleted (a photo deleted, its product deleted); ``restore``
    puts them all back into the embedded AWS at a start. Their keys name
    their content (chalicelib/photos/photo.py), so a file once written never
    changes; their type and caching are the image function's, from the key's
    extension (``put_rendition``). Only keys of renditions are kept.
    """

    def __init__(self, bucket: str, directory: Path) -> None:
        self.bucket, self.directory = bucket, directory
        self._saved: set[str] = set()

    @staticmethod
    def headers(key: str) -> dict[str, str]:
        from chalicelib.photos.photo import CACHE_CONTROL, CONTENT_TYPES, EXTENSIONS

        formats = {extension: fmt for fmt, extension in EXTENSIONS.items()}
        return {"Content-Type": CONTENT_TYPES[formats[key.rsplit(".", 1)[1]]], "Cache-Control": CACHE_CONTROL}

    @staticmethod
    def is_rendition(key: str) -> bool:
        return _RENDITION_KEY.fullmatch(key) is not None

    def restore(self) -> int:
        """Put every saved rendition back into the bucket; returns how many."""
        files = sorted(self.directory.rglob("*")) if self.directory.exists() else []
        keys = [path.relative_to(self.directory).as_posix() for path in files if path.is_file()]
        keys = [key for key in keys if self.is_rendition(key)]
        restored = put_objects(self.bucket, ((k, (self.directory / k).read_bytes(), self.headers(k)) for k in keys))
        self._saved = set(keys)
        return restored

    def save(self) -> None:
        present = object_keys(self.bucket)
        for key in sorted(k for k in present - self._saved if self.is_rendition(k)):
            body = object_body(self.bucket, key)
            if body is not None:  # else deleted meanwhile: nothing to keep
                path = self.directory / key
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(path.name + ".tmp")
                with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
                    out.write(body)
                partial.replace(path)
                self._saved.add(key)
        for key in sorted(self._saved - present):
            path = self.directory / key
            path.unlink(missing_ok=True)
            for folder in (path.parent, path.parent.parent):  # img/<content id>/v1/ and img/<content id>/
                if folder != self.directory and folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            self._saved.discard(key)


_RENDITION_KEY = re.compile(r"img/[0-9a-f]{32}/v[0-9]+/[0-9]+\.(webp|jpg)")  # photo.py's RenditionKey


class PhotoSeeding:
    """A photo for each product of the seed file, made in the background by the shop's own pipeline.

    For each product without a photo, what an admin's upload leads to: a
    photo ``processing`` on the product (``product_photos.add_photo``), then
    the drawn JPEG (infra/seed_photos.py) put at its upload key; the
    uploads bucket's event, the queue, the upload pump and the image function
    do the rest, as for any upload. At most ``in_flight`` uploads wait for the
    image function at a time, so photos appear from the first seconds on and
    the queue never holds the whole catalog.

    Across restarts: each photo granted here is written down
    (``record_file``) before its upload. A product with a photo, in any
    state, is left alone, and so is one given a photo here before (an admin
    may have deleted it); but a photo of ours still ``processing`` at a start
    lost its upload with the embedded AWS's memory (a stop or crash before
    the image function got to it), so its upload is put again, under the
    same key, and it is finished.
    """

    def __init__(
        self,
        seed_ids: Sequence[str],
        record_file: Path,
        pump: UploadPump,
        processes: PhotoProcesses,
        in_flight: int = 4,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self.seed_ids, self.record_file = list(seed_ids), record_file
        self.pump, self.processes, self.in_flight = pump, processes, in_flight
        self.out = out or functools.partial(print, flush=True)  # progress, under the banner
        self.total = 0
        self.keys: list[str] = []  # the uploads put, in order
        self.took_s: float | None = None  # once every photo is made
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PhotoSeeding:
        self._thread = threading.Thread(target=self._run, daemon=True, name="photo-seeding")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=STOP_GRACE_S / 2)

    @property
    def made(self) -> int:
        return sum(key in self.pump.finished for key in self.keys)

    def todo(self, store: Any) -> list[tuple[Product, str | None]]:
        """The products to give a photo (none yet), or whose photo to finish (its id), in the seed file's order."""
        recorded = self._recorded()
        order = {product_id: n for n, product_id in enumerate(self.seed_ids)}
        found: list[tuple[Product, str | None]] = []
        for product in sorted(
            (to_product(item) for item in store.items() if item.get("id") in order), key=lambda p: order[p.id]
        ):
            ours = recorded.get(product.id)
            if ours is None and not product.photos:
                found.append((product, None))
            elif ours is not None and any(p.id == ours and p.state is PhotoState.processing for p in product.photos):
                found.append((product, ours))
        return found

    def _run(self) -> None:
        started = time.monotonic()
        table = boto3.session.Session().resource("dynamodb").Table(os.environ["TABLE_NAME"])
        store = DynamoProductStore(table)
        try:
            todo = self.todo(store)
        except Exception:
            logger.exception("could not list the products to give photos")
            return
        self.total = len(todo)
        if not todo:
            return
        self.out(f"photos: making {self.total} in the background (LOCAL_PHOTOS=0 to skip)")
        s3, bucket = boto3.session.Session().client("s3"), os.environ["UPLOADS_BUCKET"]
        shown = 0
        for product, photo_id in todo:
            shown = self._wait(lambda: len(self.keys) - self.made < self.in_flight, shown)
            if self._stop.is_set():
                return
            try:
                self.keys.append(self._upload(store, s3, bucket, product, photo_id))
            except Exception:  # the product deleted meanwhile, or given eight photos: the next one
                logger.exception("could not give %s a photo", product.id)
        self._wait(lambda: self.made == len(self.keys), shown)
        if not self._stop.is_set():
            self.took_s = time.monotonic() - started
            refused = sum(self.pump.finished[key] != "ready" for key in self.keys)
            self.out(
                f"photos: {self.made}/{self.total} made in {self.took_s:.0f} s"
                + (f" ({refused} not made: see the log above)" if refused else "")
            )

    def _upload(self, store: Any, s3: Any, bucket: str, product: Product, photo_id: str | None) -> str:
        """The product's photo granted (unless ``photo_id``, granted before) and its upload put; returns its key."""
        from chalicelib.catalog import product_photos
        from chalicelib.photos.photo import MAX_ALT
        from chalicelib.photos.uploads import upload_key
        from infra.seed_photos import photo_for

        drawn = self.processes.run(photo_for, product.model_dump(mode="json", exclude={"photos"}))
        if photo_id is None:
            photo_id = product_photos.add_photo(store, product.id, alt=product.name[:MAX_ALT]).id
            self._record(product.id, photo_id)
        key = upload_key(product.id, photo_id)
        s3.put_object(Bucket=bucket, Key=key, Body=drawn, ContentType="image/jpeg")
        return key

    def _wait(self, condition: Callable[[], bool], shown: int) -> int:
        """Wait until ``condition()`` or a stop, printing progress at each tenth; returns the photos shown made."""
        step = max(1, self.total // 10)

        def progressed(then: int) -> Callable[[], bool]:
            return lambda: condition() or self.made >= then + step

        while not self._stop.is_set():
            self.pump.wait_until(progressed(shown), timeout_s=0.5)
            made = self.made
            if shown + step <= made < self.total:
                shown = made - made % step
                self.out(f"photos: {made}/{self.total} made")
            if condition():
                break
        return shown

    def _recorded(self) -> dict[str, str]:
        """product id -> the photo granted here (a line cut short by a crash is left out)."""
        found: dict[str, str] = {}
        if self.record_file.exists():
            for line in self.record_file.read_text().splitlines():
                try:
                    entry = json.loads(line)
                    found[str(entry["product_id"])] = str(entry["photo_id"])
                except (ValueError, KeyError, TypeError):
                    continue
        return found

    def _record(self, product_id: str, photo_id: str) -> None:
        self.record_file.parent.mkdir(parents=True, exist_ok=True)
        line = "\n" + json.dumps({"product_id": product_id, "photo_id": photo_id})
        with os.fdopen(os.open(self.record_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "w") as out:
            out.write(line)


class LocalStack:
    """Start and stop the local shop; used by `make run`, the e2e tests and bench/."""

    def __init__(
        self,
        api_port: int = 8000,
        web_port: int = 8080,
        aws_port: int = 5100,
        data_dir: Path = ROOT / ".local",
        seed_file: Path = SEED_FILE,
        serve_api: bool = True,
        serve_web: bool = True,
        seed_photos: bool = False,  # `make run` (main) makes them unless LOCAL_PHOTOS=0
        photo_workers: int | None = None,
        demo_orders: bool = False,  # `make run` (main) places them unless LOCAL_DEMO_ORDERS=0
    ) -> None:
        self.api_port, self.web_port, self.aws_port = api_port, web_port, aws_port
        self.data_dir, self.seed_file = data_dir, seed_file
        self.serve_api, self.serve_web = serve_api, serve_web
        self.seed_photos = seed_photos
        self.photo_workers = photo_workers or default_workers()
        self.photo_seeding: PhotoSeeding | None = None
        self.place_demo_orders = demo_orders
        self.demo_orders: DemoOrders | None = None
        self.upload_pump: UploadPump | None = None
        self._renditions: RenditionFiles | None = None
        self.restored_renditions = 0
        self.photo_queues: dict[str, str] = {}
        self.aws_url = f"http://{HOST}:{aws_port}"
        self.api_url = f"http://{HOST}:{api_port}"
        self.web_url = f"http://{HOST}:{web_port}"
        self.table_name = stage_table_name(STAGE)
        self._servers: list[Any] = []
        self._moto: Any = None
        self._stop_snapshots = threading.Event()
        self._snapshots: threading.Thread | None = None
        self._table_changes: TableChanges | None = None  # restored and followed: safe to save
        self._unsaved: list[dict[str, Any]] = []  # changes taken from the stream, not yet in the journal
        self._users_restored = False  # the user pool holds the saved users: safe to save
        self._password_hashes: dict[tuple[str, str], str] = {}
        self._saved_users: str | None = None
        self.restored = 0  # items restored from the snapshot (0: seeded)
        self.restored_users = 0
        self.environment: dict[str, str] = {}  # what the app needs to use this stack

    @property
    def snapshot_file(self) -> Path:
        return self.data_dir / f"{self.table_name}.json"

    @property
    def journal_file(self) -> Path:
        """The table's changes since the snapshot was written: a JSON list per line, a second's worth each."""
        return self.data_dir / f"{self.table_name}.journal"

    @property
    def user_pools_file(self) -> Path:
        return self.data_dir / "user-pools.json"

    @property
    def renditions_dir(self) -> Path:
        """The renditions bucket's objects, one file per key."""
        return self.data_dir / "renditions"

    @property
    def seeded_photos_file(self) -> Path:
        """The photos given to seeded products here: a JSON line per photo."""
        return self.data_dir / "seeded-photos.jsonl"

    @property
    def demo_orders_file(self) -> Path:
        """The demo shopper's orders placed (or left out) here: a JSON line per order."""
        return self.data_dir / "demo-orders.jsonl"

    # -- lifecycle -------------------------------------------------------
    def start(self) -> LocalStack:
        self._use(fake_aws_environment(self.aws_url))
        self._moto = start_embedded_aws(self.aws_port, allowed_origins=spa_origins(self.web_port))
        self._servers.append(self._moto)
        client = boto3.client("dynamodb")
        create_table(client, self.table_name)
        self.restore_or_seed()
        self._table_changes = TableChanges(self.table_name, os.environ["AWS_REGION"])
        if not self.snapshot_file.exists() or self.journal_file.exists():
            self._write_table_snapshot()  # the journal's changes, folded into the snapshot
        # The index is derived: built from the table at each start, then kept
        # current from the stream (the bucket is not part of the snapshot).
        self._use(local_stage_environment())  # STAGE, TABLE_NAME, SEARCH_INDEX_BUCKET... for the consumers
        bucket = os.environ["SEARCH_INDEX_BUCKET"]
        create_search_index_bucket(boto3.client("s3"), bucket)
        self.index_version = rebuild_search_index(self.table_name, bucket)
        uploads, renditions = os.environ["UPLOADS_BUCKET"], os.environ["RENDITIONS_BUCKET"]
        self.photo_queues = create_photo_storage(stack_name(STAGE), uploads, renditions, spa_origins(self.web_port))
        self._renditions = RenditionFiles(renditions, self.renditions_dir)
        self.restored_renditions = self._renditions.restore()
        cognito = boto3.client("cognito-idp")
        os.environ.update(STABLE_USER_POOL_IDS)  # moto's setting: the same pool and client ids at every start
        self.pool = create_user_pool(cognito, stack_name(STAGE))
        self.restore_users()
        create_demo_users(cognito, self.pool["user_pool_id"])
        self._use(local_auth_environment(self.aws_url, self.pool))
        self._use(create_notifications(stack_name(STAGE)))
        self._start_stream_delivery()
        self._start_photo_delivery()  # after the last of the environment: the photo processes inherit it
        if self.serve_api:
            self._start_api()
        if self.serve_web:
            self._start_web()
        self._snapshots = threading.Thread(target=self._snapshot_loop, daemon=True, name="snapshots")
        self._snapshots.start()
        self._write_stack_file()
        if self.seed_photos:
            self._start_photo_seeding()
        if self.place_demo_orders and self.serve_api:
            self._start_demo_orders()
        return self

    def stop(self) -> None:
        """Stop the servers and the stream's readers, save the data, then stop the embedded AWS."""
        self._stop_snapshots.set()
        if self._snapshots is not None:
            self._snapshots.join(timeout=STOP_GRACE_S / 2)
        self._remove_stack_file()
        for server in reversed(self._servers):
            if server is not self._moto:
                server.stop() if hasattr(server, "stop") else server.shutdown()
        if self._moto is not None:
            self.save_snapshot(exact=True)
            self._moto.stop()
        self._servers.clear()

    def _use(self, environment: dict[str, str]) -> None:
        self.environment.update(environment)
        os.environ.update(environment)

    def _start_stream_delivery(self) -> None:
        """Lambda's event source mappings, played locally: stream -> each consumer."""
        from chalicelib.api.indexer import index_table_stream
        from chalicelib.api.order_events import handle_table_stream
        from chalicelib.search.indexing import INDEX_STREAM_POLICY

        queue = os.environ["FAILED_RECORDS_QUEUE_URL"]  # the mappings' on-failure destination
        self.order_events = StreamPump(self.table_name, handle_table_stream, failed_records_queue_url=queue).start()
        self.index_pump = StreamPump(
            self.table_name,
            index_table_stream,
            policy=INDEX_STREAM_POLICY,
            failed_records_queue_url=queue,
            function_name="index_table_stream",
        ).start()
        self._servers += [self.order_events, self.index_pump]

    def _start_photo_delivery(self) -> None:
        """The uploads queue's mapping, played locally: queue -> the image function, in child processes."""
        self.photo_processes = PhotoProcesses(self.photo_workers)
        self.upload_pump = UploadPump(
            self.photo_queues["UPLOADS_QUEUE_URL"], self.photo_processes.process_message, workers=self.photo_workers
        ).start()
        self._servers += [self.photo_processes, self.upload_pump]  # stopped in reverse: the pump first

    def _start_photo_seeding(self) -> None:
        assert self.upload_pump is not None
        seed_ids = [str(p.id) for p in read_catalog(self.seed_file) if p.id]
        self.photo_seeding = PhotoSeeding(
            seed_ids, self.seeded_photos_file, self.upload_pump, self.photo_processes, 2 * self.photo_workers
        ).start()
        self._servers.append(self.photo_seeding)

    def _start_demo_orders(self) -> None:
        """The demo shopper's orders, through the API just started (stopped before it: later in the list)."""
        email, password, _ = next(user for user in DEMO_USERS if not user[2])  # the shopper (no admin group)
        plan = plan_orders(read_catalog(self.seed_file))
        self.demo_orders = DemoOrders(plan, self.api_url, self.site_auth(), email, password, self.demo_orders_file)
        self._servers.append(self.demo_orders.start())

    def _start_api(self) -> None:
        from chalice.cli import create_local_server
        from chalice.cli.factory import CLIFactory

        gateway.install()  # API Gateway's answers: 401s, CORS, unknown routes, a backlog of 128
        factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
        server = create_local_server(factory, HOST, self.api_port, STAGE)
        threading.Thread(target=server.serve_forever, daemon=True, name="api").start()
        self._servers.append(server)

    # -- the stack file: for `chalice local --stage local` and localdev/token.py ----
    @property
    def stack_file(self) -> Path:
        return local_stack_file({"LOCAL_DATA_DIR": str(self.data_dir)})

    def _write_stack_file(self) -> None:
        stack = {
            "pid": os.getpid(),
            "aws_url": self.aws_url,
            "api_url": self.api_url if self.serve_api else None,
            "web_url": self.web_url if self.serve_web else None,
            "auth": self.site_auth(),
            "environment": self.environment,
        }
        self.stack_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.stack_file.with_suffix(".tmp")
        partial.write_text(json.dumps(stack, indent=2) + "\n")
        partial.replace(self.stack_file)

    def _remove_stack_file(self) -> None:
        try:
            if json.loads(self.stack_file.read_text()).get("pid") == os.getpid():
                self.stack_file.unlink()
        except (OSError, ValueError):
            pass

    def site_auth(self) -> dict[str, str]:
        """The user pool, as the SPA's config.json and localdev/token.py name it."""
        return {
            "provider": "cognito",
            "region": os.environ["AWS_REGION"],
            "user_pool_id": self.pool["user_pool_id"],
            "client_id": self.pool["client_id"],
            "endpoint": self.aws_url,
        }

    def _start_web(self) -> None:
        site_config = {
            "api_url": self.api_url,
            "stage": STAGE,
            "admin_role": os.environ.get("ADMIN_ROLE", "admin"),
            "auth": self.site_auth(),
        }
        headers = site_headers((FRONTEND / "index.html").read_text())
        renditions = RenditionsOrigin(boto3.client("s3"), os.environ["RENDITIONS_BUCKET"])
        handler = functools.partial(FrontendHandler, site_config=site_config, headers=headers, renditions=renditions)
        server = FrontendServer((HOST, self.web_port), handler)
        threading.Thread(target=server.serve_forever, daemon=True, name="web").start()
        self._servers.append(server)

    # -- data ------------------------------------------------------------
    def restore_or_seed(self) -> None:
        """The table as it was saved (the snapshot, then the journal's changes), or the seed catalog."""
        snapshot = self.snapshot_file
        client = boto3.client("dynamodb")
        if snapshot.exists():
            items = apply_changes(json.loads(snapshot.read_text()), self._journaled(), KEY_NAMES)
            for start in range(0, len(items), 25):
                requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                pending: dict[str, Any] = {self.table_name: requests}
                while pending:
                    pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            self.restored = len(items)
        else:
            load(boto3.resource("dynamodb").Table(self.table_name), read_catalog(self.seed_file))

    def _journaled(self) -> list[dict[str, Any]]:
        """The changes in the journal, in order.

        A line cut short is left out whole: the last one, by a crash, or one
        whose write failed (a full disk), which the next line repeats.
        """
        journal = self.journal_file
        if not journal.exists():
            return []
        changes: list[dict[str, Any]] = []
        for line in journal.read_text().splitlines():
            try:
                changes += json.loads(line) if line else []
            except ValueError:
                logger.warning("left out an unfinished line of %s", journal)
        return changes

    def restore_users(self) -> None:
        """Put the saved accounts back into the new user pool (same `sub`, groups and password)."""
        saved_file = self.user_pools_file
        if saved_file.exists():
            saved = json.loads(saved_file.read_text()).get(stack_name(STAGE), {})
            self.restored_users = restore_user_pool_state(self.pool["user_pool_id"], saved)
        self._users_restored = True

    def save_snapshot(self, exact: bool = False) -> None:
        """Save what changed since the last save: the table's changes, the
        renditions made or deleted, and the user pool's accounts if they
        changed, to .local/.

        The embedded AWS runs in this process, so its memory is read directly.
        The table's changes are taken from its stream (``embedded_table.TableChanges``,
        which holds moto's lock only to slice the new records) and appended to
        the journal: a save costs what changed, whatever the table's size.
        ``exact`` writes the whole table instead, copied under the lock, and
        empties the journal (at the stop, when no client waits).
        """
        if self._table_changes is not None:
            if exact:
                self._write_table_snapshot()
            else:
                self._unsaved += self._table_changes.take()
                self._journal(self._unsaved)  # if it fails (a full disk), the changes wait for the next save
                self._unsaved = []
        if self._renditions is not None:
            self._renditions.save()
        if self._users_restored:
            state = user_pool_state(self.pool["user_pool_id"], self._password_hashes)
            users = json.dumps({stack_name(STAGE): state}, indent=1)
            if users != self._saved_users:
                _write_json(self.user_pools_file, users)
                self._saved_users = users

    def _journal(self, changes: list[dict[str, Any]]) -> None:
        if changes:
            # One line, all of it or (cut short) none; it starts a line of its own after one cut short.
            line = "\n" + json.dumps(changes, separators=(",", ":"))
            with os.fdopen(os.open(self.journal_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "w") as out:
                out.write(line)

    def _write_table_snapshot(self) -> None:
        """The whole table to the snapshot; then the journal, folded into it, goes.

        The journal is completed and the table copied in one hold of the lock,
        so the snapshot is exactly the journal's end: if a crash comes before
        the journal is gone, applying it again to the snapshot changes nothing.
        """
        if self._table_changes is not None:
            with table_lock():  # no client waits: at the start or the stop
                self._journal(self._unsaved + self._table_changes.take())
                self._unsaved = []
                items = table_items(self.table_name, os.environ["AWS_REGION"])
            _write_json(self.snapshot_file, items)
            self.journal_file.unlink(missing_ok=True)

    def _snapshot_loop(self) -> None:
        while not self._stop_snapshots.wait(SNAPSHOT_EVERY_S):
            try:
                self.save_snapshot()
            except Exception:  # a full disk, say: keep serving, try again next time
                logger.exception("could not save the local data to %s", self.data_dir)


def _write_json(path: Path, data: list[dict[str, Any]] | str) -> None:
    """Replace ``path`` with ``data`` (JSON text, or a list written a chunk at a
    time) in one rename: a crash leaves the old file or the new one, never
    half of one. Readable by its owner only (accounts, addresses)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        if isinstance(data, str):
            out.write(data)
        else:
            out.write("[")
            for start in range(0, len(data), SNAPSHOT_CHUNK):
                out.write(("," if start else "") + json.dumps(data[start : start + SNAPSHOT_CHUNK])[1:-1])
            out.write("]")
    partial.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The whole shop on one machine (`make run`).")
    parser.add_argument(
        "--aws-only",
        action="store_true",
        help="start the embedded AWS, its table, user pool and demo users, but no API or SPA server (`make aws`)",
    )
    args = parser.parse_args(argv)
    stack = LocalStack(
        api_port=int(os.environ.get("API_PORT", "8000")),
        web_port=int(os.environ.get("WEB_PORT", "8080")),
        aws_port=int(os.environ.get("AWS_PORT", "5100")),
        data_dir=Path(os.environ.get("LOCAL_DATA_DIR", ROOT / ".local")),
        serve_api=not args.aws_only,
        serve_web=not args.aws_only,
        seed_photos=os.environ.get("LOCAL_PHOTOS", "1").strip().lower() not in ("0", "no", "false", "off"),
        demo_orders=os.environ.get("LOCAL_DEMO_ORDERS", "1").strip().lower() not in ("0", "no", "false", "off"),
    )
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("chalicelib").setLevel(logging.INFO)
    logging.getLogger("localdev").setLevel(logging.INFO)
    print("Starting the Serverless Pet Store locally...", flush=True)
    started = time.monotonic()
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    print(banner(stack, time.monotonic() - started), flush=True)
    # A timed wait: Python runs a signal's handler in the main thread only, and
    # a signal that the kernel hands to another thread would not wake an
    # untimed wait (seen here: SIGTERM left unanswered until a SIGKILL).
    while not stopping.wait(0.5):
        pass
    print("\nStopping: saving the local data...", flush=True)
    saved = threading.Event()
    # A thread that will not end (a client holding a connection open, say)
    # must not keep the shop from stopping: after the data is saved, wait a
    # little, then show what was still running and leave anyway.
    watchdog = threading.Timer(STOP_GRACE_S, _force_exit, args=(saved,))
    watchdog.daemon = True
    watchdog.start()
    stack.stop()
    saved.set()
    print("Stopped.", flush=True)


def banner(stack: LocalStack, took_s: float) -> str:
    how = (
        f"restored {stack.restored} items and {stack.restored_users} accounts from {stack.data_dir}"
        if stack.restored
        else "seeded from data/products.json"
    )
    users = "\n                ".join(
        f"{email} / {password}" + (f"  ({', '.join(groups)})" if groups else "")
        for email, password, groups in DEMO_USERS
    )
    orders = ""
    if stack.demo_orders is not None:
        shopper = stack.demo_orders.email
        orders = f"\n                {shopper} gets a few orders once, in the background (LOCAL_DEMO_ORDERS=0: none)"
    photos = f"served at {stack.web_url}/img/<key> (as CloudFront serves the renditions bucket)"
    if not stack.serve_web:
        photos = f"the renditions bucket {os.environ['RENDITIONS_BUCKET']} (no /img/ without the SPA's server)"
    if stack.restored_renditions:
        photos += f"\n                {stack.restored_renditions} renditions restored"
    if stack.seed_photos:
        photos += "\n                seeded products without one get a photo in the background (LOCAL_PHOTOS=0: none)"
    photos += f"""
                uploads that failed three times: aws --endpoint-url {stack.aws_url} sqs receive-message
                  --queue-url {stack.photo_queues["PHOTO_FAILURES_QUEUE_URL"]}  (docs/local.md)"""
    if stack.serve_api:
        servers = f"""  Shop (SPA)    {stack.web_url}
  API           {stack.api_url}   (OpenAPI: {stack.api_url}/openapi.json)
  SPA config    {stack.web_url}/config.json
"""
    else:
        servers = f"""  API           not served here: in another terminal, `.venv/bin/chalice local --stage local`
                (it finds this stack through {stack.stack_file})
"""
    return f"""
Serverless Pet Store is up (stage {STAGE}, {took_s:.1f}s)
{servers}  Embedded AWS  {stack.aws_url}   (moto; AWS_ENDPOINT_URL for boto3 and the aws CLI)
  Catalog       {how}
                delete .local/ to start again from the seed file
  Demo users    {users}{orders}
  Photos        {photos}
  Order events  confirmations by SES from {os.environ["NOTIFY_FROM"]} and low-stock alerts by SNS,
                logged below; messages sent: {stack.aws_url}/moto-api/data.json ("ses" -> "Message")
                records that failed: aws --endpoint-url {stack.aws_url} sqs receive-message
                  --queue-url {os.environ["FAILED_RECORDS_QUEUE_URL"]}  (docs/order-events.md)
Press Ctrl-C to stop."""


def _force_exit(saved: threading.Event) -> None:
    import faulthandler

    print(f"Still running after {STOP_GRACE_S}s; these threads did not end:", file=sys.stderr, flush=True)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    os._exit(0 if saved.is_set() else 1)


if __name__ == "__main__":
    main()
