"""Lighthouse on the SPA, with product photos: scores, LCP and what it is made of, JavaScript shipped.

Starts the shop as `make run` does (on free ports, making the seeded
products' photos in the background), waits until the products the measured
pages show have their photos ready (and the stack has made them all, so no
photo is being drawn while Lighthouse measures), runs Lighthouse (npm
`lighthouse`, driving Debian's chromium, mobile preset) on the home page and a
search page, and prints the scores with the JavaScript the page loaded, raw
and gzipped (the local servers compress as CloudFront does, over HTTP/1.1
keep-alive; CloudFront also speaks HTTP/2 and Brotli), then, per page, the LCP element, the LCP phases and the longest
request chain. The median run's full report is kept in
bench/results/spa-<page>.lighthouse.json.

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
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

from infra.template import ROOT
from tests.support.running_shop import CHROMIUM, FLAGS, RunningStack, stack_environment, start_stack

LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = " ".join(["--headless=new", *FLAGS])
PAGES = {"home": "/", "search": "/#/?q=salmon&species=cat"}
# What each page asks the API for its products, as frontend/js/catalog.js does
# (showCatalog: /products with the URL's query and limit=PAGE; the home page
# also showBestSellers), and so whose photos must be ready before measuring.
PAGE_SIZE = 24
BEST_SELLERS = 8
TARGETS = {"performance": 100, "accessibility": 100, "cls": 0, "lcp_ms": 1200, "js_gzip_kb": 60}
PHOTOS_TIMEOUT_S = 600
POLL_S = 2.0
PROGRESS_S = 10.0
# localdev/local_stack.py PhotoSeeding: "photos: making N ..." at the start, "photos: M/N made in S s" at the end.
SEEDING_STARTED = "photos: making"
SEEDING_DONE = " made in "


# -- waiting for the photos ---------------------------------------------------------------------
def api_requests(page_path: str) -> list[tuple[str, dict[str, Any]]]:
    """The API reads the SPA makes for its first products on ``page_path`` (a PAGES value)."""
    query = dict(urllib.parse.parse_qsl(page_path.partition("?")[2]))
    reads: list[tuple[str, dict[str, Any]]] = [("/products", {"limit": PAGE_SIZE, **query})]
    if not query:  # the front page: also its best sellers
        reads.append(("/products/best-sellers", {"limit": BEST_SELLERS}))
    return reads


def get_json(url: str) -> Any | None:
    """The JSON answer, or None for a 404 (a route this API does not have)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def has_ready_photo(product: dict[str, Any]) -> bool:
    """As frontend/js/photos.js readyPhotos: a photo "ready" with its src (chalicelib/photos/photo.py)."""
    return any(p.get("state") == "ready" and p.get("src") for p in product.get("photos") or [])


def photo_readiness(api: str) -> dict[str, tuple[int, list[str]]]:
    """Per page: how many products its API reads return, and the names of those without a ready photo."""
    found: dict[str, tuple[int, list[str]]] = {}
    for name, path in PAGES.items():
        shown: dict[str, dict[str, Any]] = {}
        for route, params in api_requests(path):
            answer = get_json(f"{api}{route}?{urllib.parse.urlencode(params)}")
            for product in (answer or {}).get("items", []):
                shown[product["id"]] = product
        found[name] = (len(shown), [p["name"] for p in shown.values() if not has_ready_photo(p)])
    return found


def stack_said(shop: RunningStack, text: str) -> str | None:
    return next((line.strip() for line in reversed(shop.output) if text in line), None)


