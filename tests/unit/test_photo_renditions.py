"""The photo pipeline, in memory: what it makes of an upload, and what it refuses.

Every upload is built here with Pillow (or byte by byte, where Pillow would
not write the file an attacker would). The ICC profiles are written byte by
byte too (Pillow's ImageCms only creates sRGB, LAB and XYZ profiles): a
linear-light RGB with sRGB's primaries and an Adobe RGB (1998), both
matrix/TRC profiles as cameras and editors embed them; what a pixel must
become in sRGB is computed here from the primaries, not asked of lcms.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable, Iterator
from functools import cache

import pytest
from PIL import ExifTags, Image
from pydantic import ValidationError

from chalicelib.photos.photo import (
    MAX_ALT,
    Photo,
    PhotoState,
    content_id,
    rendition_keys,
    renditions_prefix,
)
from chalicelib.photos.renditions import (
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    WIDTHS,
    PhotoRefused,
    PhotoSet,
    encode_rendition,
    make_renditions,
    read_upload,
)

# -- uploads -------------------------------------------------------------------


def photo_like(width: int, height: int, seed: int = 1) -> Image.Image:
    """Gradients under grain: it compresses like a photo, and the same seed gives the same pixels."""
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    grain = Image.frombytes("L", (width, height), hashlib.shake_256(str(seed).encode()).digest(width * height))
    blue = Image.blend(red.rotate(90).resize((width, height)), grain, 0.1)
    return Image.merge("RGB", (Image.blend(red, grain, 0.05), green, blue))


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: where each ends up shows how the photo was turned."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    return image


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    return exif


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description creator="Someone"/></rdf:RDF></x:xmpmeta>'


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@cache
def bomb_png(width: int, height: int) -> bytes:
    """A real 1-bit PNG of width x height black pixels: a few kilobytes on disk."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the row's bits
    rows_per_call = max(1, 4_000_000 // len(row))
    body = b"".join(packer.compress(row * min(rows_per_call, height - y)) for y in range(0, height, rows_per_call))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", body + packer.flush())
        + png_chunk(b"IEND", b"")
    )


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue", "green")]
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)


def idat_crc_broken(data: bytes) -> bytes:
    """The PNG with its pixel chunk's checksum changed, the pixels themselves intact."""
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    crc_at = start + 8 + length
    return data[:crc_at] + bytes(b ^ 0xFF for b in data[crc_at : crc_at + 4]) + data[crc_at + 4 :]


# -- ICC profiles, byte by byte ------------------------------------------------

D50 = (0.9642, 1.0, 0.8249)
# Colorants (the primaries' XYZ, adapted to D50), as the profiles of these spaces record them.
SRGB_COLORANTS = (
    (0.4360747, 0.2225045, 0.0139322),
    (0.3850649, 0.7168786, 0.0971045),
    (0.1430804, 0.0606169, 0.7141733),
)
ADOBE_COLORANTS = (
    (0.6097559, 0.3111242, 0.0194811),
    (0.2052401, 0.6256560, 0.0608902),
    (0.1492240, 0.0632197, 0.7448387),
)
ADOBE_GAMMA = 563 / 256  # 2.19921875, as Adobe RGB (1998) writes it


def icc_rgb_profile(colorants: tuple[tuple[float, ...], ...], gamma: float, name: str) -> bytes:
    """An ICC v2 display profile: RGB, matrix and one gamma curve per channel."""

    def xyz(values: tuple[float, ...]) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    ascii_name = name.encode() + b"\x00"
    desc = b"desc\x00\x00\x00\x00" + struct.pack(">I", len(ascii_name)) + ascii_name + b"\x00" * (4 + 4 + 2 + 1 + 67)
    curve = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"
    tags = [(b"desc", desc), (b"wtpt", xyz(D50)), (b"cprt", b"text\x00\x00\x00\x00none\x00")]
    tags += [(kind, xyz(c)) for kind, c in zip((b"rXYZ", b"gXYZ", b"bXYZ"), colorants, strict=True)]
    tags += [(kind, curve) for kind in (b"rTRC", b"gTRC", b"bTRC")]
    table, body, offset = b"", b"", 128 + 4 + 12 * len(tags)
    for kind, data in tags:
        padded = data + b"\x00" * (-len(data) % 4)
        table += kind + struct.pack(">II", offset + len(body), len(data))
        body += padded
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"none"
        + bytes((2, 0x10, 0, 0))
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\x00" * 24
        + struct.pack(">I", 0)  # perceptual
        + b"".join(struct.pack(">i", round(v * 65536)) for v in D50)
        + b"\x00" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def expected_in_srgb(
    pixel: tuple[int, int, int], colorants: tuple[tuple[float, ...], ...], gamma: float
) -> list[float]:
    """What an RGB pixel of the profile's space is in sRGB, by the book: linear light, to XYZ, to sRGB."""
    linear = [(v / 255) ** gamma for v in pixel]
    xyz = [sum(colorants[c][axis] * linear[c] for c in range(3)) for axis in range(3)]
    srgb_linear = solve(SRGB_COLORANTS, xyz)
    return [255 * encode_srgb(min(1.0, max(0.0, v))) for v in srgb_linear]


