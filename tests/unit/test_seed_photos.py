"""The seed photos: drawn from the product, the same bytes every time, and one object per category.

The whole catalog's photos are made once for the module, on every core
(about ten seconds of drawing for 240 products on one core). They are then
looked at as a shopper would at a glance: as thumbnails, and as silhouettes
against their backdrop.
"""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from chalicelib.photos.renditions import WIDTHS, make_renditions
from infra.seed_photos import (
    CATALOG,
    SHAPES,
    SIZE,
    Canvas,
    Dice,
    Look,
    Words,
    fit,
    font,
    main,
    photo_for,
    shape_of,
)

PRODUCTS: list[dict[str, Any]] = json.loads(CATALOG.read_text())
BOX = Image.Resampling.BOX
# JPEG markers a photo may carry: start of image, the JFIF header (APP0), the
# quantisation and Huffman tables, the frame and the scan. Not APP1 (EXIF or
# XMP), APP2 (an ICC profile), APP13 (IPTC) nor a comment (COM).
STRUCTURE = {0xD8, 0xE0, 0xDB, 0xC4, 0xC0, 0xDA}


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    with ProcessPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return list(pool.map(photo_for, PRODUCTS, chunksize=6))


@pytest.fixture(scope="module")
def small(photos: list[bytes]) -> list[Image.Image]:
    """Each photo at 160 x 120, decoded at an eighth of its size (JPEG's own scaling, fast)."""
    out = []
    for data in photos:
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (SIZE[0] // 8, SIZE[1] // 8))
        out.append(image.convert("RGB"))
    return out


def markers(data: bytes) -> list[int]:
    """The JPEG's segment markers, up to its scan."""
    found, at = [], 2
    assert data[:2] == b"\xff\xd8"
    while data[at] == 0xFF:
        marker, length = data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")
        found.append(marker)
        if marker == 0xDA:
            return [0xD8, *found]
        at += 2 + length
    raise AssertionError(f"no scan found; stopped at byte {at}")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


def differences(images: list[Image.Image]) -> dict[tuple[int, int], float]:
    """The mean difference of every pair of images (i < j), in levels.

    All pairs in n C calls, not n²/2: the images stacked in one column are
    compared with the same column rolled by k images, and each difference is
    averaged to one pixel by a box reduction (to the nearest level).
    """
    n, (w, h), bands = len(images), images[0].size, len(images[0].getbands())
    column = Image.new(images[0].mode, (w, h * n))
    for i, image in enumerate(images):
        column.paste(image, (0, i * h))
    out = {}
    for k in range(1, n // 2 + 1):
        means = ImageChops.difference(column, ImageChops.offset(column, 0, -k * h)).reduce((w, h)).tobytes()
        for i in range(n):
            j = (i + k) % n
            out[min(i, j), max(i, j)] = sum(means[i * bands : (i + 1) * bands]) / bands
    return out


def nearest(i: int, distances: dict[tuple[int, int], float], n: int) -> int:
    return min((k for k in range(n) if k != i), key=lambda k: distances[min(i, k), max(i, k)])


def silhouette(photo: Image.Image) -> Image.Image:
    """What stands out of the backdrop, cropped to itself and brought to 16 x 16.

    The backdrop of each row is read at its two ends (the product never
    touches the sides) and interpolated across: the studio's wall and floor
    are smooth, so anything differing from it by more than 24 levels is the
    product or its shadow.
    """
    w, h = photo.size
    left, right = (photo.crop((x, 0, x + 3, h)).resize((1, h), BOX).resize((w, h)) for x in (0, w - 3))
    backdrop = Image.composite(right, left, Image.linear_gradient("L").rotate(90).resize((w, h)))
    r, g, b = ImageChops.difference(photo, backdrop).split()
    mask = ImageChops.lighter(ImageChops.lighter(r, g), b).point(lambda v: 255 if v > 24 else 0)
    return mask.crop(mask.getbbox() or (0, 0, w, h)).resize((16, 16), BOX)


def product(**fields: Any) -> dict[str, Any]:
    return {**PRODUCTS[0], **fields}


def test_the_same_product_gives_the_same_bytes_every_time() -> None:
    for item in (PRODUCTS[0], PRODUCTS[100], PRODUCTS[-1]):
        assert photo_for(item) == photo_for(dict(item))


def test_a_photo_depends_only_on_what_it_shows() -> None:
    """Price, stock or description (or a record's other fields) change nothing."""
    changed = product(price_cents=1, stock=0, description="Other words.", image="img/x.svg", photos=[])
    assert photo_for(changed) == photo_for(PRODUCTS[0])


def test_a_photo_is_a_1280_by_960_jpeg_with_no_metadata_at_all() -> None:
    data = photo_for(PRODUCTS[0])
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size, image.mode) == ("JPEG", SIZE, "RGB")
    assert set(markers(data)) <= STRUCTURE
    assert not image.getexif()
    assert not {"exif", "icc_profile", "comment", "xmp", "photoshop"} & set(image.info)


def test_a_seed_photo_passes_the_upload_pipeline_and_gets_every_rendition() -> None:
    """As wide as the largest rendition: the pipeline never enlarges, so a narrower photo would lose it."""
    assert SIZE[0] == max(WIDTHS)
    renditions = make_renditions(photo_for(PRODUCTS[0])).renditions
    assert {r.width for r in renditions} == set(WIDTHS)


def test_each_category_shows_its_own_object() -> None:
    def shape(category: str, species: str = "dog", name: str = "Thing") -> str:
        return shape_of(product(category=category, species=species, name=name))

    assert shape("food", name="Chicken Dry Food, 2 kg") == "bag"
    assert shape("food", name="Beef Stew Wet Dog Food, 12 x 370 g Cans") == "can"
    assert shape("toys", name="High-Bounce Fetch Balls") == "ball"
    assert shape("accessories", name="Leather Dog Collar") == "collar"
    assert [shape("habitats", species) for species in ("fish", "reptile", "bird", "small_animal")] == [
        "tank",
        "terrarium",
        "cage",
        "hutch",
    ]
    assert shape("spaceships") == "box"
    assert {shape_of(item) for item in PRODUCTS} <= set(SHAPES)


def test_every_seeded_product_gets_a_photo_unlike_any_others(photos: list[bytes], small: list[Image.Image]) -> None:
    """At 16 x 16, any two photos differ by more than 5 levels on average.

    The same photo encoded again at quality 75 moves half a level at this
    size; 5 (2% of the range) is a difference seen between two thumbnails side
    by side. The catalog's closest pairs (two bowls, two treats) are about
    7 apart.
    """
    assert len(photos) == len(PRODUCTS) and photos[-1] == photo_for(PRODUCTS[-1])  # the same in another process
    pairs = differences([image.resize((16, 16), BOX) for image in small])
    assert len(pairs) == len(PRODUCTS) * (len(PRODUCTS) - 1) // 2
    close = [(d, PRODUCTS[i]["id"], PRODUCTS[j]["id"]) for (i, j), d in pairs.items() if d <= 5]
    assert close == []


def test_products_of_different_categories_differ_in_shape(small: list[Image.Image]) -> None:
    """Given only its silhouette, a photo's most similar other photo is of its own category.

    For at least 95% of the products; today 236 of 240, the exceptions being
    pairs such as a comb and a bone, both laid flat with a tag. Were every
    category one template in another colour, the nearest silhouette would be
    of the same category by chance only: about 14% of the time with this
    catalog's category sizes.
    """
    pairs = differences([silhouette(image) for image in small])
    categories = [item["category"] for item in PRODUCTS]
    confused = []
    for i in range(len(PRODUCTS)):
        j = nearest(i, pairs, len(PRODUCTS))
        if categories[i] != categories[j]:
            confused.append((PRODUCTS[i]["id"], PRODUCTS[j]["id"]))
    assert len(confused) <= len(PRODUCTS) * 0.05, confused


def test_the_shapes_of_one_category_differ_from_one_another(small: list[Image.Image]) -> None:
    """Proportions and placement vary with the product: no two bags have the same outline.

    The closest two of the catalog's 43 bags are 8 levels apart; 4 leaves room for new products.
    """
    bags = [silhouette(image) for image, item in zip(small, PRODUCTS, strict=True) if shape_of(item) == "bag"]
    assert len(bags) > 20
    assert min(differences(bags).values()) > 4


@pytest.mark.parametrize(
    "fields",
    [
        {"category": "spaceships", "species": "martian"},
        {"name": "Extra " * 200, "brand": "Brand" * 100},
        {"name": "Pâté 🐟 ×" * 30, "brand": "Ünïcödé"},
        {"name": "", "brand": "", "id": ""},
    ],
    ids=["unknown category", "very long name and brand", "letters the font lacks", "empty"],
)
def test_any_product_still_gets_a_photo(fields: dict[str, Any]) -> None:
    image = Image.open(io.BytesIO(photo_for(product(**fields))))
    assert (image.format, image.size) == ("JPEG", SIZE)


def test_a_name_longer_than_its_label_changes_nothing_past_the_cut() -> None:
    long = photo_for(product(name="Chicken Rice Kibble " * 20, brand="Brandname" * 20))
    longer = photo_for(product(name="Chicken Rice Kibble " * 40, brand="Brandname" * 40))
    assert long == longer


@pytest.mark.parametrize("text", ["Chicken & Rice Adult Dry Dog Food", "Supercalifragilistic" * 8, "a " * 300])
def test_label_text_is_fitted_to_its_box_and_cut_with_an_ellipsis(text: str) -> None:
    face, lines = fit(text, width=300, height=120, lines=3, largest=48)
    assert 1 <= len(lines) <= 3
    assert all(face.getlength(line) <= 300 for line in lines)
    assert len(lines) * (face.getbbox("Hg")[3] * 1.1 + 1) <= 120
    if " ".join(lines) != " ".join(text.split()):
        assert lines[-1].endswith("…")


@pytest.mark.parametrize("tilt", [0.0, 20.0])
def test_text_is_never_drawn_outside_its_box(tilt: float) -> None:
    look = Look((200, 100, 50), (50, 100, 200), (250, 250, 240), (20, 20, 20), "plain", 0.0, 0.1)
    canvas = Canvas((600, 400), look, Words("BRAND", "Name", ""), Dice("x"), tilt=tilt)
    canvas.write((100, 100, 300, 160), "Wordy " * 100, (0, 0, 0), lines=2, bold=True)
    corners = [canvas.draw.turn(x, y) for x in (100, 300) for y in (100, 160)]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    assert canvas.image.getbbox() is not None
    canvas.image.paste((0, 0, 0, 0), (int(min(xs)), int(min(ys)), round(max(xs)) + 1, round(max(ys)) + 1))
    assert canvas.image.getbbox() is None


def test_the_label_font_is_pillows_own_at_the_size_asked() -> None:
    """Pillow 10.1+ with FreeType scales its default font (without FreeType it falls back to one bitmap size)."""
    _, top, _, bottom = font(40).getbbox("H")
    _, small_top, _, small_bottom = font(16).getbbox("H")
    assert bottom - top > 2 * (small_bottom - small_top)


def test_the_command_writes_each_photo_and_a_contact_sheet(tmp_path: Path) -> None:
    main(["--out", str(tmp_path), "--limit", "3"])
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(
        [f"{item['id']}.jpg" for item in PRODUCTS[:3]] + ["contact-sheet.jpg", "contact-sheet.png"]
    )
    assert (tmp_path / f"{PRODUCTS[0]['id']}.jpg").read_bytes() == photo_for(PRODUCTS[0])
