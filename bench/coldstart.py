"""Cold start of each packaged function against the floor, measured in one run.

    make bench-coldstart STAGE=dev       # build/dev/deployment.zip and template.json
    python -m bench.coldstart --zip /tmp/pkg/deployment.zip

The deployment zip is unpacked as Lambda unpacks it into /var/task, and every
sample is a fresh interpreter, as a cold start is, with bytecode writing off
(/var/task is read-only) and ``sys.path`` = the package, the standard library,
then this venv's site-packages for boto3 and botocore only, which the Lambda
runtime provides (every other module must come from the package: the run
stops if one does not). Each function's handler comes from the stage's
template (its ``AWS::Serverless::Function`` resources), else the five
handlers of a packaged stage.

Per sample: the import of the handler's module, then its first invocation:
search answers GET /products from moto's server on loopback (seeded with
data/products.json), purchase GET /orders for a signed-in shopper, catalog
admin refuses an empty product (400), the authorizer refuses a malformed token
(no network), order events handle a one-record batch that needs no effect.
The floor is what any function pays: Chalice, boto3 and one
``boto3.client("dynamodb")``. Both the bundled zip (``infra/bundle.py``:
compiled, trimmed) and the same zip without its bytecode are measured.
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from dataclasses import dataclass
from importlib.util import cache_from_source
from pathlib import Path
from typing import Any

import boto3

from infra.bundle import bundle
from infra.import_catalog import load, read_catalog
from infra.template import ROOT
from localdev.resources import (
    create_search_index_bucket,
    create_table,
    fake_aws_environment,
    rebuild_search_index,
    start_embedded_aws,
)
from tests.support.ports import free_port

TABLE = "petstore-bench-coldstart"
SEED = ROOT / "data" / "products.json"
FLOOR = "floor"
# The floor as a module of its own, imported the way the functions' handlers
# are (Lambda's runtime uses importlib.import_module).
FLOOR_MODULE = "coldstart_floor"
FLOOR_SOURCE = 'import boto3\nimport chalice  # noqa: F401\n\ndynamodb = boto3.client("dynamodb")\n'
# The handlers of a packaged stage, when there is no template to read them from.
HANDLERS = {
    "search": "chalicelib.lambdas.search.app",
    "purchase": "chalicelib.lambdas.purchase.app",
    "admin": "chalicelib.lambdas.admin.app",
    "authorizer": "chalicelib.api.authorizer.jwt_auth",
    "order_events": "chalicelib.api.order_events.handle_table_stream",
    "indexer": "chalicelib.api.indexer.index_table_stream",
}
# The functions that carry the search engine's layer, when there is no template to read them from.
LAYERED = {HANDLERS["search"], HANDLERS["indexer"]}
# Modules the Lambda Python runtime provides; here they come from the venv
# (certifi: botocore's optional CA bundle, else it uses its own).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3", "certifi")
SHOPPER = {"sub": "bench-shopper", "email": "", "roles": "[]"}
ADMIN = {"sub": "bench-admin", "email": "", "roles": '["admin"]'}
ENVIRONMENT = {
    "STAGE": "dev",
    "TABLE_NAME": TABLE,
    "AUTH_PROVIDER": "cognito",
    "COGNITO_USER_POOL_ID": "us-east-1_Bench",
    "COGNITO_CLIENT_ID": "bench-client",
    "SEARCH_INDEX_BUCKET": "petstore-bench-coldstart-search",
    "PYTHONDONTWRITEBYTECODE": "1",
}

# Runs in each fresh interpreter (python -S: no site, so no venv on sys.path).
SAMPLE = r"""
import importlib, json, os, sys, time, types
spec = json.loads(sys.argv[1])
package, site_packages = spec["package"], spec["site_packages"]
layer = spec["layer"]  # the search engine's layer, as Lambda mounts it on /opt/python
sys.path[:] = [package] + ([layer] if layer else []) + [p for p in sys.path if p] + [site_packages]
started = time.perf_counter()
module, _, name = spec["handler"].rpartition(".")
handler = getattr(importlib.import_module(module), name)
imported = time.perf_counter()
outcome = None
if spec["event"] is not None:
    context = types.SimpleNamespace(function_name="bench", aws_request_id="bench", memory_limit_in_mb=512,
                                    get_remaining_time_in_millis=lambda: 10_000)
    try:
        result = handler(spec["event"], context)
        outcome = str(result["statusCode"]) if isinstance(result, dict) and "statusCode" in result else "ok"
    except Exception as exc:
        outcome = type(exc).__name__
