"""A product's photo as the shop records it, and where its renditions live.

The renditions of an upload are content-addressed: they live under
``img/<content id>/`` (the content id is the start of the SHA-256 of the
photo's id and the uploaded bytes), so a redelivered upload event writes the
same keys with the same bytes, the CDN can cache them forever, and deleting
every rendition of a photo is deleting one prefix, which no other photo
shares (not even one of the same bytes). The
key is also the path the shop serves the rendition at (CloudFront's
``/img/*`` behaviour forwards the path to the renditions bucket as it is).
This module imports no image library: the admin function builds keys and
views with it, only the image function decodes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import ConfigDict, Field, StringConstraints, computed_field, model_validator

from chalicelib.platform.schema import ShopModel
from chalicelib.platform.user_text import Text

# What an upload may be: the admin function's presigned POST states them
# (content-length-range, Content-Type), the image function checks the bytes.
MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
ACCEPTED: Final[dict[str, str]] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

RENDITIONS_PREFIX: Final = "img/"
# Part of every key: encoding the same upload differently (other widths or
# qualities) must give new URLs, since the old ones are cached as immutable.
RENDITIONS_VERSION: Final = 1
CONTENT_ID_LENGTH: Final = 32  # hex digits of SHA-256: 128 bits
CACHE_CONTROL: Final = "public, max-age=31536000, immutable"
MAX_ALT: Final = 200
# The width a page shows when the browser does not pick from the srcset.
DEFAULT_DISPLAY_WIDTH: Final = 640

RenditionFormat = Literal["webp", "jpeg"]
EXTENSIONS: Final[dict[str, str]] = {"webp": "webp", "jpeg": "jpg"}
CONTENT_TYPES: Final[dict[str, str]] = {"webp": "image/webp", "jpeg": "image/jpeg"}

_CONTENT_ID: Final = re.compile(f"[0-9a-f]{{{CONTENT_ID_LENGTH}}}")
ContentId = Annotated[str, StringConstraints(pattern=f"^[0-9a-f]{{{CONTENT_ID_LENGTH}}}$")]
# Chosen by the shop when it grants the upload (it is part of the upload's key).
PhotoId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
RenditionKey = Annotated[
    str, StringConstraints(pattern=rf"^img/[0-9a-f]{{{CONTENT_ID_LENGTH}}}/v[0-9]+/[0-9]+\.(webp|jpg)$")
]


def content_id(data: bytes, owner: str = "") -> str:
    """The id of an upload's content: the first 32 hex digits of its SHA-256.

    The shop passes the photo's id as ``owner``: a redelivered upload gets the
    same id, while two photos of the same bytes get their own renditions, so
    deleting one photo's prefix never takes another's.
    """
    digest = hashlib.sha256(f"{owner}\0".encode() + data) if owner else hashlib.sha256(data)
    return digest.hexdigest()[:CONTENT_ID_LENGTH]


def renditions_prefix(photo_content_id: str) -> str:
    """``img/<content id>/``: every rendition of one photo, of every version, and nothing else."""
    if not _CONTENT_ID.fullmatch(photo_content_id):
        # Never a shorter prefix: "img/" alone would name every photo of the shop.
        raise ValueError(f"not a content id: {photo_content_id!r}")
    return f"{RENDITIONS_PREFIX}{photo_content_id}/"


def rendition_key(photo_content_id: str, width: int, fmt: RenditionFormat) -> str:
    """``img/<content id>/v<version>/<width>.<webp|jpg>``."""
    if width < 1:
        raise ValueError(f"not a width: {width}")
    return f"{renditions_prefix(photo_content_id)}v{RENDITIONS_VERSION}/{width}.{EXTENSIONS[fmt]}"


def rendition_keys(photo_content_id: str, widths: Iterable[int]) -> tuple[str, ...]:
    """The keys of the renditions at these widths, WebP then JPEG for each width."""
    return tuple(rendition_key(photo_content_id, w, fmt) for w in widths for fmt in ("webp", "jpeg"))


def rendition_url(key: str, base: str = "/") -> str:
    """Where a rendition is served: ``base`` (the shop's origin, or a CDN's) and the key."""
    return f"{base.rstrip('/')}/{key}"


class PhotoState(StrEnum):
    processing = "processing"  # uploaded (or granted), renditions not made yet
    ready = "ready"
    failed = "failed"  # refused or not processed: ``reason`` says why


class RenditionRef(ShopModel):
    """One rendition of a photo as recorded on the product (its bytes are in the bucket)."""

    width: int = Field(ge=1, le=20_000)
    height: int = Field(ge=1, le=20_000)
    format: RenditionFormat
    key: RenditionKey


@dataclass(frozen=True)
class PhotoView:
    """What an ``<img srcset>`` (or a ``<picture>`` with a WebP ``<source>``) needs."""

    src: str  # a JPEG of about DEFAULT_DISPLAY_WIDTH, for browsers that ignore srcset
    srcset: str  # the JPEGs: "<url> 160w, <url> 320w, ..."
    webp_srcset: str
    width: int  # of the photo itself, so the page can reserve its box before it loads
    height: int
    alt: str


class Photo(ShopModel):
    """A product's photo: granted, then ready with its renditions, or failed with a reason."""

    id: PhotoId
    state: PhotoState
    alt: Annotated[str, Text(MAX_ALT, min_length=0)] = ""
    content_id: ContentId | None = None
    width: int | None = Field(default=None, ge=1)
    height: int | None = Field(default=None, ge=1)
    renditions: list[RenditionRef] = Field(default_factory=list)
    code: str | None = Field(default=None, max_length=40, description="Why it failed, for a machine.")
    reason: str | None = Field(default=None, max_length=300, description="Why it failed, in plain words.")

    @model_validator(mode="after")
    def _complete_for_its_state(self) -> Photo:
        if self.state is PhotoState.ready and not (self.content_id and self.width and self.height and self.renditions):
            raise ValueError("a ready photo has its content id, size and renditions")
        if self.state is PhotoState.failed and not self.reason:
            raise ValueError("a failed photo says why")
        return self

    @classmethod
    def processing(cls, photo_id: str, alt: str = "") -> Photo:
        return cls(id=photo_id, state=PhotoState.processing, alt=alt)

    @classmethod
    def failed(cls, photo_id: str, code: str, reason: str, alt: str = "") -> Photo:
        return cls(id=photo_id, state=PhotoState.failed, alt=alt, code=code, reason=reason)

    def srcset_of(self, fmt: RenditionFormat, base: str = "/") -> str:
        """``"<url> <width>w, ..."`` of the renditions in one format, narrowest first."""
        chosen = sorted((r for r in self.renditions if r.format == fmt), key=lambda r: r.width)
        return ", ".join(f"{rendition_url(r.key, base)} {r.width}w" for r in chosen)

    # What an answer adds to the record (derived: never stored).
    @computed_field(description="A JPEG of about 640 px, for `<img src>`; null until the photo is ready.")  # type: ignore[prop-decorator]
    @property
    def src(self) -> str | None:
        view = self.view()
        return view.src if view else None

    @computed_field(description='The JPEG renditions, for `<img srcset>`: "<url> 160w, ...".')  # type: ignore[prop-decorator]
    @property
    def srcset(self) -> str:
        return self.srcset_of("jpeg")

    @computed_field(description="The WebP renditions, for a `<picture>`'s `<source>`.")  # type: ignore[prop-decorator]
    @property
    def webp_srcset(self) -> str:
        return self.srcset_of("webp")

    def view(self, base: str = "/") -> PhotoView | None:
        """What a page shows, or None while the photo is not ready."""
        jpegs = sorted((r for r in self.renditions if r.format == "jpeg"), key=lambda r: r.width)
        if self.state is not PhotoState.ready or not jpegs or not self.width or not self.height:
            return None
        fitting = [r for r in jpegs if r.width <= DEFAULT_DISPLAY_WIDTH]
        src = fitting[-1] if fitting else jpegs[0]
        return PhotoView(
            src=rendition_url(src.key, base),
            srcset=self.srcset_of("jpeg", base),
            webp_srcset=self.srcset_of("webp", base),
            width=self.width,
            height=self.height,
            alt=self.alt,
        )


