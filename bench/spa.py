"""Lighthouse on the SPA: performance and accessibility scores, JavaScript shipped.

Starts the shop as `make run` does (on free ports), runs Lighthouse (npm
`lighthouse`, driving Debian's chromium) on the home page and a search page,
and prints the scores with the JavaScript the page loaded, raw and gzipped
(the local static server does not compress; S3/CloudFront serve it gzipped).

    make bench-spa            # npm ci, then this
    python -m bench.spa --runs 3
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

from infra.template import ROOT
from tests.support.running_shop import CHROMIUM, FLAGS, stack_environment, start_stack

LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = " ".join(["--headless=new", *FLAGS])
PAGES = {"home": "/", "search": "/#/?q=salmon&species=cat"}
TARGETS = {"performance": 95, "accessibility": 95, "js_gzip_kb": 60}


def lighthouse(url: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                "--quiet",
                "--only-categories=performance,accessibility",
                f"--chrome-flags={CHROME_FLAGS}",
                "--output=json",
                f"--output-path={report.name}",
            ],
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            check=True,
            timeout=300,
        )
        return dict(json.loads(Path(report.name).read_text()))


def scripts_loaded(report: dict[str, Any]) -> list[str]:
    requests = report["audits"]["network-requests"]["details"]["items"]
    return sorted({r["url"] for r in requests if r.get("resourceType") == "Script"})


def js_bytes(urls: list[str]) -> tuple[int, int]:
    raw = gz = 0
    for url in urls:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
        raw += len(body)
        gz += len(gzip.compress(body, compresslevel=9))
    return raw, gz


def measure(web: str, runs: int) -> dict[str, dict[str, Any]]:
    results = {}
    for name, path in PAGES.items():
        reports = [lighthouse(web + path) for _ in range(runs)]
        scripts = scripts_loaded(reports[-1])
        raw, gz = js_bytes(scripts)
        audits = reports[-1]["audits"]
        results[name] = {
            "performance": median(round(r["categories"]["performance"]["score"] * 100) for r in reports),
            "accessibility": median(round(r["categories"]["accessibility"]["score"] * 100) for r in reports),
            "fcp_ms": round(median(r["audits"]["first-contentful-paint"]["numericValue"] for r in reports)),
            "lcp_ms": round(median(r["audits"]["largest-contentful-paint"]["numericValue"] for r in reports)),
            "tbt_ms": round(median(r["audits"]["total-blocking-time"]["numericValue"] for r in reports)),
            "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
            "scripts": len(scripts),
            "js_kb": round(raw / 1024, 1),
            "js_gzip_kb": round(gz / 1024, 1),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page (the median is shown)")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is not installed: run `npm ci` (make bench-spa does)")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory() as data_dir:
        shop = start_stack(stack_environment(Path(data_dir)))  # as `make run` starts it, on free ports
        try:
            results = measure(shop.web, args.runs)
        finally:
            shop.stop()
    print(f"\nLighthouse (mobile preset, simulated throttling), median of {args.runs} runs per page")
    columns = ["performance", "accessibility", "fcp_ms", "lcp_ms", "tbt_ms", "cls", "scripts", "js_kb", "js_gzip_kb"]
    print(f"{'page':8}" + "".join(f"{c:>14}" for c in columns))
    for name, r in results.items():
        print(f"{name:8}" + "".join(f"{r[c]:>14}" for c in columns))
    worst = {
        "performance": min(r["performance"] for r in results.values()),
        "accessibility": min(r["accessibility"] for r in results.values()),
        "js_gzip_kb": max(r["js_gzip_kb"] for r in results.values()),
    }
    print(
        f"targets: performance >= {TARGETS['performance']} (worst {worst['performance']}), "
        f"accessibility >= {TARGETS['accessibility']} (worst {worst['accessibility']}), "
        f"JS <= {TARGETS['js_gzip_kb']} KB gzipped (worst {worst['js_gzip_kb']})"
    )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "spa.json").write_text(json.dumps({"runs": args.runs, "pages": results, "worst": worst}, indent=2))


if __name__ == "__main__":
    main()
