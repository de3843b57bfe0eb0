"""The image pipeline: an upload's bytes in, a photo's renditions out.

``make_renditions(data)`` trusts nothing but the bytes: not the file's name,
not the type a browser declared. In order, each step refusing with a
``PhotoRefused`` that names the problem for the admin:

1. the size of the upload, and its first bytes: only JPEG, PNG and WebP are
   handed to Pillow, and only to that format's reader (the readers of other
   formats are never exposed to an upload);
2. the header: pixels bounded (against decompression bombs) before any pixel
   is decoded, sides and proportions bounded, no animation; then Pillow's
   ``verify()`` on a first opening (a PNG's checksums), and a second opening
   that decodes (a truncated file fails here);
3. the pixels: EXIF orientation applied, colours converted to sRGB from an
   embedded ICC profile (CMYK, palettes, grey and 16-bit too), alpha kept for
   WebP and flattened onto white for JPEG;
4. each width of ``WIDTHS`` up to the photo's own (never enlarged), encoded as
   WebP and as a JPEG fallback, with no metadata at all (EXIF and its GPS,
   XMP, ICC, comments): only the pixels leave.

The same bytes give the same renditions, byte for byte, under the same keys
(photo.py). Only the image function imports this module (it carries Pillow).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from .photo import (
    ACCEPTED,
    CONTENT_TYPES,
    MAX_UPLOAD_BYTES,
    Photo,
    PhotoState,
    RenditionFormat,
    RenditionRef,
    content_id,
    rendition_key,
)

__all__ = ["ACCEPTED", "MAX_UPLOAD_BYTES", "WIDTHS", "PhotoRefused", "PhotoSet", "Rendition", "make_renditions"]

WIDTHS: Final = (160, 320, 640, 1280)
# 40 megapixels: every phone and most cameras; 120 MB of RGB once decoded
# (160 MB with alpha), though a JPEG that large is decoded at half its size
# (see _decode).
MAX_PIXELS: Final = 40_000_000
MIN_SIDE: Final = 16
MAX_PROPORTION: Final = 10  # the long side at most ten times the short one
# Qualities where the size curve bends: above them the bytes grow fast for
# differences nobody sees on a product page, below them edges and the text on
# packaging start to ring or block. WebP 80 looks like JPEG 82-85 at about
# two thirds of the bytes (bench/images.py measures both). Method 6 is
# libwebp's slowest, smallest search (2-5% smaller than 5, for about twice the
# time): paid once per upload, while every visit downloads the result. With
# alpha it also tries every filter of the alpha plane: ten times the time for
# under 1%, so an image with alpha gets method 5.
JPEG_QUALITY: Final = 82
WEBP_QUALITY: Final = 80
WEBP_METHOD: Final = 6
WEBP_METHOD_WITH_ALPHA: Final = 5
BACKGROUND: Final = (255, 255, 255)  # what a transparent photo is flattened onto for JPEG

_ERRORS_OF_A_BAD_FILE = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError)
_SWAPS_SIDES = {5, 6, 7, 8}  # EXIF orientations that turn the photo a quarter
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_SIXTEEN_BITS = {"I", "I;16", "I;16L", "I;16B", "I;16N"}

# What the first bytes of a refused file say it is, to tell the admin in words.
_OTHER_FORMATS: Final = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"8BPS", "Photoshop (PSD)"),
    (b"\x00\x00\x01\x00", "icon (ICO)"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
)
_ISO_BRANDS: Final = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF"}


class PhotoRefused(Exception):
    """An upload the shop will not show: a stable ``code`` and a ``reason`` in plain words."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _not_an_image() -> PhotoRefused:
    return PhotoRefused("not_an_image", "This file is not a photo we can read (JPEG, PNG or WebP).")


def _damaged() -> PhotoRefused:
    return PhotoRefused("damaged", "This photo's file is damaged or incomplete: save it again and upload the new file.")


def _too_many_pixels() -> PhotoRefused:
    return PhotoRefused("too_many_pixels", f"The photo is too large: at most {MAX_PIXELS // 1_000_000} megapixels.")


@dataclass(frozen=True)
class Rendition:
    """One encoded rendition, ready to be written under its key."""

    width: int
    height: int
    format: RenditionFormat
    content_type: str
    key: str
    body: bytes = field(repr=False)

    def ref(self) -> RenditionRef:
        return RenditionRef(width=self.width, height=self.height, format=self.format, key=self.key)