def solve(colorants: tuple[tuple[float, ...], ...], xyz: list[float]) -> list[float]:
    """The linear RGB whose colorants add up to xyz (Cramer's rule on the 3x3 matrix)."""
    m = [[colorants[c][axis] for c in range(3)] for axis in range(3)]

    def det(a: list[list[float]]) -> float:
        return (
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        )

    whole = det(m)
    return [det([[xyz[r] if col == c else m[r][col] for col in range(3)] for r in range(3)]) / whole for c in range(3)]


def encode_srgb(v: float) -> float:
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


# -- what comes out ------------------------------------------------------------


def opened(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def colour_at(body: bytes, x: int, y: int) -> tuple[int, ...]:
    """The channels of one pixel of an encoded rendition."""
    value = opened(body).getpixel((x, y))
    assert isinstance(value, tuple)
    return value


def riff_chunks(body: bytes) -> list[bytes]:
    assert body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    kinds, at = [], 12
    while at < len(body):
        kind, size = body[at : at + 4], struct.unpack("<I", body[at + 4 : at + 8])[0]
        kinds.append(kind)
        at += 8 + size + size % 2
    return kinds


def jpeg_segments(body: bytes) -> Iterator[tuple[int, bytes]]:
    """The marker and payload of each segment before the first scan."""
    at = 2
    while body[at] == 0xFF and body[at + 1] != 0xDA:
        marker, (length,) = body[at + 1], struct.unpack(">H", body[at + 2 : at + 4])
        yield marker, body[at + 4 : at + 2 + length]
        at += 2 + length


def assert_bare(body: bytes, fmt: str) -> None:
    """Nothing but pixels: no EXIF (so no GPS), no XMP, no ICC profile, no comment."""
    image = opened(body)
    assert len(image.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "comment", "XML:com.adobe.xmp", "dpi"} & set(image.info)
    if fmt == "webp":
        assert set(riff_chunks(body)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
    else:
        markers = {marker for marker, _ in jpeg_segments(body)}
        assert markers <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD}  # JFIF, tables, frame: no APPn but APP0, no COM


# -- what it makes -------------------------------------------------------------


def test_a_photo_tagged_as_turned_comes_out_upright() -> None:
    # GIVEN a 400x200 JPEG (left red, right blue) that its EXIF says to turn a quarter clockwise
    upload = encoded(halves(400, 200), "JPEG", exif=gps_exif(orientation=6), quality=95)
    # WHEN its renditions are made
    made = make_renditions(upload)
    # THEN the photo is 200 wide and 400 high, and what was on the left is now on top
    assert (made.width, made.height) == (200, 400)
    for rendition in made.renditions:
        assert opened(rendition.body).size == (160, 320)
        top, bottom = colour_at(rendition.body, 80, 40), colour_at(rendition.body, 80, 280)
        assert top[0] > 200 and top[2] < 60, top
        assert bottom[2] > 200 and bottom[0] < 60, bottom


@pytest.mark.parametrize("with_profile", [True, False], ids=["with-icc", "without-icc"])
def test_no_rendition_keeps_the_uploads_metadata(with_profile: bool) -> None:
    # GIVEN a JPEG with EXIF (a GPS position, a camera maker), XMP, a comment and maybe an ICC profile,
    # as wide as its widest rendition (so one rendition is not resized)
    profile = {"icc_profile": icc_rgb_profile(SRGB_COLORANTS, 2.2, "Display")} if with_profile else {}
    upload = encoded(photo_like(320, 240), "JPEG", exif=gps_exif(), xmp=XMP, comment=b"Taken at home", **profile)
    source = Image.open(io.BytesIO(upload))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo) and "xmp" in source.info and "comment" in source.info
    # WHEN its renditions are made THEN none of them holds any of it, not even in its bytes
    for rendition in make_renditions(upload).renditions:
        assert_bare(rendition.body, rendition.format)
        for trace in (b"Exif\x00\x00", b"PhoneMaker", b"ICC_PROFILE", b"adobe:ns:meta", b"Taken at home", b"Display"):
            assert trace not in rendition.body
    # AND the decoded upload the renditions are made from holds its pixels alone
    assert read_upload(upload).pixels.info == {}