# The answer's derived fields, left out of what is stored.
DERIVED: Final = frozenset({"src", "srcset", "webp_srcset"})


# -- what the admin API takes (chalicelib/api/admin.py) -------------------------------------
UploadType = Literal["image/jpeg", "image/png", "image/webp"]


class PhotoUploadRequest(ShopModel):
    """POST /products/{id}/photos: the upload about to be made."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    content_type: UploadType = Field(description="The file's type as the browser names it; the bytes are checked.")
    alt: Annotated[str, Text(MAX_ALT, min_length=0)] = Field(default="", description="What the photo shows.")


class PhotoAltChange(ShopModel):
    """PATCH /products/{id}/photos/{photo_id}."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    alt: Annotated[str, Text(MAX_ALT, min_length=0)] = Field(description="What the photo shows, for screen readers.")


class PhotoOrder(ShopModel):
    """PUT /products/{id}/photos/order: every photo of the product, in the order to show them."""

    model_config = ConfigDict(extra="forbid")

    photo_ids: list[PhotoId] = Field(min_length=1, max_length=8)


class PhotoList(ShopModel):
    photos: list[Photo]


class PhotoUpload(ShopModel):
    """Where and how to upload: a presigned POST (``url``, form ``fields``, then the file as ``file``)."""

    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in: int = Field(description="Seconds the upload may start within.")


class PhotoGrant(ShopModel):
    photo: Photo
    upload: PhotoUpload
