"""Seed photos for the catalog: one JPEG per product, drawn, never downloaded.

    python -m infra.seed_photos --out /tmp/photos [--limit 40]

Every seeded product gets a photo by handing the bytes of ``photo_for(product)``
to the same pipeline an admin's upload goes through (checked, re-encoded into
renditions, content-addressed): the local stack does it in the background at
each `make run` (localdev/local_stack.py), and `make deploy SEED=1` puts them
in the stage's uploads bucket (infra/import_catalog.py, ``give_photos``), so
the shop shows and tests its real photo path from the first start. The
repository holds no photo collection and nothing is fetched: each photo is
drawn with Pillow from the product itself.

Each category is its own object (a bag or a can of food, a bone or a jar of
treats, a ball, a rope or a mouse, a cushion bed, a bottle with a cross, a
brush or a comb, a tank, a terrarium, a cage, a hutch or a cat tree, a
collar, a leash, a bowl, or a boxed device), with the brand and a short name
on its label. Palette, proportions, placement, tilt, pattern and backdrop
come from a stable hash of the product's id (no random numbers, no clock):
the same product gives the same bytes on every run, and on every machine
with the same Pillow build; the JPEG carries no metadata at all.

1280 x 960 (4:3) because the pipeline never enlarges and its largest
rendition is 1280 wide (``chalicelib/photos/renditions.py``): a smaller
source would lose that rendition, a larger one only costs time.
"""

from __future__ import annotations

import argparse
import colorsys
import hashlib
import io
import json
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, TypeVar

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

SIZE: Final = (1280, 960)
QUALITY: Final = 90
CATALOG: Final = Path(__file__).resolve().parents[1] / "data" / "products.json"
_SCALE: Final = 2  # objects are drawn at twice the size, then reduced: smooth edges without a slow filter
_GRAIN: Final = 5  # the noise's amplitude in levels: a sensor's grain, and JPEG sizes like a photo's
RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
T = TypeVar("T")