def test_an_encoding_writes_no_metadata_whatever_the_image_carries() -> None:
    image = photo_like(200, 150)
    image.info.update(comment=b"Taken at home", exif=gps_exif().tobytes(), icc_profile=b"not used")
    for fmt in ("webp", "jpeg"):
        body = encode_rendition(image, fmt)
        assert_bare(body, fmt)
        assert b"Taken at home" not in body
    assert image.info["comment"] == b"Taken at home"  # the caller's image is left as it was


@pytest.mark.parametrize(
    ("size", "widths"),
    [
        ((1300, 975), WIDTHS),
        ((1280, 300), (160, 320, 640, 1280)),
        ((700, 500), (160, 320, 640)),
        ((640, 640), (160, 320, 640)),
        ((161, 100), (160,)),
        ((100, 80), (100,)),
        ((40, 300), (40,)),
    ],
)
def test_each_width_up_to_the_photos_own_in_webp_and_jpeg_never_enlarged(
    size: tuple[int, int], widths: tuple[int, ...]
) -> None:
    # GIVEN a photo of this size WHEN its renditions are made
    made = make_renditions(encoded(photo_like(*size), "PNG"))
    # THEN there is a WebP and a JPEG at each width, narrowest first, of the photo's proportions
    assert [(r.width, r.format) for r in made.renditions] == [(w, f) for w in widths for f in ("webp", "jpeg")]
    assert (made.width, made.height) == size
    for rendition in made.renditions:
        image = opened(rendition.body)
        assert image.format == rendition.format.upper()
        assert image.size == (rendition.width, rendition.height)
        assert rendition.width <= size[0]
        assert abs(rendition.height - rendition.width * size[1] / size[0]) <= 1
        assert rendition.content_type == f"image/{rendition.format}"


def test_transparency_is_kept_in_webp_and_white_in_jpeg() -> None:
    # GIVEN a PNG whose top half is transparent and bottom half opaque green
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    image.paste((0, 160, 0, 255), (0, 150, 400, 300))
    made = make_renditions(encoded(image, "PNG"))
    webp, jpeg = (r.body for r in made.renditions[-2:])
    # THEN the WebP keeps its alpha, the JPEG shows white where the photo is transparent
    assert opened(webp).mode == "RGBA"
    assert colour_at(webp, 160, 20)[3] == 0
    assert colour_at(webp, 160, 220)[3] == 255
    assert opened(jpeg).mode == "RGB"
    assert all(channel > 245 for channel in colour_at(jpeg, 160, 20))
    green = colour_at(jpeg, 160, 220)
    assert green[1] > 140 and green[0] < 30 and green[2] < 30


def test_an_opaque_image_with_an_alpha_channel_is_encoded_without_one() -> None:
    opaque = photo_like(400, 300).convert("RGBA")
    webp = opened(make_renditions(encoded(opaque, "PNG")).renditions[0].body)
    assert webp.mode == "RGB"


