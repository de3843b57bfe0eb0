"""`chalice local`, answering as API Gateway does: ``make api``.

    make aws                                   # terminal 1: the embedded AWS
    make api                                   # terminal 2: the API on :8000, reloaded on edits
    .venv/bin/python -m localdev.chalice_local --stage local --port 8001   # the same, by hand

It is Chalice's own ``chalice local`` command (every option is Chalice's),
run after ``gateway.install()``: a missing or refused token gets API
Gateway's 401 or 403 with CORS headers, an unknown route its 403, a burst of
clients a backlog of 128, a JSON answer of 1,000 bytes or more gzipped as
CloudFront gzips it (localdev/gateway.py). Plain ``chalice local
--stage local`` serves the same app with Chalice's stock local gateway:
importing ``app.py`` patches nothing.
"""

from __future__ import annotations

import sys

from localdev import gateway


def main(argv: list[str] | None = None) -> int:
    args = ["local", *(sys.argv[1:] if argv is None else argv)]
    gateway.install()
    from chalice.cli import cli

    # Chalice's reloader restarts the server with sys.argv: make it run this module again.
    sys.argv = [sys.executable, "-m", "localdev.chalice_local", *args[1:]]
    cli.main(args=args, prog_name="chalice", obj={})  # exits with Chalice's own status
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