answered = time.perf_counter()
foreign, from_package, compiled = [], 0, 0
for mod in list(sys.modules.values()):
    path = getattr(mod, "__file__", None)
    if not path:
        continue
    if path.startswith(package + os.sep):
        if path.endswith(".py"):  # not an extension module
            from_package += 1
            compiled += os.path.exists(mod.__cached__)
    elif layer and path.startswith(layer + os.sep):
        pass
    elif path.startswith(site_packages + os.sep):
        if mod.__name__.partition(".")[0] not in spec["runtime_provided"]:
            foreign.append(mod.__name__)
    elif not path.startswith(spec["stdlib"]):
        foreign.append(mod.__name__)
print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": (answered - imported) * 1000,
                  "outcome": outcome, "foreign": sorted(foreign), "from_package": from_package,
                  "compiled": compiled}))
"""


@dataclass(frozen=True)
class Target:
    function: str
    handler: str
    event: dict[str, Any] | None
    expected: str | None  # the first invocation's outcome (status code, "ok" or the exception)


def api_event(
    method: str, path: str, authorizer: dict[str, str] | None = None, body: str | None = None
) -> dict[str, Any]:
    """An API Gateway proxy event, as Lambda hands it to the function."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/json", "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "bench",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": authorizer,
        },
        "body": body,
        "isBase64Encoded": False,
    }


# What each packaged handler's first invocation is, and how it must end.
FIRST_REQUESTS: dict[str, tuple[dict[str, Any], str]] = {
    HANDLERS["search"]: (api_event("GET", "/products"), "200"),
    "app.app": (api_event("GET", "/products"), "200"),  # `chalice deploy`'s one API function
    HANDLERS["purchase"]: (api_event("GET", "/orders", SHOPPER), "200"),
    HANDLERS["admin"]: (api_event("POST", "/products", ADMIN, body="{}"), "400"),
    HANDLERS["authorizer"]: (
        {"type": "TOKEN", "authorizationToken": "Bearer not-a-jwt", "methodArn": "arn:aws:execute-api:*"},
        "UnauthorizedError",
    ),
    HANDLERS["indexer"]: (  # a batch the index does not reflect: nothing to publish
        {
            "Records": [
                {
                    "eventID": "bench-1",
                    "eventName": "INSERT",
                    "dynamodb": {"NewImage": {"PK": {"S": "PRODUCT#bench"}, "SK": {"S": "SALES"}}},
                }
            ]
        },
        "ok",
    ),
    HANDLERS["order_events"]: (
        {
            "Records": [
                {
                    "eventID": "bench-1",
                    "eventName": "INSERT",
                    "dynamodb": {"NewImage": {"PK": {"S": "SALES#bench"}, "SK": {"S": "SALES"}}},
                }
            ]
        },
        "ok",
    ),
}


def handlers_of(template: Path) -> dict[str, str]:
    """Function name -> handler, from the stage's template, else the packaged stage's five."""
    if not template.exists():
        return dict(HANDLERS)
    resources = json.loads(template.read_text())["Resources"]
    return {
        name: str(resource["Properties"]["Handler"])
        for name, resource in sorted(resources.items())
        if resource["Type"] == "AWS::Serverless::Function"
    }