class Dice:
    """Numbers drawn from a product's id: each named draw is its own hash, stable everywhere.

    Naming draws (not drawing in sequence) keeps a product's photo the same
    when another draw is added or removed.
    """

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def unit(self, name: str) -> float:
        digest = hashlib.blake2b(self._key + b"\x00" + name.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def between(self, name: str, low: float, high: float) -> float:
        return low + (high - low) * self.unit(name)

    def pick(self, name: str, options: Sequence[T]) -> T:
        return options[int(self.unit(name) * len(options))]


def _hsv(hue: float, saturation: float, value: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def _shade(colour: RGB, factor: float) -> RGB:
    """``colour`` darker (``factor`` < 1) or lighter."""
    r, g, b = colour
    return min(255, round(r * factor)), min(255, round(g * factor)), min(255, round(b * factor))


@dataclass(frozen=True)
class Look:
    body: RGB
    accent: RGB
    label: RGB
    ink: RGB
    pattern: str  # plain, stripes or dots
    pattern_angle: float
    pattern_step: float  # a fraction of the object's width


def _look(dice: Dice) -> Look:
    hue = dice.unit("hue")
    body = _hsv(hue, dice.between("saturation", 0.45, 0.85), dice.between("value", 0.5, 0.9))
    accent = _hsv(hue + dice.pick("harmony", (0.5, 0.1, -0.1, 0.33, 0.58)), 0.75, dice.between("accent", 0.75, 0.95))
    label = _hsv(hue + 0.1, dice.between("paper", 0.02, 0.12), 0.97)
    return Look(
        body=body,
        accent=accent,
        label=label,
        ink=_hsv(hue, 0.7, 0.25),
        pattern=dice.pick("pattern", ("plain", "stripes", "dots", "stripes", "dots")),
        pattern_angle=dice.pick("angle", (0.0, 0.0, 35.0, -35.0, 90.0)),
        pattern_step=dice.between("step", 0.07, 0.14),
    )


@dataclass(frozen=True)
class Words:
    brand: str
    title: str
    amount: str  # "12 kg", "90 Count"; empty when the name gives none


def _plain(text: str) -> str:
    """The text in the label font's letters: accents dropped (Pâté → Pate), other signs left out."""
    letters = unicodedata.normalize("NFKD", text)
    return " ".join("".join(ch for ch in letters if ch.isascii() and ch.isprintable()).split())


def _words(product: Mapping[str, Any]) -> Words:
    name = _plain(str(product.get("name") or ""))
    head, *rest = name.split(", ")
    head = re.sub(r"\s+for\s+(Dogs|Cats|Birds|Parakeets|Reptiles|Rats.*|Guinea Pigs|Finches)$", "", head)
    amount = next((part for part in reversed(rest) if re.search(r"\d", part)), "")
    return Words(_plain(str(product.get("brand") or "")).upper(), head, amount if len(amount) <= 16 else "")


@cache
def font(size: int) -> Font:
    """Pillow's own scalable font (10.1+); without FreeType, its small bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError):  # a Pillow built without FreeType
        return ImageFont.load_default()


def fit(text: str, width: float, height: float, lines: int, largest: int) -> tuple[Font, list[str]]:
    """The largest font and lines of ``text`` within ``width`` x ``height``, at most ``lines`` lines.

    What does not fit at the smallest size is cut, and the cut marked with an ellipsis.
    """
    smallest = max(8, largest // 3)
    size = largest
    while True:
        face = font(size)
        rows = max(1, min(lines, int(height // _line_height(face))))
        # More letters than the narrowest glyph allows can never fit: the rest is not measured.
        most = rows * (int(width / max(1.0, face.getlength("'"))) + 1)
        wrapped, whole = _wrap(text[:most].split(), face, width, rows)
        if whole or size <= smallest:
            return face, wrapped
        size = max(smallest, int(size * 0.88))


def _line_height(face: Font) -> int:
    return int(face.getbbox("Hg")[3] * 1.1) + 1


def _wrap(words: list[str], face: Font, width: float, lines: int) -> tuple[list[str], bool]:
    out: list[str] = []
    for i, word in enumerate(words):
        joined = f"{out[-1]} {word}" if out else word
        if out and face.getlength(joined) <= width:
            out[-1] = joined
        elif len(out) < lines and face.getlength(word) <= width:
            out.append(word)
        else:
            return _cut(out if len(out) == lines else [*out, word], face, width), i == len(words)
    return out, True


def _cut(lines: list[str], face: Font, width: float) -> list[str]:
    """The last line cut where it still fits with an ellipsis (by halves: a word may be a thousand letters)."""
    last, low, high = lines[-1], 0, len(lines[-1])
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if face.getlength(last[:middle] + "…") <= width else (low, middle - 1)
    return [*lines[:-1], last[:low].rstrip() + "…"]


Point = tuple[float, float]


class Pen:
    """ImageDraw with the object's turn: turned, each shape is drawn as a polygon or a line through turned points.

    Turning the drawing, not the drawn image, costs nothing per pixel and keeps
    every edge as smooth as an upright one.
    """

    def __init__(self, draw: ImageDraw.ImageDraw, turn: Callable[[float, float], Point], turned: bool) -> None:
        self.draw, self.turn, self.turned = draw, turn, turned

    def _at(self, points: Sequence[Point]) -> list[Point]:
        return [self.turn(x, y) for x, y in points]

    def polygon(self, xy: Sequence[Point], fill: Any = None, outline: Any = None, width: int = 1) -> None:
        points = self._at(xy)
        if fill is not None:
            self.draw.polygon(points, fill=fill)
        if outline is not None:
            self.draw.line([*points, points[0], points[1]], fill=outline, width=width, joint="curve")

    def line(self, xy: Sequence[Point], fill: Any = None, width: int = 1, joint: str | None = None) -> None:
        self.draw.line(self._at(xy), fill=fill, width=width, joint=joint)

    def rectangle(self, box: Sequence[float], fill: Any = None, outline: Any = None, width: int = 1) -> None:
        self.rounded_rectangle(box, 0, fill, outline, width)

    def rounded_rectangle(
        self, box: Sequence[float], radius: float = 0, fill: Any = None, outline: Any = None, width: int = 1
    ) -> None:
        x0, y0, x1, y1 = box
        if not self.turned:
            xy = (*self.turn(x0, y0), *self.turn(x1, y1))
            self.draw.rounded_rectangle(xy, radius=radius, fill=fill, outline=outline, width=width)
            return
        r = max(0.0, min(radius, (x1 - x0) / 2, (y1 - y0) / 2))
        corners = ((x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180), (x1 - r, y0 + r, 270))
        points = [_on_ellipse(cx, cy, r, r, start + 90 * i / 6) for cx, cy, start in corners for i in range(7)]
        self._outlined(points, fill, outline, width)

    def ellipse(self, box: Sequence[float], fill: Any = None, outline: Any = None, width: int = 1) -> None:
        x0, y0, x1, y1 = box
        if not self.turned:
            self.draw.ellipse((*self.turn(x0, y0), *self.turn(x1, y1)), fill=fill, outline=outline, width=width)
            return
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        steps = max(12, min(96, round((rx + ry) / 8)))
        if fill is not None:
            self.polygon([_on_ellipse(cx, cy, rx, ry, 360 * i / steps) for i in range(steps)], fill=fill)
        if outline is not None:  # ImageDraw draws an outline inside the box
            inner = [_on_ellipse(cx, cy, rx - width / 2, ry - width / 2, 360 * i / steps) for i in range(steps + 2)]
            self.line(inner, fill=outline, width=width, joint="curve")

    def arc(self, box: Sequence[float], start: float, end: float, fill: Any = None, width: int = 1) -> None:
        x0, y0, x1, y1 = box
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        self.line(
            [_on_ellipse(cx, cy, rx, ry, start + (end - start) * i / 24) for i in range(25)], fill, width, "curve"
        )

    def _outlined(self, points: list[Point], fill: Any, outline: Any, width: int) -> None:
        self.polygon(points, fill=fill)
        if outline is not None:
            self.polygon(points, outline=outline, width=width)


Paint = Callable[[Pen, Any], None]


def _on_ellipse(cx: float, cy: float, rx: float, ry: float, degrees: float) -> Point:
    angle = math.radians(degrees)
    return cx + rx * math.cos(angle), cy + ry * math.sin(angle)


class Canvas:
    """The object's own layer, drawn at ``_SCALE`` times its size on a transparent ground, turned by ``tilt``.

    Shapes draw in the object's own upright coordinates (``w`` x ``h``); the
    layer is as large as the turned object needs.
    """

    def __init__(self, size: tuple[int, int], look: Look, words: Words, dice: Dice, tilt: float = 0.0) -> None:
        self.w, self.h = size
        self.tilt = tilt
        self._cos, self._sin = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
        turned_w = self.w * abs(self._cos) + self.h * abs(self._sin)
        turned_h = self.w * abs(self._sin) + self.h * abs(self._cos)
        self.image = Image.new("RGBA", (math.ceil(turned_w), math.ceil(turned_h)), (0, 0, 0, 0))
        self.draw = self.pen(ImageDraw.Draw(self.image, "RGBA"))
        self.look, self.words, self.dice = look, words, dice

    def pen(self, draw: ImageDraw.ImageDraw, origin: tuple[int, int] = (0, 0)) -> Pen:
        """A pen for ``draw``, an image whose top left is at ``origin`` in the layer."""
        cx, cy = self.image.width / 2 - origin[0], self.image.height / 2 - origin[1]
        cos, sin, w, h = self._cos, self._sin, self.w / 2, self.h / 2

        def turn(x: float, y: float) -> Point:
            return cx + cos * (x - w) + sin * (y - h), cy - sin * (x - w) + cos * (y - h)

        return Pen(draw, turn, bool(self.tilt))

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        """A box given in fractions of the object."""
        return x0 * self.w, y0 * self.h, x1 * self.w, y1 * self.h

    def at(self, *points: Point) -> list[Point]:
        """Points given in fractions of the object."""
        return [(x * self.w, y * self.h) for x, y in points]

    def mask(self, paint: Paint) -> Image.Image:
        mask = Image.new("L", self.image.size, 0)
        paint(self.pen(ImageDraw.Draw(mask)), 255)
        return mask

    def within(self, mask: Image.Image, marks: Paint, colour: RGB, opacity: float = 1.0) -> None:
        """Paint ``colour`` where ``marks`` fall inside ``mask`` (a pattern, a shade, seams...)."""
        if not (box := mask.getbbox()):
            return
        part = mask.crop(box)
        where = Image.new("L", part.size, 0)
        marks(self.pen(ImageDraw.Draw(where), origin=box[:2]), round(255 * opacity))
        # pasting an image is much faster than pasting a colour
        self.image.paste(Image.new("RGBA", part.size, (*colour, 255)), box[:2], ImageChops.multiply(part, where))

    def shade(self, mask: Image.Image, part: tuple[float, float, float, float], colour: RGB, opacity: float) -> None:
        """Darken or light the part of ``mask`` within a box given in fractions of the object."""
        self.within(mask, lambda d, f: d.rectangle(self.box(*part), fill=f), colour, opacity)

    def body(self, paint: Paint, colour: RGB | None = None, pattern: bool = True) -> Image.Image:
        """Paint the object's body in its colour and pattern; its mask, for shades within it."""
        paint(self.draw, colour or self.look.body)
        mask = self.mask(paint)
        if pattern and self.look.pattern != "plain":
            self.within(mask, self._pattern, self.look.accent, 0.85)
        return mask

    def _pattern(self, draw: Pen, fill: Any) -> None:
        step = max(6.0, self.look.pattern_step * self.w)
        reach = self.w + self.h
        if self.look.pattern == "dots":
            radius = step * 0.22
            for row in range(int(self.h / step) + 2):
                for col in range(int(self.w / step) + 2):
                    x, y = (col + 0.5 * (row % 2)) * step, row * step
                    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
            return
        dx, dy = math.cos(math.radians(self.look.pattern_angle)), math.sin(math.radians(self.look.pattern_angle))
        for k in range(-int(reach / step), int(reach / step) + 1):
            cx, cy = self.w / 2 + k * step * dy, self.h / 2 - k * step * dx
            band = [(cx - dx * reach, cy - dy * reach), (cx + dx * reach, cy + dy * reach)]
            draw.line(band, fill=fill, width=max(2, round(step * 0.4)))

    def write(self, box: Sequence[float], text: str, colour: RGB, lines: int = 2, bold: bool = False) -> None:
        """Text centred in ``box``, never outside it: set in an image of the box, turned with the object."""
        x0, y0, x1, y1 = box
        stroke = max(1, round((y1 - y0) / 40)) if bold else 0
        face, wrapped = fit(text, x1 - x0 - 2 * stroke, y1 - y0, lines, max(8, round((y1 - y0) / lines * 0.8)))
        step = _line_height(face)
        ink = Image.new("L", (max(1, round(x1 - x0)), max(1, round(y1 - y0))), 0)
        draw = ImageDraw.Draw(ink)
        y = (ink.height - step * len(wrapped)) / 2
        for line in wrapped:
            draw.text(
                ((ink.width - face.getlength(line)) / 2, y),
                line,
                font=face,
                fill=255,
                stroke_width=stroke,
                stroke_fill=255,
            )
            y += step
        if not (inked := ink.getbbox()):
            return
        ink = ink.crop(inked)
        if self.tilt:
            ink = ink.rotate(self.tilt, Image.Resampling.BILINEAR, expand=True)
        cx, cy = self.draw.turn(x0 + (inked[0] + inked[2]) / 2, y0 + (inked[1] + inked[3]) / 2)
        at = (round(cx - ink.width / 2), round(cy - ink.height / 2))
        self.image.paste(Image.new("RGBA", ink.size, (*colour, 255)), at, ink)

    def label(self, box: Sequence[float], amount: bool = True, cross: RGB | None = None) -> None:
        """A printed label: the brand, the short name, the amount (and a cross on medicines)."""
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        self.draw.rounded_rectangle(box, radius=min(w, h) * 0.08, fill=self.look.label)
        self.draw.rectangle((x0, y0 + h * 0.03, x1, y0 + h * 0.09), fill=self.look.accent)
        pad = w * 0.07
        top = y0 + h * 0.12
        if cross:
            arm, cx, cy = h * 0.08, x0 + w / 2, y0 + h * 0.22
            self.draw.rectangle((cx - arm * 0.35, cy - arm, cx + arm * 0.35, cy + arm), fill=cross)
            self.draw.rectangle((cx - arm, cy - arm * 0.35, cx + arm, cy + arm * 0.35), fill=cross)
            top = y0 + h * 0.33
        bottom = y1 - h * (0.2 if amount and self.words.amount else 0.06)
        split = top + (bottom - top) * 0.32
        self.write((x0 + pad, top, x1 - pad, split), self.words.brand, self.look.ink, lines=1, bold=True)
        self.write((x0 + pad, split, x1 - pad, bottom), self.words.title, _shade(self.look.ink, 1.4), lines=3)
        if amount and self.words.amount:
            badge = (x0 + w * 0.2, bottom + h * 0.02, x1 - w * 0.2, y1 - h * 0.04)
            self.draw.rounded_rectangle(badge, radius=h, fill=self.look.accent)
            self.write(badge, self.words.amount, _shade(self.look.accent, 0.35), lines=1, bold=True)

    def tag(self, box: Sequence[float], tie: tuple[float, float]) -> None:
        """A card hung on a string: where a toy or a tool carries its brand and name."""
        x0, y0, x1, y1 = box
        hole = (x0 + (x1 - x0) * 0.05, (y0 + y1) / 2)
        self.label(box, amount=False)
        r = (y1 - y0) * 0.05
        self.draw.ellipse((hole[0] - r, hole[1] - r, hole[0] + r, hole[1] + r), fill=(110, 100, 90, 255))
        self.draw.line([tie, hole], fill=(90, 80, 70, 255), width=max(3, round(self.w / 300)))


def _bag(c: Canvas) -> None:
    bulge = c.dice.between("bulge", 0.02, 0.07)
    side = [(c.w * (0.1 - bulge * math.sin(math.pi * t / 10)), c.h * (0.1 + 0.88 * t / 10)) for t in range(11)]
    crimp = [(c.w * (0.1 + 0.8 * i / 24), c.h * (0.04 if i % 2 else 0.07)) for i in range(25)]
    outline = crimp + [(c.w - x, y) for x, y in side] + [(x, y) for x, y in reversed(side)]
    mask = c.body(lambda d, f: d.polygon(outline, fill=f))
    c.shade(mask, (0, 0, 1, 0.15), (0, 0, 0), 0.25)
    c.shade(mask, (0, 0, 0.16, 1), (255, 255, 255), 0.15)
    c.label(c.box(0.2, 0.3, 0.8, 0.86))


def _can(c: Canvas) -> None:
    e = c.h * 0.1
    metal = (196, 200, 206)
    c.draw.ellipse((0, c.h - 2 * e, c.w, c.h), fill=_shade(metal, 0.8))
    mask = c.body(lambda d, f: d.rectangle((0, e, c.w, c.h - e), fill=f))
    c.shade(mask, (0.18, 0, 0.3, 1), (255, 255, 255), 0.3)
    c.draw.ellipse((0, 0, c.w, 2 * e), fill=metal, outline=_shade(metal, 0.7), width=round(e * 0.12))
    c.draw.ellipse(c.box(0.08, 0.02, 0.92, 0.18), outline=_shade(metal, 0.85), width=round(e * 0.1))
    c.draw.rounded_rectangle(c.box(0.38, 0.06, 0.62, 0.13), radius=e * 0.3, outline=(150, 150, 156), width=6)
    c.label(c.box(0.14, 0.28, 0.86, 0.85))


def _jar(c: Canvas) -> None:
    glass = c.box(0.02, 0.14, 0.98, 1)
    mask = c.body(lambda d, f: d.rounded_rectangle(glass, radius=c.w * 0.16, fill=f), (226, 236, 238), pattern=False)
    treat = _hsv(c.dice.between("treat", 0.04, 0.11), 0.6, c.dice.between("bake", 0.55, 0.85))
    for i in range(22):  # a heap of treats behind the glass
        (x, y), r = (
            c.at((0.2 + 0.6 * ((i * 0.37) % 1), 0.44 + 0.42 * i / 22))[0],
            c.w * c.dice.between(f"crumb{i}", 0.05, 0.09),
        )
        c.draw.ellipse((x - r, y - r * 0.8, x + r, y + r * 0.8), fill=_shade(treat, 0.85 + 0.3 * ((i * 0.61) % 1)))
    c.shade(mask, (0.1, 0, 0.2, 1), (255, 255, 255), 0.45)
    c.body(lambda d, f: d.rounded_rectangle(c.box(0.08, 0, 0.92, 0.16), radius=c.w * 0.04, fill=f))
    for i in range(1, 8):
        c.draw.line(c.at((0.08 + 0.105 * i, 0), (0.08 + 0.105 * i, 0.16)), fill=(0, 0, 0, 50), width=4)
    c.label(c.box(0.1, 0.34, 0.9, 0.8))


def _bone(c: Canvas) -> None:
    tone = _hsv(
        c.dice.between("treat", 0.03, 0.12), c.dice.between("roast", 0.35, 0.7), c.dice.between("bake", 0.6, 0.9)
    )
    r = min(c.h * 0.17, c.w * 0.09)

    def biscuit(lift: float) -> Paint:
        def paint(d: Pen, f: Any) -> None:
            d.rounded_rectangle(c.box(0.1, 0.25 + lift, 0.9, 0.49 + lift), radius=r * 0.4, fill=f)
            for x, y in c.at((0.1, 0.24 + lift), (0.1, 0.5 + lift), (0.9, 0.24 + lift), (0.9, 0.5 + lift)):
                d.ellipse((x - r, y - r, x + r, y + r), fill=f)

        return paint

    biscuit(0.05)(c.draw, _shade(tone, 0.7))  # its thickness, below its face
    c.body(biscuit(0.0), tone, pattern=False)
    c.write(c.box(0.25, 0.28, 0.75, 0.46), c.words.brand, _shade(tone, 0.62), lines=1, bold=True)
    c.tag(c.box(0.45, 0.68, 0.95, 0.98), tie=(c.w * 0.55, c.h * 0.5))


def _ball(c: Canvas) -> None:
    d = c.h * 0.66
    mask = c.body(lambda dr, f: dr.ellipse((0, c.h - d, d, c.h), fill=f))

    def seams(dr: Pen, f: Any) -> None:
        dr.arc((-d * 0.5, c.h - d * 0.9, d * 0.45, c.h + d * 0.1), -60, 60, f, round(d * 0.025))
        dr.arc((d * 0.55, c.h - d * 1.1, d * 1.5, c.h - d * 0.1), 120, 240, f, round(d * 0.025))

    c.within(mask, seams, (255, 255, 255))
    c.draw.ellipse((d * 0.15, c.h - d * 0.85, d * 0.45, c.h - d * 0.6), fill=(255, 255, 255, 60))
    c.tag(c.box(0.58, 0.04, 0.99, 0.34), tie=(d * 0.7, c.h - d * 0.98))


def _rope(c: Canvas) -> None:
    wave = c.dice.between("wave", 0.08, 0.18)
    path = c.at(*((0.12 + 0.76 * t / 40, 0.4 + wave * math.sin(t / 40 * 2 * math.pi)) for t in range(41)))
    r = c.h * 0.07
    for x, y in path:
        c.draw.ellipse((x - r, y - r, x + r, y + r), fill=c.look.body)
    for x, y in path[1:-1]:  # the twist of the strands
        c.draw.line([(x - r * 0.45, y - r * 0.85), (x + r * 0.45, y + r * 0.85)], c.look.accent, round(r * 0.3))
    for x, y in (path[0], path[-1]):  # a knot at each end
        k = r * 1.9
        c.draw.ellipse((x - k, y - k, x + k, y + k), fill=_shade(c.look.body, 0.9))
        for j in range(-3, 4):
            half = k * math.sqrt(1 - (j / 4) ** 2) * 0.9
            c.draw.line([(x - half, y + j * k / 4), (x + half, y + j * k / 4)], c.look.accent, round(r * 0.2))
    c.tag(c.box(0.55, 0.66, 0.98, 0.97), tie=path[-4])


def _mouse(c: Canvas) -> None:
    fur = c.look.body
    nose = (c.w * 0.62, c.h * 0.42)
    tail = c.at(*((0.14 - 0.13 * t / 16, 0.46 + 0.1 * math.sin(t / 16 * 2 * math.pi)) for t in range(17)))
    c.draw.line(tail, fill=_shade(fur, 0.7), width=round(c.h * 0.025), joint="curve")
    back = c.at(
        *((0.32 + 0.2 * math.cos(a / 12 * math.pi), 0.42 + 0.2 * math.sin(a / 12 * math.pi)) for a in range(5, 20))
    )
    mask = c.body(lambda d, f: d.polygon([nose, *back], fill=f))
    c.shade(mask, (0, 0.5, 1, 1), (0, 0, 0), 0.15)
    for y in (0.22, 0.5):  # the ears
        c.draw.ellipse(c.box(0.38, y - 0.1, 0.5, y + 0.08), fill=_shade(fur, 0.85))
        c.draw.ellipse(c.box(0.4, y - 0.07, 0.48, y + 0.05), fill=(236, 170, 180))
    c.draw.ellipse((nose[0] - 10, nose[1] - 10, nose[0] + 10, nose[1] + 10), fill=(220, 120, 140))
    c.draw.ellipse(c.box(0.5, 0.33, 0.53, 0.37), fill=(20, 20, 20))
    for dy in (-0.09, 0.0, 0.09):
        c.draw.line([nose, *c.at((0.72, 0.42 + dy))], fill=(60, 60, 60), width=3)
    c.tag(c.box(0.55, 0.68, 0.98, 0.98), tie=(c.w * 0.3, c.h * 0.6))


def _bed(c: Canvas) -> None:
    rim = c.body(lambda d, f: d.ellipse(c.box(0, 0.05, 1, 0.95), fill=f))
    c.shade(rim, (0, 0.6, 1, 1), (0, 0, 0), 0.25)
    c.draw.ellipse(c.box(0.14, 0.15, 0.86, 0.58), fill=_shade(c.look.label, 0.9))
    c.draw.ellipse(c.box(0.18, 0.2, 0.82, 0.6), fill=_shade(c.look.accent, 1.1))
    c.label(c.box(0.36, 0.66, 0.64, 0.88), amount=False)


def _mat(c: Canvas) -> None:
    mask = c.body(lambda d, f: d.rounded_rectangle(c.box(0, 0.25, 1, 0.95), radius=c.h * 0.18, fill=f))
    c.shade(mask, (0, 0.7, 1, 1), (0, 0, 0), 0.25)
    c.draw.rounded_rectangle(c.box(0.08, 0.3, 0.92, 0.6), radius=c.h * 0.1, fill=_shade(c.look.accent, 1.05))
    c.draw.line(c.at((0.1, 0.45), (0.9, 0.45)), fill=(0, 0, 0, 40), width=6)
    c.label(c.box(0.38, 0.66, 0.62, 0.9), amount=False)


def _bottle(c: Canvas, neck: bool) -> None:
    cap = c.dice.pick("cap", ((245, 245, 245), (40, 40, 44), c.look.accent))
    if neck:  # a dropper
        c.draw.rounded_rectangle(c.box(0.36, 0, 0.64, 0.14), radius=c.w * 0.12, fill=(30, 30, 34))
        c.draw.rectangle(c.box(0.3, 0.12, 0.7, 0.22), fill=cap)
        c.draw.polygon(c.at((0.34, 0.22), (0.66, 0.22), (1, 0.34), (0, 0.34)), fill=c.look.body)
        top = 0.3
    else:  # a tub of tablets, its cap ridged
        c.draw.rounded_rectangle(c.box(0.04, 0, 0.96, 0.2), radius=c.w * 0.05, fill=cap)
        for i in range(1, 12):
            c.draw.line(c.at((0.04 + 0.0767 * i, 0), (0.04 + 0.0767 * i, 0.2)), fill=(0, 0, 0, 40), width=5)
        top = 0.19
    mask = c.body(lambda d, f: d.rounded_rectangle(c.box(0, top, 1, 1), radius=c.w * 0.12, fill=f), pattern=False)
    c.shade(mask, (0.1, 0, 0.2, 1), (255, 255, 255), 0.35)
    cross = c.dice.pick("cross", ((214, 40, 52), (30, 150, 90), (40, 110, 200)))
    c.label(c.box(0.08, top + 0.12, 0.92, 0.92), cross=cross)


def _brush(c: Canvas) -> None:
    wood = _hsv(c.dice.between("wood", 0.06, 0.1), 0.55, c.dice.between("grain", 0.45, 0.8))
    c.draw.rounded_rectangle(c.box(0.42, 0.3, 1, 0.46), radius=c.h * 0.08, fill=wood)
    c.write(c.box(0.52, 0.32, 0.95, 0.44), c.words.brand, _shade(wood, 0.5), lines=1, bold=True)
    c.body(lambda d, f: d.ellipse(c.box(0, 0.08, 0.5, 0.68), fill=f), pattern=False)
    c.draw.ellipse(c.box(0.04, 0.14, 0.46, 0.62), fill=(30, 30, 30, 150))
    for i in range(9):
        for j in range(9):
            x, y = c.w * (0.06 + 0.042 * i), c.h * (0.16 + 0.052 * j)
            if ((x / c.w - 0.25) / 0.2) ** 2 + ((y / c.h - 0.38) / 0.23) ** 2 < 1:
                c.draw.ellipse((x - 7, y - 7, x + 7, y + 7), fill=c.look.label)
    c.tag(c.box(0.5, 0.62, 0.98, 0.97), tie=(c.w * 0.93, c.h * 0.38))


def _comb(c: Canvas) -> None:
    steel = c.dice.pick("steel", ((190, 194, 200), c.look.body))
    c.draw.rounded_rectangle(c.box(0, 0.1, 1, 0.3), radius=c.h * 0.06, fill=steel)
    c.draw.rounded_rectangle(c.box(0.72, 0.1, 1, 0.3), radius=c.h * 0.06, fill=c.look.accent)
    for i in range(46):
        x = 0.03 + 0.66 * i / 45
        c.draw.line(c.at((x, 0.28), (x, 0.58 if i % 2 else 0.52)), fill=_shade(steel, 0.85), width=round(c.w * 0.006))
    c.write(c.box(0.06, 0.13, 0.66, 0.27), c.words.brand, _shade(steel, 0.45), lines=1, bold=True)
    c.tag(c.box(0.5, 0.64, 0.98, 0.98), tie=(c.w * 0.86, c.h * 0.28))


def _frame(c: Canvas, top: float) -> None:
    """The base every habitat stands on, with the brand's plate."""
    c.draw.rectangle(c.box(0, 0.9, 1, 1), fill=_shade(c.look.body, 0.6))
    plate = c.box(0.3, 0.91, 0.7, 0.99)
    c.draw.rectangle(plate, fill=c.look.label)
    c.write(plate, c.words.brand, c.look.ink, lines=1, bold=True)
    c.draw.rectangle(c.box(0, top, 1, top + 0.05), fill=_shade(c.look.body, 0.6))


def _tank(c: Canvas, reptile: bool) -> None:
    x0, y0, x1, y1 = c.box(0.02, 0.16 if reptile else 0.2, 0.98, 0.9)
    deep, light = ((150, 130, 90), (222, 226, 206)) if reptile else ((20, 90, 150), (120, 200, 230))
    for i in range(0, int(y1 - y0), 2):  # water (or a terrarium's warm air), deeper toward the bottom
        t = i / (y1 - y0)
        c.draw.line(
            [(x0, y0 + i), (x1, y0 + i)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(light, deep, strict=True)),
            width=2,
        )
    sand = (212, 180, 120) if reptile else (190, 170, 140)
    c.draw.polygon(
        [(x0, y1 - c.h * 0.1), (x1 * 0.6, y1 - c.h * 0.14), (x1, y1 - c.h * 0.08), (x1, y1), (x0, y1)], fill=sand
    )
    for i in range(7):
        x, tip = x0 + (x1 - x0) * (0.08 + 0.14 * i), y1 - c.h * c.dice.between(f"plant{i}", 0.2, 0.5)
        c.draw.polygon(
            [(x - 14, y1 - 20), (x + c.w * 0.03 * math.sin(i), tip), (x + 14, y1 - 20)], fill=(40, 140 + 10 * i, 60)
        )
    if reptile:  # a rock, a branch and the doors' join
        c.draw.ellipse(c.box(0.55, 0.68, 0.85, 0.86), fill=(120, 116, 110))
        c.draw.line(c.at((0.1, 0.7), (0.7, 0.4)), fill=(110, 75, 45), width=round(c.h * 0.03))
        c.draw.line(c.at((0.5, 0.16), (0.5, 0.9)), fill=(40, 40, 40), width=8)
    else:  # fish and bubbles
        for i in range(3):
            fish = _hsv(c.dice.unit(f"fish{i}"), 0.85, 0.95)
            fx, fy, s = c.w * (0.25 + 0.25 * i), c.h * c.dice.between(f"swim{i}", 0.35, 0.6), c.w * 0.05
            c.draw.ellipse((fx - s, fy - s * 0.5, fx + s, fy + s * 0.5), fill=fish)
            c.draw.polygon([(fx + s * 0.8, fy), (fx + s * 1.5, fy - s * 0.5), (fx + s * 1.5, fy + s * 0.5)], fill=fish)
        for i in range(8):
            (bx, by), br = c.at((0.8, 0.3 + 0.06 * i))[0], 6 + i % 3 * 3
            c.draw.ellipse((bx - br, by - br, bx + br, by + br), outline=(230, 245, 255), width=3)
    c.draw.rectangle(c.box(0.02, 0.16, 0.08, 0.9), fill=(255, 255, 255, 60))
    c.draw.rectangle(c.box(0, 0.1, 1, 0.92), outline=_shade(c.look.body, 0.6), width=round(c.w * 0.015))
    _frame(c, 0.1)
    for i in range(1, 40 if reptile else 1):  # a terrarium's mesh lid
        c.draw.line(c.at((i / 40, 0.1), (i / 40, 0.15)), fill=(170, 170, 170), width=3)


def _cage(c: Canvas, dome: bool) -> None:
    wire = c.dice.pick("wire", ((235, 235, 235), (60, 60, 64), _shade(c.look.body, 1.1)))
    top = 0.3 if dome else 0.2
    if not dome:  # a crate seen from a little above: its top panel in depth
        c.draw.polygon(c.at((0.04, top), (0.14, 0.06), (0.96, 0.06), (0.96, top)), fill=(0, 0, 0, 40))
        for x in (0.04 + 0.92 * i / 12 for i in range(13)):
            c.draw.line(c.at((x, top), (x + 0.1 * (1 - x), 0.06)), fill=wire, width=6)
        c.draw.line(c.at((0.14, 0.06), (0.96, 0.06)), fill=wire, width=10)
    for x in (0.04 + 0.92 * i / 17 for i in range(18)):
        lift = math.sqrt(max(0.0, 1 - ((x - 0.5) / 0.46) ** 2)) if dome else 0
        c.draw.line(c.at((x, top + 0.02 - 0.26 * lift), (x, 0.9)), fill=wire, width=7)
    if dome:  # its top, the ring it hangs from, a perch and a swing
        c.draw.arc(c.box(0.04, 0.06, 0.96, 0.54), 180, 360, fill=wire, width=9)
        c.draw.ellipse(c.box(0.46, 0, 0.54, 0.07), outline=wire, width=9)
        c.draw.line(c.at((0.2, 0.66), (0.8, 0.66)), fill=(130, 90, 50), width=16)
        c.draw.line(c.at((0.4, 0.3), (0.4, 0.5), (0.6, 0.5), (0.6, 0.3)), fill=c.look.accent, width=8)
    else:  # its door and latch
        c.draw.rectangle(c.box(0.56, 0.3, 0.9, 0.86), outline=wire, width=14)
        c.draw.rectangle(c.box(0.54, 0.52, 0.6, 0.62), fill=c.look.accent)
    for y in (top, 0.5, 0.7):
        c.draw.line(c.at((0.04, y), (0.96, y)), fill=wire, width=10)
    _frame(c, 0.86)


def _hutch(c: Canvas) -> None:
    wood = _hsv(
        c.dice.between("wood", 0.05, 0.1), c.dice.between("stain", 0.35, 0.6), c.dice.between("grain", 0.5, 0.85)
    )
    c.draw.polygon(c.at((0, 0.3), (0.5, 0), (1, 0.3)), fill=c.look.body)
    c.draw.rectangle(c.box(0.04, 0.3, 0.96, 0.9), fill=wood)
    for y in (0.3 + 0.066 * i for i in range(1, 9)):  # planks
        c.draw.line(c.at((0.04, y), (0.96, y)), fill=_shade(wood, 0.85), width=4)
    c.draw.rectangle(c.box(0.5, 0.36, 0.9, 0.84), fill=_shade(wood, 0.45))
    for i in range(9):  # the run's mesh
        c.draw.line(c.at((0.5 + 0.05 * i, 0.36), (0.5 + 0.05 * i, 0.84)), fill=(200, 200, 200), width=4)
        c.draw.line(c.at((0.5, 0.36 + 0.06 * i), (0.9, 0.36 + 0.06 * i)), fill=(200, 200, 200), width=4)
    door = c.box(0.12, 0.46, 0.4, 0.84)
    c.draw.rounded_rectangle(door, radius=c.w * 0.02, fill=_shade(wood, 0.7), outline=_shade(wood, 0.5), width=6)
    for x in (0.08, 0.86):
        c.draw.rectangle(c.box(x, 0.9, x + 0.06, 1), fill=_shade(wood, 0.6))
    plate = c.box(0.15, 0.34, 0.37, 0.43)
    c.draw.rectangle(plate, fill=c.look.label)
    c.write(plate, c.words.brand, c.look.ink, lines=1, bold=True)


def _cat_tree(c: Canvas) -> None:
    for x in (0.2, 0.7):  # posts wound with sisal
        c.draw.rectangle(c.box(x, 0.15, x + 0.1, 0.9), fill=(214, 190, 140))
        for y in (0.15 + 0.75 * i / 40 for i in range(40)):
            c.draw.line(c.at((x, y), (x + 0.1, y + 0.006)), fill=(170, 146, 100), width=4)
    for x0, y, x1 in ((0.05, 0.12, 0.5), (0.5, 0.4, 0.95), (0.0, 0.62, 0.55)):
        c.draw.rounded_rectangle(c.box(x0, y, x1, y + 0.06), radius=18, fill=c.look.body)
    c.body(lambda d, f: d.rounded_rectangle(c.box(0.5, 0.62, 0.98, 0.9), radius=20, fill=f))
    c.draw.ellipse(c.box(0.62, 0.68, 0.86, 0.86), fill=(40, 34, 30))
    _frame(c, 0.86)


def _collar(c: Canvas) -> None:
    band = round(c.h * 0.09)
    mask = c.body(lambda d, f: d.ellipse(c.box(0.04, 0.06, 0.96, 0.7), outline=f, width=band))
    c.shade(mask, (0, 0.38, 1, 1), (0, 0, 0), 0.2)
    metal = c.dice.pick("metal", ((200, 170, 80), (200, 204, 210)))
    c.draw.rounded_rectangle(c.box(0.44, 0.6, 0.56, 0.74), radius=8, outline=metal, width=12)
    c.draw.ellipse(c.box(0.44, 0.74, 0.56, 0.9), fill=metal)
    c.tag(c.box(0.6, 0.72, 0.98, 0.98), tie=(c.w * 0.55, c.h * 0.82))


def _leash(c: Canvas) -> None:
    strap = round(c.h * 0.065)
    c.draw.ellipse(c.box(0.02, 0.1, 0.3, 0.5), outline=c.look.body, width=strap)
    path = c.at(*((0.28 + 0.6 * t / 30, 0.3 + 0.16 * math.sin(t / 30 * 3 * math.pi)) for t in range(31)))
    c.draw.line(path, fill=c.look.body, width=strap, joint="curve")
    c.draw.line(path, fill=c.look.accent, width=max(2, strap // 5), joint="curve")
    (x, y), metal = path[-1], (190, 194, 200)  # the clip
    c.draw.rounded_rectangle((x - 10, y - 30, x + 50, y + 30), radius=12, fill=metal)
    c.draw.arc((x + 30, y - 40, x + 110, y + 40), -90, 90, fill=metal, width=14)
    c.tag(c.box(0.3, 0.64, 0.72, 0.96), tie=(c.w * 0.16, c.h * 0.5))


def _bowl(c: Canvas) -> None:
    mask = c.body(lambda d, f: d.polygon(c.at((0, 0.3), (1, 0.3), (0.86, 1), (0.14, 1)), fill=f))
    c.shade(mask, (0.55, 0, 1, 1), (0, 0, 0), 0.18)
    c.draw.ellipse(c.box(0, 0.12, 1, 0.48), fill=_shade(c.look.body, 1.15))
    c.draw.ellipse(c.box(0.06, 0.16, 0.94, 0.44), fill=_shade(c.look.body, 0.55))
    kibble = _hsv(0.07, 0.6, 0.55)
    for i in range(26):
        x, y = c.at((0.18 + 0.64 * ((i * 0.39) % 1), 0.21 + 0.17 * ((i * 0.618) % 1)))[0]
        c.draw.ellipse((x - 18, y - 12, x + 18, y + 12), fill=_shade(kibble, 0.8 + 0.4 * ((i * 0.7) % 1)))
    c.write(c.box(0.2, 0.56, 0.8, 0.8), c.words.brand, c.look.label, lines=1, bold=True)


def _box(c: Canvas) -> None:
    d = 0.22  # the depth of the carton, seen from above and from its right
    c.draw.polygon(c.at((0, d), (d, 0), (1, 0), (1 - d, d)), fill=_shade(c.look.body, 1.2))
    c.draw.polygon(c.at((1 - d, d), (1, 0), (1, 1 - d), (1 - d, 1)), fill=_shade(c.look.body, 0.7))
    c.body(lambda dr, f: dr.rectangle(c.box(0, d, 1 - d, 1), fill=f))
    c.label(c.box(0.08, 0.34, 0.7, 0.92))


@dataclass(frozen=True)
class Shape:
    draw: Callable[[Canvas], None]
    height: float  # of the photo
    aspect: float  # width / height of the object's layer
    flat: bool = False  # laid on a surface and seen from above, not standing in a room


SHAPES: Final[dict[str, Shape]] = {
    "bag": Shape(_bag, 0.66, 0.72),
    "can": Shape(_can, 0.5, 0.78),
    "jar": Shape(_jar, 0.56, 0.8),
    "bone": Shape(_bone, 0.56, 1.5, flat=True),
    "ball": Shape(_ball, 0.6, 1.3),
    "rope": Shape(_rope, 0.54, 1.5, flat=True),
    "mouse": Shape(_mouse, 0.54, 1.3, flat=True),
    "bed": Shape(_bed, 0.5, 1.6),
    "mat": Shape(_mat, 0.4, 2.0),
    "pills": Shape(lambda c: _bottle(c, neck=False), 0.56, 0.66),
    "dropper": Shape(lambda c: _bottle(c, neck=True), 0.64, 0.5),
    "brush": Shape(_brush, 0.5, 1.6, flat=True),
    "comb": Shape(_comb, 0.46, 1.8, flat=True),
    "tank": Shape(lambda c: _tank(c, reptile=False), 0.64, 1.45),
    "terrarium": Shape(lambda c: _tank(c, reptile=True), 0.64, 1.3),
    "cage": Shape(lambda c: _cage(c, dome=True), 0.74, 0.85),
    "crate": Shape(lambda c: _cage(c, dome=False), 0.6, 1.4),
    "hutch": Shape(_hutch, 0.66, 1.35),
    "cat_tree": Shape(_cat_tree, 0.76, 0.9),
    "collar": Shape(_collar, 0.54, 1.3, flat=True),
    "leash": Shape(_leash, 0.56, 1.4, flat=True),
    "bowl": Shape(_bowl, 0.36, 1.6),
    "box": Shape(_box, 0.6, 0.9),
}
# Which object a category shows: a word of the name first, else the id's pick.
_BY_WORD: Final = {
    "food": ((r"\bcans?\b|wet|pate|mousse|broth|entree|trays|topper|canned", "can"),),
    "treats": (
        (r"drops|bites|puffs|flakes|balls|cubes|mix|tubes", "jar"),
        (r"chew|stick|bone|biscuit|antler|jerky|rolls|strips", "bone"),
    ),
    "toys": ((r"ball", "ball"), (r"rope|tug|bungee|snake", "rope"), (r"mice|mouse|kicker|plush|hedgehog", "mouse")),
    "beds": ((r"\bmat\b|\bpad\b|\bcot\b|sofa|bedding", "mat"),),
    "health": ((r"\bml\b|drops|solution|oil|spray|additive|treatment|starter|conditioner", "dropper"),),
    "grooming": ((r"comb", "comb"),),
    "accessories": ((r"bowl|fountain|feeder", "bowl"), (r"leash|lead\b", "leash"), (r"collar|tag\b|harness", "collar")),
}
_CHOICES: Final = {
    "food": ("bag",),
    "treats": ("bone", "jar"),
    "toys": ("ball", "rope", "mouse"),
    "beds": ("bed",),
    "health": ("pills",),
    "grooming": ("brush",),
    "accessories": ("collar", "leash", "bowl"),
}
_HABITATS: Final = {
    "fish": "tank",
    "reptile": "terrarium",
    "bird": "cage",
    "small_animal": "hutch",
    "dog": "crate",
    "cat": "cat_tree",
}


def shape_of(product: Mapping[str, Any]) -> str:
    """The name of the object a product's photo shows (a key of ``SHAPES``)."""
    category, species = str(product.get("category") or ""), str(product.get("species") or "")
    if category == "habitats":
        return _HABITATS.get(species, "cage")
    if category == "accessories" and species in ("fish", "reptile"):
        return "box"  # heaters, filters, lamps: equipment comes boxed
    name = _plain(str(product.get("name") or "")).lower()
    for pattern, shape in _BY_WORD.get(category, ()):
        if re.search(pattern, name):
            return shape
    return Dice(str(product.get("id") or name)).pick("shape", _CHOICES.get(category, ("box",)))


_LOW: Final = 4  # the backdrop is smooth: made at a quarter of the size, then enlarged


def _backdrop(dice: Dice, flat: bool) -> tuple[Image.Image, int]:
    """A studio's wall and floor (or, for a flat lay, one surface), lit from one side, at ``1/_LOW`` size.

    Also the floor's top, in the photo's pixels.
    """
    w, h = SIZE[0] // _LOW, SIZE[1] // _LOW
    hue = dice.unit("room")
    wall, floor = (
        _hsv(hue, dice.between("tint", 0.04, 0.16), 0.96),
        _hsv(hue + 0.05, dice.between("floor", 0.06, 0.2), 0.84),
    )
    horizon = 0 if flat else round(h * dice.between("horizon", 0.58, 0.7))
    column = []
    for y in range(h):
        if y < horizon:
            column.append(_shade(wall, 1.0 - 0.1 * y / horizon))
        else:
            t = (y - horizon) / (h - horizon)
            column.append(_shade(floor, 0.88 + 0.14 * min(1.0, t * 4) - 0.08 * t))
    strip = Image.new("RGB", (1, h))
    strip.putdata(column)
    strip = strip.filter(ImageFilter.BoxBlur(3))  # the wall curves into the floor, as on a studio's sweep
    light = _vignette().crop(_window(dice, w, h))
    return ImageChops.multiply(strip.resize((w, h), Image.Resampling.NEAREST), light), horizon * _LOW


@cache
def _vignette() -> Image.Image:
    """Light falling off from a spot, twice the backdrop's size: each photo crops its own window of it."""
    spot = Image.radial_gradient("L").resize((SIZE[0] * 2 // _LOW, SIZE[1] * 2 // _LOW), Image.Resampling.BILINEAR)
    spot = spot.point(lambda v: 255 - round(v * 0.3))
    return Image.merge("RGB", (spot, spot, spot))


def _window(dice: Dice, w: int, h: int) -> tuple[int, int, int, int]:
    x, y = round(w * dice.between("light-x", 0.2, 0.8)), round(h * dice.between("light-y", 0.25, 0.7))
    return x, y, x + w, y + h


# Each level less _GRAIN, and at most 255 - 2 * _GRAIN: adding the grain then never wraps
# (an integer add that wraps is several times faster than Pillow's saturating one).
_ROOM_FOR_GRAIN: Final = [min(max(v - _GRAIN, 0), 255 - 2 * _GRAIN) for v in range(256)] * 3


@cache
def _grain() -> Image.Image:
    """Noise of 0 to ``2 * _GRAIN`` levels, added to a photo lowered by ``_GRAIN``; hashed bytes, the same everywhere.

    Each byte's two halves are two dice, so the noise peaks in the middle as a sensor's does.
    """
    dice = [(byte & 15) % (_GRAIN + 1) + (byte >> 4) % (_GRAIN + 1) for byte in range(256)]
    return Image.frombytes("RGB", SIZE, hashlib.shake_256(b"grain").digest(SIZE[0] * SIZE[1] * 3)).point(dice * 3)


def _reduced(layer: Image.Image, flat: bool) -> Image.Image:
    """The layer at its size in the photo (premultiplied ``RGBa``), lit from the upper left.

    Everything is drawn opaque on transparent black, so the colours are already
    premultiplied by the alpha: reduced apart from it, they skip Pillow's two
    conversions of the whole layer to and from premultiplied alpha.
    """
    *colours, alpha = (band.reduce(_SCALE) for band in layer.split())
    light = _ramp(flat).resize(alpha.size, Image.Resampling.NEAREST)
    return Image.merge("RGBa", (*(ImageChops.multiply(band, light) for band in colours), alpha))


@cache
def _ramp(flat: bool) -> Image.Image:
    across = Image.linear_gradient("L").rotate(90)  # dark on the right
    ramp = ImageChops.add(across, Image.linear_gradient("L"), scale=2) if flat else across
    return ramp.point(lambda v: 255 - round(v * 0.28))


def _shadow(photo: Image.Image, alpha: Image.Image, at: tuple[int, int], flat: bool, colour: RGB) -> None:
    """A soft shadow of the object: cast down on a flat lay; in a room, at its foot and behind it."""
    k = 8  # drawn at an eighth of the size, blurred, then enlarged where it falls
    small = alpha.resize((max(1, alpha.width // k), max(1, alpha.height // k)), Image.Resampling.BILINEAR)
    shadow = Image.new("L", (SIZE[0] // k, SIZE[1] // k), 0)
    x, y = at[0] // k, at[1] // k
    if flat:
        shadow.paste(small, (x + 2, y + 3), small)
    else:
        squashed = small.resize((small.width, max(1, small.height // 5)), Image.Resampling.BILINEAR)
        shadow.paste(squashed, (x + small.width // 6, y + small.height - squashed.height), squashed)  # behind it
        ImageDraw.Draw(shadow).ellipse((x, y + small.height - 2, x + small.width, y + small.height + 2), fill=255)
    shadow = shadow.filter(ImageFilter.GaussianBlur(2.5 if flat else 1.5)).point(lambda v: round(v * 0.45))
    if box := shadow.getbbox():
        where = shadow.crop(box).resize(((box[2] - box[0]) * k, (box[3] - box[1]) * k), Image.Resampling.BILINEAR)
        photo.paste(Image.new("RGB", where.size, colour), (box[0] * k, box[1] * k), where)


def render(product: Mapping[str, Any]) -> Image.Image:
    """The product's photo as an RGB image of ``SIZE``."""
    dice = Dice(str(product.get("id") or product.get("name") or ""))
    shape = SHAPES[shape_of(product)]
    backdrop, horizon = _backdrop(dice, shape.flat)
    height = SIZE[1] * shape.height * dice.between("scale", 0.88, 1.05)
    width = min(SIZE[0] * 0.86, height * shape.aspect * dice.between("proportion", 0.9, 1.1))
    tilt = dice.between("tilt", -28, 28) if shape.flat else 0.0
    cos, sin = abs(math.cos(math.radians(tilt))), abs(math.sin(math.radians(tilt)))
    room = min(1.0, SIZE[0] * 0.9 / (width * cos + height * sin), SIZE[1] * 0.9 / (width * sin + height * cos))
    width, height = width * room, height * room  # the whole product in the frame, turned or not
    canvas = Canvas((round(width) * _SCALE, round(height) * _SCALE), _look(dice), _words(product), dice, tilt)
    shape.draw(canvas)
    layer = _reduced(canvas.image, shape.flat)
    x = round((SIZE[0] - layer.width) * dice.between("place-x", 0.3, 0.7))
    if shape.flat:
        y = (SIZE[1] - layer.height) // 2 + round(SIZE[1] * dice.between("place-y", -0.04, 0.04))
    else:
        y = min(
            SIZE[1] - layer.height - 16, horizon + round(SIZE[1] * dice.between("depth", 0.06, 0.14)) - layer.height
        )
    y = max(8, y)
    photo = backdrop.resize(SIZE, Image.Resampling.NEAREST)  # a step is under a level: nothing to smooth
    _shadow(photo, layer.getchannel("a"), (x, y), shape.flat, _hsv(dice.unit("room"), 0.3, 0.3))
    photo.paste(layer.convert("RGBA"), (x, y), layer.getchannel("a"))
    return ImageChops.add_modulo(photo.point(_ROOM_FOR_GRAIN), _grain())


def photo_for(product: Mapping[str, Any]) -> bytes:
    """The product's photo: JPEG bytes of ``SIZE``, quality ``QUALITY``, with no metadata at all."""
    out = io.BytesIO()
    render(product).save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def contact_sheet(photos: Sequence[Image.Image], columns: int = 8, thumb: tuple[int, int] = (240, 180)) -> Image.Image:
    rows = max(1, math.ceil(len(photos) / columns))
    sheet = Image.new("RGB", (columns * thumb[0], rows * thumb[1]), (255, 255, 255))
    for i, photo in enumerate(photos):
        small = photo.resize(thumb, Image.Resampling.BILINEAR, reducing_gap=2.0)
        sheet.paste(small, ((i % columns) * thumb[0], (i // columns) * thumb[1]))
    return sheet


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="directory for <id>.jpg and contact-sheet.jpg/.png")
    parser.add_argument("--limit", type=int, default=None, help="only the first N products")
    parser.add_argument("--catalog", type=Path, default=CATALOG)
    args = parser.parse_args(argv)
    products = json.loads(args.catalog.read_text())[: args.limit]
    args.out.mkdir(parents=True, exist_ok=True)
    thumbs = []
    for product in products:
        data = photo_for(product)
        (args.out / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', str(product['id']))}.jpg").write_bytes(data)
        thumbs.append(Image.open(io.BytesIO(data)))
    sheet = contact_sheet(thumbs)
    sheet.save(args.out / "contact-sheet.jpg", quality=85)
    sheet.save(args.out / "contact-sheet.png")
    sys.stdout.write(f"{len(products)} photos in {args.out}\n")


if __name__ == "__main__":
    main()