@dataclass(frozen=True)
class PhotoSet:
    """Every rendition of one upload, narrowest first, WebP before JPEG at each width."""

    content_id: str
    source_format: str
    width: int
    height: int
    renditions: tuple[Rendition, ...]

    @property
    def source_content_type(self) -> str:
        """The upload's type as its bytes say (whatever the browser declared)."""
        return ACCEPTED[self.source_format]

    def photo(self, photo_id: str, alt: str = "") -> Photo:
        """The photo as recorded on its product once its renditions are written."""
        return Photo(
            id=photo_id,
            state=PhotoState.ready,
            alt=alt,
            content_id=self.content_id,
            width=self.width,
            height=self.height,
            renditions=[r.ref() for r in self.renditions],
        )


@dataclass(frozen=True)
class Upload:
    """An upload that passed every check, its pixels decoded in sRGB."""

    content_id: str
    source_format: str  # "JPEG", "PNG" or "WEBP", as read from the bytes
    width: int  # its own size, as it is shown (orientation applied)
    height: int
    # RGB, or RGBA if the upload has an alpha channel, and no metadata; a
    # large JPEG's decoded at a fraction of its size (see _decode), never
    # below twice the largest rendition.
    pixels: Image.Image = field(repr=False)


def make_renditions(data: bytes, owner: str = "") -> PhotoSet:
    """The renditions of an upload (its keys under ``content_id(data, owner)``), or ``PhotoRefused`` saying why."""
    upload = read_upload(data, owner)
    renditions: list[Rendition] = []
    sizes = rendition_sizes(upload.width, upload.height)
    largest = resized(upload.pixels, sizes[-1])
    for size in sizes:
        # Each narrower rendition from the largest: already filtered, and 2 to 8 times the pixels it needs.
        image = largest if size == largest.size else resized(largest, size)
        for fmt in ENCODINGS:
            key = rendition_key(upload.content_id, size[0], fmt)
            renditions.append(Rendition(*size, fmt, CONTENT_TYPES[fmt], key, encode_rendition(image, fmt)))
    return PhotoSet(upload.content_id, upload.source_format, upload.width, upload.height, tuple(renditions))


def read_upload(data: bytes, owner: str = "") -> Upload:
    """Steps 1 to 3 of the module's docstring: the checked upload, or ``PhotoRefused``."""
    fmt = _sniff(data)
    _check(data, fmt)
    image, width, height = _decode(data, fmt)
    pixels = _to_srgb(image)
    pixels.info = {}  # only the pixels go on: Pillow writes some of ``info`` (a JPEG's comment) into what it saves
    return Upload(content_id(data, owner), fmt, width, height, pixels)


def resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos, the sharpest of Pillow's filters; ``reducing_gap`` first halves a
    much larger image by averaging (as fast as a box, as good when more than
    three times the target is left)."""
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def encode_rendition(image: Image.Image, fmt: RenditionFormat) -> bytes:
    """The image's pixels in a rendition's format, and nothing else (whatever its ``info`` holds)."""
    if image.info:
        image = image.copy()
        image.info = {}
    return ENCODINGS[fmt](image)


def rendition_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """Each width of WIDTHS up to the photo's own (or the photo's own alone, if narrower), aspect kept."""
    widths = [w for w in WIDTHS if w <= width] or [width]
    return [(w, max(1, round(w * height / width))) for w in widths]


def _sniff(data: bytes) -> str:
    """The upload's format, from its bytes alone."""
    if not data:
        raise PhotoRefused("empty", "The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoRefused("too_large", f"The file is too large: at most {MAX_UPLOAD_BYTES // 2**20} MB.")
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    other = _other_format(data)
    if other:
        raise PhotoRefused("unsupported_type", f"{other} files are not accepted: upload a JPEG, PNG or WebP photo.")
    raise _not_an_image()


def _other_format(data: bytes) -> str | None:
    for signature, name in _OTHER_FORMATS:
        if data.startswith(signature):
            return name
    if data[:2] == b"BM" and data[6:10] == b"\x00\x00\x00\x00":
        return "BMP"
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_BRANDS:
        return _ISO_BRANDS[data[8:12]]
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in head):
        return "SVG"
    return None


def _open(data: bytes, fmt: str) -> Image.Image:
    """The upload opened by its format's reader alone, the header read, no pixel decoded."""
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; here a
        # warning refuses as its error does. _check bounds the pixels
        # whatever MAX_IMAGE_PIXELS is set to in the process.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels() from exc
        except UnidentifiedImageError as exc:
            raise _not_an_image() from exc
        except _ERRORS_OF_A_BAD_FILE as exc:
            raise _damaged() from exc


def _check(data: bytes, fmt: str) -> None:
    """Refuse from the header what must not be decoded, then let the format's reader verify the file."""
    probe = _open(data, fmt)
    width, height = probe.size
    if width * height > MAX_PIXELS:
        raise _too_many_pixels()
    if min(width, height) < MIN_SIDE:
        raise PhotoRefused("too_small", f"The photo is too small: at least {MIN_SIDE} pixels on each side.")
    if max(width, height) > MAX_PROPORTION * min(width, height):
        raise PhotoRefused(
            "bad_proportions",
            f"The photo is too long and narrow: its long side may be at most {MAX_PROPORTION} times its short side.",
        )
    # A JPEG's extra pictures (MPO: a phone's depth map or preview) are not
    # frames of an animation: the first one is the photo.
    if probe.format != "MPO" and getattr(probe, "n_frames", 1) > 1:
        raise PhotoRefused("animated", "Animated images are not accepted: upload a still JPEG, PNG or WebP photo.")
    try:
        probe.verify()  # a PNG's checksums; the decoding below finds a truncated file of any format
    except _ERRORS_OF_A_BAD_FILE as exc:
        raise _damaged() from exc


def _decode(data: bytes, fmt: str) -> tuple[Image.Image, int, int]:
    """The pixels, turned as the EXIF says, and the photo's size as shown.

    A JPEG much larger than its largest rendition is decoded at 1/2, 1/4 or
    1/8 of its size (libjpeg scales while decoding: less time and memory),
    never below twice that rendition, as ``Image.thumbnail`` does. A JPEG's
    EXIF is in its header; a PNG's may follow the pixels, so it is read after.
    """
    image = _open(data, fmt)
    jpeg = image.format in ("JPEG", "MPO")
    if not jpeg:
        _load(image)
    orientation = _orientation(image)
    width, height = image.size[::-1] if orientation in _SWAPS_SIDES else image.size
    if jpeg:
        largest = rendition_sizes(width, height)[-1]
        wanted = largest[::-1] if orientation in _SWAPS_SIDES else largest
        image.draft(None, (wanted[0] * 2, wanted[1] * 2))
        _load(image)
    if orientation != 1:
        ImageOps.exif_transpose(image, in_place=True)
    return image, width, height


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except _ERRORS_OF_A_BAD_FILE as exc:
        raise _damaged() from exc


def _orientation(image: Image.Image) -> int:
    """The EXIF (or XMP) orientation, 1 to 8; 1 when there is none or it is unreadable, as browsers do."""
    try:
        orientation = int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except _ERRORS_OF_A_BAD_FILE:
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB (or RGBA, when the upload has an alpha channel) in sRGB, from whatever the upload holds."""
    icc = image.info.get("icc_profile")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in _SIXTEEN_BITS:
        image = image.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    elif image.mode in ("1", "PA"):
        image = image.convert("L" if image.mode == "1" else "RGBA")
    if icc and (converted := _from_profile(image, icc)) is not None:
        return converted
    wanted = "RGBA" if image.mode in ("LA", "RGBA") else "RGB"
    return image if image.mode == wanted else image.convert(wanted)


def _from_profile(image: Image.Image, icc: bytes) -> Image.Image | None:
    """The image converted from its embedded profile to sRGB, alpha kept; None if the
    profile is unreadable or not for these pixels (then the pixels are taken as
    sRGB, as browsers show them)."""
    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    try:
        converted = ImageCms.profileToProfile(
            image if alpha is None else image.convert(image.mode[:-1]),
            ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            _SRGB,
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            outputMode="RGB",
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )
    except (ImageCms.PyCMSError, *_ERRORS_OF_A_BAD_FILE):
        return None
    if converted is not None and alpha is not None:
        converted.putalpha(alpha)
    return converted


def _encode_webp(image: Image.Image) -> bytes:
    out = io.BytesIO()
    method = WEBP_METHOD if image.mode == "RGB" else WEBP_METHOD_WITH_ALPHA
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=method)
    return out.getvalue()


def _encode_jpeg(image: Image.Image) -> bytes:
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, BACKGROUND)
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True, subsampling="4:2:0")
    return out.getvalue()


ENCODINGS: Final[dict[RenditionFormat, Callable[[Image.Image], bytes]]] = {
    "webp": _encode_webp,
    "jpeg": _encode_jpeg,
}