def layered_of(template: Path) -> set[str]:
    """The handlers of the functions that carry a layer (the search engine's)."""
    if not template.exists():
        return set(LAYERED)
    resources = json.loads(template.read_text())["Resources"]
    return {
        str(r["Properties"]["Handler"])
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function" and r["Properties"].get("Layers")
    }


def targets(handlers: dict[str, str]) -> list[Target]:
    found = [Target(FLOOR, f"{FLOOR_MODULE}.dynamodb", None, None)]
    for function, handler in handlers.items():
        event, expected = FIRST_REQUESTS.get(handler, (None, None))
        found.append(Target(function, handler, event, expected))
    return found


def variants(zip_path: Path, workdir: Path) -> dict[str, Path]:
    """The bundled zip and the same zip without bytecode, whichever of the two ``zip_path`` is."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        if not any(name.endswith(".pyc") for name in names):
            bundled = workdir / "bundled.zip"
            bundle(zip_path, bundled)
            return {"with .pyc": bundled, "without .pyc": zip_path}
        plain = workdir / "without-pyc.zip"
        with zipfile.ZipFile(plain, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                if "__pycache__/" not in info.filename:
                    out.writestr(info, archive.read(info))
    return {"with .pyc": zip_path, "without .pyc": plain}


def sample(target: Target, package: Path, env: dict[str, str], layer: Path | None = None) -> dict[str, Any]:
    spec = {
        "package": str(package),
        "layer": str(layer) if layer else "",
        "site_packages": sysconfig.get_paths()["purelib"],
        "stdlib": sysconfig.get_paths()["stdlib"],
        "handler": target.handler,
        "event": target.event,
        "runtime_provided": RUNTIME_PROVIDED,
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", SAMPLE, json.dumps(spec)],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"{target.function} failed in {package}:\n{result.stderr}")
    found: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    if found["foreign"]:
        raise SystemExit(f"{target.function} imported modules from outside the package: {found['foreign']}")
    if target.expected and found["outcome"] != target.expected:
        raise SystemExit(f"{target.function}: first invocation gave {found['outcome']}, not {target.expected}")
    return found


def seed_table(url: str) -> None:
    os.environ.update(fake_aws_environment(url))
    create_table(boto3.client("dynamodb"), TABLE)
    load(boto3.resource("dynamodb").Table(TABLE), read_catalog(SEED), show_progress=False)
    bucket = ENVIRONMENT["SEARCH_INDEX_BUCKET"]
    create_search_index_bucket(boto3.client("s3"), bucket)
    rebuild_search_index(TABLE, bucket)


def child_environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_", "AUTH_", "COGNITO_"))}
    return {**env, **fake_aws_environment(url), **ENVIRONMENT}


def add_floor(package: Path, compiled: bool) -> None:
    source = package / f"{FLOOR_MODULE}.py"
    source.write_text(FLOOR_SOURCE)
    if compiled:
        py_compile.compile(
            str(source),
            cfile=cache_from_source(str(source)),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )


def run(
    zip_path: Path, handlers: dict[str, str], runs: int, layer_zip: Path | None = None, layered: set[str] = LAYERED
) -> dict[str, Any]:
    port = free_port()
    server = start_embedded_aws(port)
    url = f"http://127.0.0.1:{port}"
    try:
        seed_table(url)
        env = child_environment(url)
        with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
            zips = variants(zip_path, Path(tmp))
            packages = {}
            for label, path in zips.items():
                packages[label] = Path(tmp) / label.replace(" ", "-").replace(".", "")
                zipfile.ZipFile(path).extractall(packages[label])
                add_floor(packages[label], compiled=label == "with .pyc")
            layer = None
            if layer_zip is not None:
                zipfile.ZipFile(layer_zip).extractall(Path(tmp) / "opt")
                layer = Path(tmp) / "opt" / "python"
            plan = [("with .pyc", t) for t in targets(handlers)]
            plan += [("without .pyc", t) for t in targets(handlers) if t.function != FLOOR]
            samples: dict[tuple[str, str], list[dict[str, Any]]] = {(v, t.function): [] for v, t in plan}
            for _ in range(runs):  # round-robin: every target sees the same load on the machine
                for label, target in plan:
                    with_layer = layer if target.handler in layered else None
                    samples[label, target.function].append(sample(target, packages[label], env, with_layer))
            sizes = {label: path.stat().st_size for label, path in zips.items()}
    finally:
        server.stop()
    return {"samples": samples, "sizes": sizes, "handlers": handlers}


def summarize(measured: dict[str, Any]) -> list[dict[str, Any]]:
    samples = measured["samples"]
    floor = [s["import_ms"] for s in samples["with .pyc", FLOOR]]
    rows = []
    for (label, function), found in samples.items():
        imports = [s["import_ms"] for s in found]
        firsts = [s["first_ms"] for s in found]
        totals = [s["import_ms"] + s["first_ms"] for s in found]
        rows.append(
            {
                "function": function,
                "zip": label,
                "import_min_ms": min(imports),
                "import_median_ms": statistics.median(imports),
                "ratio_min": min(imports) / min(floor),
                "ratio_median": statistics.median(imports) / statistics.median(floor),
                "first_min_ms": min(firsts),
                "first_median_ms": statistics.median(firsts),
                "total_median_ms": statistics.median(totals),
                "outcome": found[0]["outcome"],
                "modules_from_package": found[0]["from_package"],
                "compiled": found[0]["compiled"],
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], sizes: dict[str, int], runs: int) -> None:
    print(f"{runs} fresh interpreters per row; ratio = import / floor import, by min and by median (same run)\n")
    print(
        "| function | zip | import min / median ms | ratio to floor min / median | first invocation min / median ms"
        " | import + first, median ms | Python modules from the package (with .pyc) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        first = (
            "—" if r["outcome"] is None else f"{r['first_min_ms']:.0f} / {r['first_median_ms']:.0f} ({r['outcome']})"
        )
        print(
            f"| {r['function']} | {r['zip']} | {r['import_min_ms']:.0f} / {r['import_median_ms']:.0f}"
            f" | {r['ratio_min']:.2f}x / {r['ratio_median']:.2f}x | {first} | {r['total_median_ms']:.0f}"
            f" | {r['modules_from_package']} ({r['compiled']}) |"
        )
    print()
    for label, size in sizes.items():
        print(f"zip {label}: {size / 1e6:.2f} MB ({size:,} bytes)")
    functions = [r for r in rows if r["zip"] == "with .pyc" and r["function"] != FLOOR]
    worst = max(functions, key=lambda r: r["ratio_median"])
    print(
        f"slowest import with .pyc: {worst['function']}, {worst['ratio_min']:.2f}x the floor by min,"
        f" {worst['ratio_median']:.2f}x by median (target <= 1.2x); zip target <= 10 MB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--zip", type=Path, help="deployment zip (default: build/<stage>/deployment.zip)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "coldstart.json")
    args = parser.parse_args(argv)
    build = ROOT / "build" / args.stage
    zip_path = args.zip or build / "deployment.zip"
    if not zip_path.exists():
        raise SystemExit(f"{zip_path} does not exist: run `make package STAGE={args.stage}` or pass --zip")
    layer_zip = zip_path.parent / "search-layer.zip"
    if not layer_zip.exists():
        raise SystemExit(f"{layer_zip} does not exist: run `make package STAGE={args.stage}`")
    template = build / "template.json"
    measured = run(zip_path, handlers_of(template), args.runs, layer_zip, layered_of(template))
    rows = summarize(measured)
    print_table(rows, measured["sizes"], args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "sizes": measured["sizes"]}, indent=2))


if __name__ == "__main__":
    main()
