"""The photo pipeline on photo-sized uploads, beside a plain Pillow resize measured in the same run.

    python -m bench.images                       # 1600x1200, 3000x2000, 4000x3000; 5 rounds
    python -m bench.images --rounds 9 --sizes 6000x4000

Each upload is a generated JPEG (quality 92, as a phone saves one, with EXIF
and a GPS position), the same bytes on every run: smooth colour fields,
shapes with hard edges and a grain, so it compresses like a photo, not like
a flat test card. For each: ``make_renditions`` whole (checks, decoding,
orientation, sRGB, every width in WebP and JPEG), p50 over the rounds; its
first part alone (``read_upload``: checks, decoding, sRGB); and per width the
resize and each encoding, as the pipeline does them (the largest width from
the decoded upload, the others from the largest). The baseline is what a
resize without the pipeline costs: Pillow opens the upload, converts it to
RGB, resizes it to the largest width and saves one JPEG, no checks, no other
width, no WebP. Peak memory is how far the resident set of a fresh
interpreter rises above where it was during one pass, the upload already in
memory: Pillow's pixels are allocated outside Python's heap, where
tracemalloc cannot see them.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageDraw, features

from chalicelib.photos.renditions import (
    JPEG_QUALITY,
    WEBP_METHOD,
    WEBP_METHOD_WITH_ALPHA,
    WEBP_QUALITY,
    encode_rendition,
    make_renditions,
    read_upload,
    rendition_sizes,
    resized,
)

SIZES = ((1600, 1200), (3000, 2000), (4000, 3000))
ROUNDS = 5
LIBRARIES = (("libjpeg-turbo", "libjpeg_turbo"), ("libwebp", "webp"), ("lcms", "littlecms2"))


def generated_photo(width: int, height: int, seed: int = 7) -> bytes:
    """A JPEG as a phone would upload it; the same bytes for the same arguments."""
    rng = random.Random(seed)
    fields = (width // 24 + 2, height // 24 + 2)
    colour = Image.frombytes("RGB", fields, rng.randbytes(fields[0] * fields[1] * 3))
    light = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image = Image.blend(colour.resize((width, height), Image.Resampling.BICUBIC), light, 0.35)
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(width // 20, width // 5)
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x - r, y - r // 2, x + r, y + r // 2), fill=fill)
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    image = Image.blend(image, grain, 0.04)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (48.0, 51.0, 29.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def plain_resize(data: bytes) -> bytes:
    """The baseline: decode, resize to the largest width, one JPEG; nothing checked, nothing else made."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width = rendition_sizes(*image.size)[-1][0]
    out = io.BytesIO()
    image.resize((width, round(width * image.height / image.width)), Image.Resampling.LANCZOS).save(
        out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True
    )
    return out.getvalue()


