"""The whole shop on one machine: `make run`.

Starts, in this one process and on loopback only:
- the embedded AWS: moto's server (DynamoDB, Cognito with its JWKS, SES, SNS,
  SQS), reached by the app through the same boto3 calls as in production
  (AWS_ENDPOINT_URL);
- the stage's resources, created from infra/template.yaml: the table, the user
  pool with its SPA client and admin group, and the demo users; and the order
  events' sender, low-stock topic and failed-records queue;
- the table's stream delivered to the app's handler as Lambda's event source
  mapping does (scripts/streams.py);
- the catalog, seeded from data/products.json on the first start and restored
  from the snapshot in .local/ afterwards (so local edits survive a restart);
- the real Chalice app, served as `chalice local --stage local` serves it, its
  JWT authorizer answering as API Gateway does (scripts/gateway.py);
- a static server for frontend/, with /config.json telling the SPA where the
  API and the user pool are.

While it runs, <LOCAL_DATA_DIR>/stack.json says where its AWS is and which user
pool it made: `chalice local --stage local` started in another terminal reads
it (chalicelib/config.py), and so does `python -m scripts.token`. `make aws`
(``--aws-only``) starts everything but the API and SPA servers, for that use.

Ctrl-C or SIGTERM saves the snapshot and stops everything.
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

from chalicelib.config import local_stack_file

from . import gateway, moto_speedups
from .import_catalog import load, read_catalog, stage_table_name
from .resources import (
    DEMO_USERS,
    ROOT,
    create_demo_users,
    create_notifications,
    create_search_index_bucket,
    create_table,
    create_user_pool,
    fake_aws_environment,
    local_auth_environment,
    local_stage_environment,
    rebuild_search_index,
    start_embedded_aws,
)
from .streams import StreamPump

HOST = "127.0.0.1"
STAGE = "local"
FRONTEND = ROOT / "frontend"
SEED_FILE = ROOT / "data" / "products.json"
SNAPSHOT_EVERY_S = 30
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
    """What CloudFront adds to every answer of the deployed site (the managed
    SecurityHeadersPolicy of infra/template.yaml), plus the page's CSP.

    Strict-Transport-Security is left out: the local site is plain http on
    loopback, where browsers ignore it.
    """
    return {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-XSS-Protection": "1; mode=block",
        "Content-Security-Policy": page_csp(index_html),
    }


class FrontendHandler(SimpleHTTPRequestHandler):
    """Serves frontend/ and the SPA's /config.json, with the deployed site's
    headers, and lists no directory (a directory without index.html is a 404)."""

    def __init__(self, *args: Any, site_config: dict[str, Any], headers: dict[str, str], **kwargs: Any) -> None:
        self.site_config = site_config
        self.site_headers = headers
        super().__init__(*args, directory=str(FRONTEND), **kwargs)

    def end_headers(self) -> None:
        for name, value in self.site_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "Not found")

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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class FrontendServer(ThreadingHTTPServer):
    """A thread per connection, and room for a burst of clients (the default backlog is 5)."""

    daemon_threads = True
    request_queue_size = gateway.REQUEST_QUEUE_SIZE


class LocalStack:
    """Start and stop the local shop; used by `make run`, the e2e tests and bench/."""

    def __init__(
        self,
        api_port: int = 8000,
        web_port: int = 8080,
        aws_port: int = 5100,
        data_dir: Path | None = ROOT / ".local",
        seed_file: Path | None = SEED_FILE,
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
        self._stop_snapshots = threading.Event()
        self.environment: dict[str, str] = {}  # what the app needs to use this stack

    @property
    def snapshot_file(self) -> Path | None:
        return self.data_dir / f"{self.table_name}.json" if self.data_dir else None

    # -- lifecycle -------------------------------------------------------
    def start(self) -> LocalStack:
        self._use(fake_aws_environment(self.aws_url))
        moto = start_embedded_aws(self.aws_port)
        self._servers.append(moto)
        client = boto3.client("dynamodb")
        create_table(client, self.table_name)
        self.restore_or_seed()
        # The index is derived: built from the table at each start, then kept
        # current from the stream (the bucket is not part of the snapshot).
        self._use(local_stage_environment())  # STAGE, TABLE_NAME, SEARCH_INDEX_BUCKET... for the consumers
        bucket = os.environ["SEARCH_INDEX_BUCKET"]
        create_search_index_bucket(boto3.client("s3"), bucket)
        self.index_version = rebuild_search_index(self.table_name, bucket)
        cognito = boto3.client("cognito-idp")
        self.pool = create_user_pool(cognito, f"petstore-{STAGE}")
        create_demo_users(cognito, self.pool["user_pool_id"])
        self._use(local_auth_environment(self.aws_url, self.pool))
        self._use(create_notifications(f"petstore-{STAGE}"))
        self._start_stream_delivery()
        if self.serve_api:
            self._start_api()
        if self.serve_web:
            self._start_web()
        if self.snapshot_file:
            threading.Thread(target=self._snapshot_loop, daemon=True, name="snapshots").start()
        self._write_stack_file()
        return self

    def stop(self) -> None:
        self._stop_snapshots.set()
        self._remove_stack_file()
        self.save_snapshot()
        for server in reversed(self._servers):
            server.stop() if hasattr(server, "stop") else server.shutdown()
        self._servers.clear()

    def _use(self, environment: dict[str, str]) -> None:
        self.environment.update(environment)
        os.environ.update(environment)

    def _start_stream_delivery(self) -> None:
        """Lambda's event source mappings, played locally: stream -> each consumer."""
        from chalicelib.api.indexer import index_table_stream
        from chalicelib.api.order_events import handle_table_stream
        from chalicelib.search.indexer import INDEX_STREAM_POLICY

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

    # -- the stack file: for `chalice local --stage local` and scripts/token.py ----
    @property
    def stack_file(self) -> Path | None:
        return local_stack_file({"LOCAL_DATA_DIR": str(self.data_dir)}) if self.data_dir else None

    def _write_stack_file(self) -> None:
        if not self.stack_file:
            return
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
            if self.stack_file and json.loads(self.stack_file.read_text()).get("pid") == os.getpid():
                self.stack_file.unlink()
        except (OSError, ValueError):
            pass

    def site_auth(self) -> dict[str, str]:
        """The user pool, as the SPA's config.json and scripts/token.py name it."""
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
        snapshot = self.snapshot_file
        client = boto3.client("dynamodb")
        if snapshot and snapshot.exists():
            items = json.loads(snapshot.read_text())
            for start in range(0, len(items), 25):
                requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                pending: dict[str, Any] = {self.table_name: requests}
                while pending:
                    pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            self.restored = len(items)
        elif self.seed_file:
            table = boto3.resource("dynamodb").Table(self.table_name)
            load(table, read_catalog(self.seed_file))
            self.restored = 0

    def save_snapshot(self) -> None:
        """Write every item of the table to .local/.

        The embedded AWS runs in this process, so its memory is read directly
        (``moto_speedups.table_items``, a consistent copy while clients keep
        reading and writing).
        """
        snapshot = self.snapshot_file
        if not snapshot or not self._servers:
            return
        items = moto_speedups.table_items(self.table_name, os.environ["AWS_REGION"])
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        partial = snapshot.with_suffix(".tmp")
        partial.write_text(json.dumps(items))
        partial.replace(snapshot)

    def _snapshot_loop(self) -> None:
        while not self._stop_snapshots.wait(SNAPSHOT_EVERY_S):
            try:
                self.save_snapshot()
            except OSError:  # a full disk, say: keep serving, try again next time
                logger.exception("could not save the local data to %s", self.snapshot_file)


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
    logging.getLogger("scripts").setLevel(logging.INFO)
    print("Starting the Serverless Pet Store locally...", flush=True)
    started = time.monotonic()
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    print(banner(stack, time.monotonic() - started), flush=True)
    stopping.wait()
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
        f"restored {stack.restored} items from {stack.snapshot_file}"
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