@pytest.mark.parametrize(
    ("image", "fmt"),
    [
        (photo_like(400, 300), "WEBP"),
        (photo_like(400, 300).convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        (photo_like(400, 300).convert("L"), "JPEG"),
        (photo_like(400, 300).convert("LA"), "PNG"),
        (Image.new("I;16", (400, 300), 40000), "PNG"),
        (photo_like(400, 300).convert("1"), "PNG"),
    ],
    ids=["webp", "palette-png", "grey-jpeg", "grey-alpha-png", "16-bit-grey-png", "1-bit-png"],
)
def test_every_accepted_kind_of_upload_becomes_rgb_renditions(image: Image.Image, fmt: str) -> None:
    made = make_renditions(encoded(image, fmt))
    assert made.source_format == fmt
    assert len(made.renditions) == 4
    assert {opened(r.body).mode for r in made.renditions if r.format == "jpeg"} == {"RGB"}


def test_sixteen_bit_grey_is_scaled_to_eight_bits_not_clipped() -> None:
    # GIVEN a 16-bit grey PNG at 40000 of 65535 (61%) WHEN made THEN its grey is about 155 of 255, not white
    made = make_renditions(encoded(Image.new("I;16", (300, 200), 40000), "PNG"))
    pixel = colour_at(made.renditions[1].body, 80, 50)
    assert all(abs(v - 155) <= 2 for v in pixel), pixel


def test_a_cmyk_jpeg_comes_out_in_rgb_with_its_colours() -> None:
    # GIVEN a CMYK JPEG, all magenta and yellow (red) WHEN made THEN the renditions are RGB and red
    upload = encoded(Image.new("CMYK", (400, 300), (0, 255, 255, 0)), "JPEG")
    for rendition in make_renditions(upload).renditions:
        image = opened(rendition.body)
        assert image.mode == "RGB"
        red = colour_at(rendition.body, 50, 50)
        assert red[0] > 240 and red[1] < 20 and red[2] < 20, red


@pytest.mark.parametrize(
    ("colorants", "gamma", "name"),
    [(SRGB_COLORANTS, 1.0, "linear RGB"), (ADOBE_COLORANTS, ADOBE_GAMMA, "Adobe RGB (1998)")],
)
@pytest.mark.parametrize("pixel", [(200, 30, 30), (40, 180, 60), (230, 200, 40)])
def test_colours_are_converted_to_srgb_from_the_embedded_profile(
    colorants: tuple[tuple[float, ...], ...], gamma: float, name: str, pixel: tuple[int, int, int]
) -> None:
    # GIVEN a flat JPEG of one colour in a space that is not sRGB, its profile embedded
    upload = encoded(Image.new("RGB", (200, 150), pixel), "JPEG", icc_profile=icc_rgb_profile(colorants, gamma, name))
    # WHEN made THEN each rendition holds the same colour in sRGB (the JPEG's own rounding aside)
    want = expected_in_srgb(pixel, colorants, gamma)
    assert max(abs(w - p) for w, p in zip(want, pixel, strict=True)) > 8  # the conversion shows
    for rendition in make_renditions(upload).renditions:
        got = colour_at(rendition.body, 100, 100)
        assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 4, (rendition.format, got, want)


def test_a_transparent_png_with_a_profile_keeps_its_alpha_and_converts_its_colours() -> None:
    # GIVEN a PNG in Adobe RGB, its left half transparent
    image = Image.new("RGBA", (200, 150), (40, 180, 60, 255))
    image.paste((0, 0, 0, 0), (0, 0, 100, 150))
    upload = encoded(image, "PNG", icc_profile=icc_rgb_profile(ADOBE_COLORANTS, ADOBE_GAMMA, "Adobe RGB (1998)"))
    webp = make_renditions(upload).renditions[0].body
    # THEN the WebP is transparent on the left, and on the right the colour in sRGB
    assert colour_at(webp, 20, 60)[3] == 0
    want = expected_in_srgb((40, 180, 60), ADOBE_COLORANTS, ADOBE_GAMMA)
    got = colour_at(webp, 140, 60)
    assert got[3] == 255 and max(abs(g - w) for g, w in zip(got[:3], want, strict=True)) <= 4, (got, want)


def test_a_profile_that_does_not_fit_the_pixels_is_ignored_as_browsers_do() -> None:
    # GIVEN a grey JPEG carrying an RGB profile WHEN made THEN it is made, its grey kept
    upload = encoded(Image.new("L", (200, 200), 100), "JPEG", icc_profile=icc_rgb_profile(ADOBE_COLORANTS, 2.2, "x"))
    pixel = colour_at(make_renditions(upload).renditions[1].body, 50, 50)
    assert all(abs(v - 100) <= 2 for v in pixel)


def test_a_phones_multi_picture_jpeg_is_its_first_picture() -> None:
    # GIVEN a JPEG carrying a second picture (MPO, as phones store a depth map) WHEN made
    first, second = halves(400, 300), Image.new("RGB", (400, 300), "green")
    made = make_renditions(encoded(first, "MPO", save_all=True, append_images=[second]))
    # THEN it is the first picture, not refused as an animation
    pixel = colour_at(made.renditions[1].body, 10, 10)
    assert pixel[0] > 200 and pixel[1] < 60


def test_keys_are_the_uploads_content_so_a_redelivery_writes_the_same_keys_and_bytes() -> None:
    upload = encoded(photo_like(400, 300), "JPEG")
    # WHEN the same upload is made twice THEN the keys and every byte are the same
    first, again = make_renditions(upload), make_renditions(upload)
    assert first == again
    assert [r.body for r in first.renditions] == [r.body for r in again.renditions]
    # AND the keys name the upload's SHA-256, under one prefix per photo, as rendition_keys lists them
    digest = hashlib.sha256(upload).hexdigest()[:32]
    assert first.content_id == content_id(upload) == digest
    assert all(r.key.startswith(renditions_prefix(digest)) for r in first.renditions)
    assert tuple(r.key for r in first.renditions) == rendition_keys(digest, (160, 320))
    assert first.renditions[0].key == f"img/{digest}/v1/160.webp"
    assert first.renditions[1].key == f"img/{digest}/v1/160.jpg"
    # AND other bytes (the same pixels, saved again differently) get other keys
    other = make_renditions(encoded(photo_like(400, 300), "JPEG", quality=90))
    assert {r.key for r in other.renditions}.isdisjoint(r.key for r in first.renditions)


def test_a_rendition_does_not_print_its_bytes() -> None:
    made = make_renditions(encoded(photo_like(200, 200), "PNG"))
    assert len(repr(made)) < 2000


# -- what it refuses -----------------------------------------------------------


def jpeg_truncated() -> bytes:
    whole = encoded(photo_like(600, 400), "JPEG")
    return whole[: len(whole) // 2]


REFUSED: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "empty"),
    "text-named-jpg": (lambda: b"Notes for the new chew toy listing\n", "not_an_image"),
    "html": (lambda: b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", "not_an_image"),
    "xml": (lambda: b'<?xml version="1.0"?><note>not a picture</note>', "not_an_image"),
    "svg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "unsupported_type"),
    "svg-with-prolog": (
        lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        "unsupported_type",
    ),
    "gif": (lambda: encoded(photo_like(100, 100), "GIF"), "unsupported_type"),
    "tiff": (lambda: encoded(photo_like(100, 100), "TIFF"), "unsupported_type"),
    "bmp": (lambda: encoded(photo_like(100, 100), "BMP"), "unsupported_type"),
    "heic": (lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "unsupported_type"),
    "animated-webp": (lambda: animated("WEBP"), "animated"),
    "animated-png": (lambda: animated("PNG"), "animated"),
    "truncated-jpeg": (jpeg_truncated, "damaged"),
    "png-with-a-broken-checksum": (lambda: idat_crc_broken(encoded(photo_like(200, 200), "PNG")), "damaged"),
    "jpeg-header-only": (lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "damaged"),
    "bomb-400-megapixels": (lambda: bomb_png(20_000, 20_000), "too_many_pixels"),
    "just-over-the-bound": (lambda: bomb_png(8000, 5001), "too_many_pixels"),
    "over-the-upload-size": (lambda: b"\xff\xd8\xff" + b"\x00" * MAX_UPLOAD_BYTES, "too_large"),
    "tiny": (lambda: encoded(Image.new("RGB", (12, 300)), "PNG"), "too_small"),
    "a-ribbon": (lambda: encoded(Image.new("RGB", (3000, 200)), "PNG"), "bad_proportions"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_an_upload_that_is_not_a_photo_we_show_is_refused_with_a_code_and_plain_words(case: str) -> None:
    build, code = REFUSED[case]
    with pytest.raises(PhotoRefused) as refused:
        make_renditions(build())
    assert refused.value.code == code
    reason = refused.value.reason
    assert str(refused.value) == reason
    assert reason[0].isupper() and reason.endswith(".") and len(reason) <= 120, reason
    assert not any(word in reason for word in ("PIL", "Pillow", "Error", "errno", "cannot identify", "\n")), reason


def test_the_reasons_say_which_format_and_which_bound() -> None:
    def reason_for(data: bytes) -> str:
        with pytest.raises(PhotoRefused) as refused:
            make_renditions(data)
        return refused.value.reason

    assert reason_for(encoded(photo_like(50, 50), "GIF")).startswith("GIF files are not accepted")
    assert reason_for(bomb_png(20_000, 20_000)) == "The photo is too large: at most 40 megapixels."
    assert "10 MB" in reason_for(b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_UPLOAD_BYTES)
    assert reason_for(b"plain text") == "This file is not a photo we can read (JPEG, PNG or WebP)."


def test_a_bomb_is_refused_from_its_header_however_pillow_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a real 41-megapixel PNG of a few kilobytes, and Pillow's own bound switched off in the process
    bomb = bomb_png(8000, 5125)
    assert len(bomb) < 20_000 and MAX_PIXELS < 8000 * 5125
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    # WHEN it is uploaded THEN the header's size refuses it, before a pixel is decoded
    with pytest.raises(PhotoRefused) as refused:
        make_renditions(bomb)
    assert refused.value.code == "too_many_pixels"


def test_a_photo_at_the_pixel_bound_is_accepted() -> None:
    # GIVEN the biggest photo accepted: 40 megapixels exactly, 8000 x 5000 (one colour: small on disk)
    made = make_renditions(encoded(Image.new("RGB", (8000, 5000), (90, 120, 150)), "JPEG"))
    assert (made.width, made.height) == (8000, 5000)
    assert made.renditions[-1].width == 1280


# -- what the product records -------------------------------------------------


def made_photo() -> tuple[PhotoSet, Photo]:
    made = make_renditions(encoded(photo_like(700, 500), "JPEG"))
    return made, made.photo("up-0123456789", alt="A red chew toy")


def test_a_ready_photo_gives_a_page_its_srcsets_and_size() -> None:
    made, photo = made_photo()
    view = photo.view(base="https://shop.example/")
    assert view is not None
    cid = made.content_id
    assert view.srcset == ", ".join(f"https://shop.example/img/{cid}/v1/{w}.jpg {w}w" for w in (160, 320, 640))
    assert view.webp_srcset == ", ".join(f"https://shop.example/img/{cid}/v1/{w}.webp {w}w" for w in (160, 320, 640))
    assert view.src == f"https://shop.example/img/{cid}/v1/640.jpg"
    assert (view.width, view.height, view.alt) == (700, 500, "A red chew toy")
    assert photo.view() is not None and photo.view().src.startswith(f"/img/{cid}/")  # type: ignore[union-attr]
    # AND what is recorded round-trips through JSON (as the table stores it)
    assert Photo.model_validate_json(photo.model_dump_json()) == photo


def test_a_photo_not_ready_has_no_view_and_a_failed_one_says_why() -> None:
    assert Photo.processing("up-0123456789").view() is None
    failed = Photo.failed("up-0123456789", "animated", "Animated images are not accepted.")
    assert failed.state is PhotoState.failed and failed.view() is None
    with pytest.raises(ValidationError):
        Photo(id="up-0123456789", state=PhotoState.failed)
    with pytest.raises(ValidationError):
        Photo(id="up-0123456789", state=PhotoState.ready)


def test_alt_text_is_bounded_and_cleaned() -> None:
    assert Photo.processing("up-0123456789", alt="  Chew toy  ").alt == "Chew toy"
    Photo.processing("up-0123456789", alt="x" * MAX_ALT)
    with pytest.raises(ValidationError):
        Photo.processing("up-0123456789", alt="x" * (MAX_ALT + 1))
    with pytest.raises(ValidationError):
        Photo.processing("up-0123456789", alt="Chew\u202etoy")


@pytest.mark.parametrize("bad", ["", "img", "../../", "0" * 31, "0" * 32 + "/", "A" * 32])
def test_the_prefix_of_a_photos_renditions_is_never_wider_than_one_photo(bad: str) -> None:
    with pytest.raises(ValueError, match="not a content id"):
        renditions_prefix(bad)
    assert renditions_prefix("0" * 32) == f"img/{'0' * 32}/"