def p50_ms(run: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def per_width(data: bytes, rounds: int) -> list[dict[str, Any]]:
    """Each width's resize and encodings, as make_renditions does them."""
    upload = read_upload(data)
    sizes = rendition_sizes(upload.width, upload.height)
    largest = resized(upload.pixels, sizes[-1])
    rows = []
    for size in reversed(sizes):
        source = upload.pixels if size == sizes[-1] else largest
        image = resized(source, size)
        rows.append(
            {
                "width": size[0],
                "resize_ms": p50_ms(partial(resized, source, size), rounds),
                "webp_ms": p50_ms(partial(encode_rendition, image, "webp"), rounds),
                "jpeg_ms": p50_ms(partial(encode_rendition, image, "jpeg"), rounds),
                "webp_bytes": len(encode_rendition(image, "webp")),
                "jpeg_bytes": len(encode_rendition(image, "jpeg")),
            }
        )
    return rows


def webp_methods(data: bytes, rounds: int) -> list[tuple[str, int, float, int]]:
    """(image, method, p50 ms, bytes) of the largest rendition at each of libwebp's usual efforts,
    opaque and with a cut-out's alpha (the product on a transparent background)."""
    upload = read_upload(data)
    opaque = resized(upload.pixels, rendition_sizes(upload.width, upload.height)[-1])
    cut_out = opaque.copy()
    mask = Image.new("L", opaque.size, 0)
    ImageDraw.Draw(mask).ellipse(
        (opaque.width // 6, opaque.height // 8, opaque.width * 5 // 6, opaque.height * 7 // 8), 255
    )
    cut_out.putalpha(mask)

    def save(image: Image.Image, method: int) -> int:
        out = io.BytesIO()
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=method)
        return len(out.getvalue())

    return [
        (name, method, p50_ms(partial(save, image, method), rounds), save(image, method))
        for name, image in (("opaque", opaque), ("with alpha", cut_out))
        for method in (4, 5, 6)
    ]


def peak_mb(kind: str, data: bytes) -> float:
    """The growth of a fresh interpreter's peak resident set over one pass of ``kind``."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as upload:
        upload.write(data)
        upload.flush()
        result = subprocess.run(
            [sys.executable, "-m", "bench.images", "--peak", kind, upload.name],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    return float(json.loads(result.stdout)["peak_mb"])


def one_pass(kind: str, path: str) -> None:
    """In the fresh interpreter: the peak resident set added by one pass, in MB.

    Linux's peak (VmHWM) is reset first, so memory that the imports took and
    gave back does not hide the pass's own peak; elsewhere, maxrss's growth.
    """
    data = Path(path).read_bytes()
    plain_resize(generated_photo(64, 48))  # the codecs loaded before the first reading
    make_renditions(generated_photo(64, 48))
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before, peak = _status_kib("VmRSS"), lambda: _status_kib("VmHWM")
    except OSError:
        before, peak = _maxrss_kib(), _maxrss_kib
    (make_renditions if kind == "pipeline" else plain_resize)(data)
    print(json.dumps({"peak_mb": (peak() - before) / 1024}))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def kb(size: float) -> str:
    return f"{size / 1024:,.1f} KB" if size < 100 * 1024 else f"{size / 1024:,.0f} KB"


def measure(width: int, height: int, rounds: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = generated_photo(width, height)
    made = make_renditions(data)
    whole = {
        "size": f"{width}x{height}",
        "upload": len(data),
        "pipeline_ms": p50_ms(lambda: make_renditions(data), rounds),
        "read_ms": p50_ms(lambda: read_upload(data), rounds),
        "plain_ms": p50_ms(lambda: plain_resize(data), rounds),
        "pipeline_mb": peak_mb("pipeline", data),
        "plain_mb": peak_mb("plain", data),
        "renditions": sum(len(r.body) for r in made.renditions),
        "plain_jpeg": len(plain_resize(data)),
    }
    return whole, per_width(data, rounds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--sizes", nargs="+", default=[f"{w}x{h}" for w, h in SIZES], metavar="WxH")
    parser.add_argument("--peak", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak:
        one_pass(*args.peak)
        return
    libraries = ", ".join(f"{name} {features.version(f)}" for name, f in LIBRARIES)
    print(
        f"Pillow {Image.__version__} ({libraries}); JPEG q{JPEG_QUALITY} progressive optimized, "
        f"WebP q{WEBP_QUALITY} method {WEBP_METHOD} ({WEBP_METHOD_WITH_ALPHA} with alpha); p50 of {args.rounds} rounds"
    )
    sizes = [tuple(int(n) for n in s.split("x")) for s in args.sizes]
    results = [measure(w, h, args.rounds) for w, h in sizes]
    print()
    print(
        "| upload | bytes | pipeline (8 renditions) | of which read (checks, decode, sRGB) | plain resize (1 JPEG) "
        "| ratio | peak RSS pipeline | peak RSS plain | all renditions / upload |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for whole, _ in results:
        print(
            f"| {whole['size']} | {kb(whole['upload'])} | {whole['pipeline_ms']:.0f} ms | {whole['read_ms']:.0f} ms "
            f"| {whole['plain_ms']:.0f} ms | {whole['pipeline_ms'] / whole['plain_ms']:.2f}x "
            f"| {whole['pipeline_mb']:.0f} MB | {whole['plain_mb']:.0f} MB "
            f"| {kb(whole['renditions'])} ({whole['renditions'] / whole['upload']:.1%}) |"
        )
    print()
    print("| upload | width | resize | WebP encode | JPEG encode | WebP | JPEG | WebP / JPEG | JPEG / upload |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for whole, rows in results:
        for row in rows:
            print(
                f"| {whole['size']} | {row['width']} | {row['resize_ms']:.1f} ms | {row['webp_ms']:.1f} ms "
                f"| {row['jpeg_ms']:.1f} ms | {kb(row['webp_bytes'])} | {kb(row['jpeg_bytes'])} "
                f"| {row['webp_bytes'] / row['jpeg_bytes']:.0%} | {row['jpeg_bytes'] / whole['upload']:.1%} |"
            )
    print()
    for whole, _ in results:
        print(f"{whole['size']}: the plain resize's one 1280 JPEG is {kb(whole['plain_jpeg'])}")
    print()
    print(f"WebP's method (effort) at quality {WEBP_QUALITY}, the largest width of {sizes[0][0]}x{sizes[0][1]}:")
    for name, method, ms, size in webp_methods(generated_photo(*sizes[0]), args.rounds):
        chosen = method == (WEBP_METHOD if name == "opaque" else WEBP_METHOD_WITH_ALPHA)
        print(f"  {name}, method {method}: {ms:.0f} ms, {kb(size)}" + ("  <- the pipeline's" if chosen else ""))


if __name__ == "__main__":
    main()