def wait_for_photos(shop: RunningStack, timeout_s: float = PHOTOS_TIMEOUT_S) -> None:
    """Until every product of the measured pages has a ready photo and the stack has made every
    photo (no JPEG drawn while Lighthouse measures); or the stack is done with some still
    without one (a warning: those pages are measured with icons). Progress every PROGRESS_S."""
    started = time.monotonic()
    last_shown = -PROGRESS_S
    while True:
        readiness = photo_readiness(shop.api)
        pages_ready = all(total and not missing for total, missing in readiness.values())
        done = stack_said(shop, SEEDING_DONE)
        seeding = stack_said(shop, "photos:")
        elapsed = time.monotonic() - started
        if done or (pages_ready and not stack_said(shop, SEEDING_STARTED)):
            break
        if shop.process.poll() is not None:
            raise SystemExit("the stack stopped while making photos:\n" + "".join(shop.output[-40:]))
        if elapsed > timeout_s:
            pending = "; ".join(f"{n}: {len(m)} of {t} lack ({', '.join(m[:5])})" for n, (t, m) in readiness.items())
            raise SystemExit(f"photos not ready after {timeout_s:.0f} s: {pending}; stack: {seeding or '-'}")
        if elapsed - last_shown >= PROGRESS_S:
            pages = ", ".join(f"{n} {t - len(m)}/{t} ready" for n, (t, m) in readiness.items())
            print(f"waiting for photos ({elapsed:.0f} s): {pages}; stack: {seeding or '-'}", flush=True)
            last_shown = elapsed
        time.sleep(POLL_S)
    pages = ", ".join(f"{n} {t - len(m)}/{t}" for n, (t, m) in readiness.items())
    took = time.monotonic() - started
    print(f"photos ready after {took:.0f} s: {pages}; stack: {done or seeding or '-'}", flush=True)
    for name, (total, missing) in readiness.items():
        if not total:
            print(f"WARNING: the {name} page's API reads found no products")
        elif missing:
            print(f"WARNING: {name}: {len(missing)} of {total} products have no ready photo: {', '.join(missing[:8])}")


# -- Lighthouse ---------------------------------------------------------------------------------
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


def lcp_element(report: dict[str, Any]) -> dict[str, str]:
    """The LCP element's selector, label and snippet (audit largest-contentful-paint-element)."""
    details = report["audits"].get("largest-contentful-paint-element", {}).get("details") or {}
    for table in details.get("items", []):
        for item in table.get("items", []):
            node = item.get("node")
            if node:
                return {k: str(node.get(k, "")) for k in ("selector", "nodeLabel", "snippet")}
    return {"selector": "?", "nodeLabel": "", "snippet": "(no LCP element reported)"}


def lcp_phases(report: dict[str, Any]) -> dict[str, int]:
    """TTFB, load delay, load time, render delay (ms, scaled to the simulated LCP), from
    largest-contentful-paint-element's phase table, else lcp-breakdown-insight (observed)."""
    details = report["audits"].get("largest-contentful-paint-element", {}).get("details") or {}
    for table in details.get("items", []):
        rows = table.get("items", [])
        if rows and "phase" in rows[0]:
            return {row["phase"]: round(row["timing"]) for row in rows}
    details = report["audits"].get("lcp-breakdown-insight", {}).get("details") or {}
    for table in details.get("items", []):
        rows = table.get("items", [])
        if rows and "subpart" in rows[0]:
            return {row["label"] + " (observed)": round(row["duration"]) for row in rows}
    return {}


def layout_shifts(report: dict[str, Any]) -> list[tuple[str, float]]:
    """The elements that shifted, with their share of CLS (audit layout-shifts), largest first."""
    items = (report["audits"].get("layout-shifts", {}).get("details") or {}).get("items", [])
    shifted = [(item.get("node", {}).get("selector", "?"), round(item.get("score", 0), 3)) for item in items]
    return sorted(shifted, key=lambda s: -s[1])


def longest_path(chains: dict[str, Any]) -> list[dict[str, Any]]:
    """The deepest path of a request tree ({id: {url, children, ...}}), root first."""
    best: list[dict[str, Any]] = []
    for node in chains.values():
        path = [node, *longest_path(node.get("children") or {})]
        if len(path) > len(best) or (len(path) == len(best) and node.get("isLongest")):
            best = path
    return best


def request_chain(report: dict[str, Any]) -> dict[str, Any]:
    """The longest critical request chain: depth (requests), duration (ms), its URLs (network-dependency-tree-insight,
    else critical-request-chains)."""
    audits = report["audits"]
    for audit_id in ("network-dependency-tree-insight", "critical-request-chains"):
        details = audits.get(audit_id, {}).get("details") or {}
        sections = details.get("items", []) if details.get("type") == "list" else [details]
        for item in sections:
            section = item.get("value", item) if item.get("type") == "list-section" else item
            if "chains" not in section:
                continue
            path = longest_path(section["chains"])
            urls = [node.get("url") or node.get("request", {}).get("url", "?") for node in path]
            return {
                "audit": audit_id,
                "depth": len(path),
                "duration_ms": round(section.get("longestChain", {}).get("duration", 0)),
                "urls": urls,
            }
    return {"audit": None, "depth": 0, "duration_ms": 0, "urls": []}


def short(url: str, web: str) -> str:
    return url.removeprefix(web) or "/"


