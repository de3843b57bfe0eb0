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

The snapshot is saved about every second while something changes (a crash
loses at most that), and by Ctrl-C or SIGTERM, which then stop everything
(docs/local.md).
Ports: API_PORT (8000), WEB_PORT (8080), AWS_PORT (5100); data: LOCAL_DATA_DIR (.local).
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
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from chalicelib.platform.config import local_stack_file
from infra.cloudformation import stack_name
from infra.import_catalog import load, read_catalog, stage_table_name
from infra.template import ROOT
from localdev import gateway
from localdev.embedded_table import TableChanges, apply_changes, table_items
from localdev.moto_fixes import table_lock
from localdev.resources import (
    DEMO_USERS,
    STABLE_USER_POOL_IDS,
    create_demo_users,
    create_notifications,
    create_search_index_bucket,
    create_table,
    create_user_pool,
    fake_aws_environment,
    local_auth_environment,
    local_stage_environment,
    rebuild_search_index,
    restore_user_pool_state,
    spa_origins,
    start_embedded_aws,
    table_definition,
    user_pool_state,
)
from localdev.stream_pump import StreamPump

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
    """

    def __init__(self, *args: Any, site_config: dict[str, Any], headers: dict[str, str], **kwargs: Any) -> None:
        from infra.publish_spa import tightened_index

        self.site_config = site_config
        self.page = tightened_index((FRONTEND / "index.html").read_text(), site_config)
        self.site_headers = {**headers, "Content-Security-Policy": page_csp(self.page)}
        super().__init__(*args, directory=str(FRONTEND), **kwargs)

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
        import io

        if not self.clean_path(self.path):
            self.send_error(400)
            return None
        if self.path.split("?", 1)[0] in ("/", "/index.html"):
            page = self.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            return io.BytesIO(page)
        return super().send_head()

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/config.json":
            body = json.dumps(self.site_config).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """One line of plain text: Python's page is HTML that quotes the request."""
        if code == 501:  # a method other than GET and HEAD, the only ones CloudFront lets through
            code = 405
        body = f"{code} {self.responses.get(code, ('Error',))[0]}\n".encode()
        self.close_connection = True
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        if code == 405:
            self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class FrontendServer(gateway.QuietClientErrors, ThreadingHTTPServer):
    """A thread per connection, and room for a burst of clients (the default backlog is 5);
    a client that goes away prints no traceback."""

    daemon_threads = True
    request_queue_size = gateway.REQUEST_QUEUE_SIZE


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
    ) -> None:
        self.api_port, self.web_port, self.aws_port = api_port, web_port, aws_port
        self.data_dir, self.seed_file = data_dir, seed_file
        self.serve_api, self.serve_web = serve_api, serve_web
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
        cognito = boto3.client("cognito-idp")
        os.environ.update(STABLE_USER_POOL_IDS)  # moto's setting: the same pool and client ids at every start
        self.pool = create_user_pool(cognito, stack_name(STAGE))
        self.restore_users()
        create_demo_users(cognito, self.pool["user_pool_id"])
        self._use(local_auth_environment(self.aws_url, self.pool))
        self._use(create_notifications(stack_name(STAGE)))
        self._start_stream_delivery()
        if self.serve_api:
            self._start_api()
        if self.serve_web:
            self._start_web()
        self._snapshots = threading.Thread(target=self._snapshot_loop, daemon=True, name="snapshots")
        self._snapshots.start()
        self._write_stack_file()
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
        handler = functools.partial(FrontendHandler, site_config=site_config, headers=headers)
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
        """Save what changed since the last save: the table's changes, and the
        user pool's accounts if they changed, to .local/.

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
  Demo users    {users}
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