def measure(web: str, runs: int, out: Path) -> dict[str, dict[str, Any]]:
    results = {}
    for name, path in PAGES.items():
        reports = [lighthouse(web + path) for _ in range(runs)]
        lcps = [r["audits"]["largest-contentful-paint"]["numericValue"] for r in reports]
        typical = reports[sorted(range(runs), key=lambda i: lcps[i])[(runs - 1) // 2]]  # the median-LCP run
        (out / f"spa-{name}.lighthouse.json").write_text(json.dumps(typical))
        scripts = scripts_loaded(typical)
        raw, gz = js_bytes(scripts)
        results[name] = {
            "performance": median(round(r["categories"]["performance"]["score"] * 100) for r in reports),
            "accessibility": median(round(r["categories"]["accessibility"]["score"] * 100) for r in reports),
            "fcp_ms": round(median(r["audits"]["first-contentful-paint"]["numericValue"] for r in reports)),
            "lcp_ms": round(median(lcps)),
            "tbt_ms": round(median(r["audits"]["total-blocking-time"]["numericValue"] for r in reports)),
            "cls": round(median(r["audits"]["cumulative-layout-shift"]["numericValue"] for r in reports), 3),
            "scripts": len(scripts),
            "js_kb": round(raw / 1024, 1),
            "js_gzip_kb": round(gz / 1024, 1),
            "lcp_element": lcp_element(typical),
            "lcp_phases_ms": lcp_phases(typical),
            "request_chain": request_chain(typical),
            "layout_shifts": layout_shifts(typical),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page (the median is shown)")
    parser.add_argument("--photos-timeout", type=float, default=PHOTOS_TIMEOUT_S, help="seconds to wait for the photos")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is not installed: run `npm ci` (make bench-spa does)")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as data_dir:
        # as `make run` starts it, on free ports, making the seeded products' photos
        shop = start_stack(stack_environment(Path(data_dir), photos=True))
        try:
            wait_for_photos(shop, args.photos_timeout)
            results = measure(shop.web, args.runs, out)
        finally:
            shop.stop()
    print(f"\nLighthouse (mobile preset, simulated throttling), median of {args.runs} runs per page, with photos")
    columns = ["performance", "accessibility", "fcp_ms", "lcp_ms", "tbt_ms", "cls", "scripts", "js_kb", "js_gzip_kb"]
    print(f"{'page':8}" + "".join(f"{c:>14}" for c in columns))
    for name, r in results.items():
        print(f"{name:8}" + "".join(f"{r[c]:>14}" for c in columns))
    for name, r in results.items():
        element, chain = r["lcp_element"], r["request_chain"]
        print(f"\n{name}: LCP element {element['selector']} ({element['nodeLabel'][:60]})")
        print(f"  {element['snippet'][:300]}")
        shifts = ", ".join(f"{selector} {score}" for selector, score in r["layout_shifts"][:3])
        print(f"  CLS of the median-LCP run, by element: {shifts or 'none'}")
        print("  LCP phases (median-LCP run): " + ", ".join(f"{k} {v} ms" for k, v in r["lcp_phases_ms"].items()))
        print(
            f"  longest chain ({chain['audit']}): depth {chain['depth']}, {chain['duration_ms']} ms unthrottled: "
            + " → ".join(short(u, shop.web) for u in chain["urls"])
        )
    worst = {
        "performance": min(r["performance"] for r in results.values()),
        "accessibility": min(r["accessibility"] for r in results.values()),
        "cls": max(r["cls"] for r in results.values()),
        "lcp_ms": max(r["lcp_ms"] for r in results.values()),
        "js_gzip_kb": max(r["js_gzip_kb"] for r in results.values()),
    }
    print(
        f"\ntargets: performance >= {TARGETS['performance']} (worst {worst['performance']}), "
        f"accessibility >= {TARGETS['accessibility']} (worst {worst['accessibility']}), "
        f"CLS <= {TARGETS['cls']} (worst {worst['cls']}), "
        f"LCP <= {TARGETS['lcp_ms']} ms (worst {worst['lcp_ms']}), "
        f"JS <= {TARGETS['js_gzip_kb']} KB gzipped (worst {worst['js_gzip_kb']})"
    )
    at_least = ("performance", "accessibility")
    missed = [k for k, v in worst.items() if (v < TARGETS[k] if k in at_least else v > TARGETS[k])]
    print("targets met" if not missed else f"targets missed: {', '.join(missed)}")
    (out / "spa.json").write_text(json.dumps({"runs": args.runs, "pages": results, "worst": worst}, indent=2))


if __name__ == "__main__":
    main()
