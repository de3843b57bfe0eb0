"""Product photos in real Chromium, against the stack as `make run` starts it: an admin
uploads them on the product's page, the image function makes them ready (or refuses
them), shoppers see them on cards, the product page, the cart and their orders."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from PIL import Image
from playwright.sync_api import Locator, Page, Route, expect

from tests.support.photos import a_jpeg, has_gps, post_upload
from tests.support.running_shop import DEMO_ADMIN, DEMO_SHOPPER, RunningStack
from tests.support.shop_api import ShopApi
from tests.support.spa_pages import screenshot, sign_in, unique
from tests.support.waiting import eventually

RENDITION = re.compile(r"/img/[0-9a-f]{32}/v\d+/\d+\.(jpg|webp)$")
READY_MS = 30_000  # the image function's work, with a margin for a busy machine
WIDTHS = re.compile(r"^/img/\S+ 160w, /img/\S+ 320w, /img/\S+ 640w, /img/\S+ 1280w$")


# -- set up over the API, as the admin's browser would ---------------------------------
def add_photo(shop_api: ShopApi, product_id: str, data: bytes, alt: str = "") -> dict[str, Any]:
    """A photo uploaded as the SPA uploads one (grant, presigned POST), once the image function is done."""
    granted = requests.post(
        f"{shop_api.url}/products/{product_id}/photos",
        json={"content_type": "image/jpeg", "alt": alt},
        headers=shop_api.admin,
        timeout=10,
    )
    assert granted.status_code == 201, granted.text
    grant = granted.json()
    sent = post_upload(grant["upload"], data)
    assert sent.status_code == 204, sent.text
    photo = eventually(lambda: settled(shop_api, product_id, grant["photo"]["id"]), timeout_s=READY_MS / 1000)
    assert photo["state"] == "ready", photo
    return photo


def admin_photos(shop_api: ShopApi, product_id: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{shop_api.url}/products/{product_id}/photos", headers=shop_api.admin, timeout=10)
    answer.raise_for_status()
    return list(answer.json()["photos"])


def settled(shop_api: ShopApi, product_id: str, photo_id: str) -> dict[str, Any] | None:
    photo = next(p for p in admin_photos(shop_api, product_id) if p["id"] == photo_id)
    return None if photo["state"] == "processing" else photo


def without_photos(product: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in product.items() if name != "photos"}


# -- what the pages show -----------------------------------------------------------------
def photos_section(page: Page, product_id: str, *, sign_in_first: bool = True) -> Locator:
    """The Photos section of the admin's product page (signing in as the demo admin first)."""
    if sign_in_first:
        page.goto("/")
        sign_in(page, *DEMO_ADMIN)
    page.goto(f"/#/admin/product/{product_id}")
    section = page.get_by_role("region", name="Photos")
    expect(section).to_be_visible()
    return section


def show_top_of(section: Locator) -> None:
    """Scroll the section's heading to the top of the screen (under the sticky bar), for a screenshot."""
    section.get_by_role("heading").first.evaluate("heading => heading.scrollIntoView()")


def a_file(name: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def loaded(image: Locator) -> None:
    """Wait until the image has loaded (whichever rendition the browser chose)."""
    image.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())


def rendition_shown(image: Locator) -> bytes:
    """The bytes of the rendition the browser chose for ``image``, fetched from the shop as it fetched them."""
    loaded(image)
    chosen = image.evaluate("img => img.currentSrc")
    assert RENDITION.search(chosen), chosen
    answer = requests.get(chosen, timeout=10)
    answer.raise_for_status()
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    return answer.content


def metadata_of(data: bytes) -> dict[str, Any]:
    """What an image says besides its pixels: EXIF (camera, place, time) and XMP."""
    with Image.open(io.BytesIO(data)) as image:
        return {"exif": dict(image.getexif()), **{k: v for k, v in image.info.items() if k in ("exif", "xmp")}}


# Every picture in the page's main part that is on screen has loaded.
ON_SCREEN_LOADED = """() => [...document.querySelectorAll("main img")]
    .filter((img) => {
        const box = img.getBoundingClientRect();
        return box.width && box.bottom > 0 && box.top < innerHeight;
    })
    .every((img) => img.complete && img.naturalWidth > 0)"""


# What the page has moved by itself since it opened: the sum of Chromium's layout-shift scores.
LAYOUT_SHIFTS = """window.shifted = 0;
new PerformanceObserver((list) => {
    for (const shift of list.getEntries()) if (!shift.hadRecentInput) window.shifted += shift.value;
}).observe({ type: "layout-shift", buffered: true });"""


def a_png_bomb() -> bytes:
    """A tiny PNG that says it is 20000 x 20000 pixels (400 megapixels): a decompression bomb."""
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG", optimize=True)
    assert len(out.getvalue()) < 200_000
    return out.getvalue()


# -- the tests ---------------------------------------------------------------------------
def test_an_admin_uploads_a_photo_and_shoppers_see_it_without_where_it_was_taken(
    page: Page, shop: RunningStack, shop_api: ShopApi, make_product: Any
) -> None:
    word = unique("quokka")
    product = make_product(f"{word} Rope Tug")
    card = page.get_by_test_id("product-card")

    # GIVEN a product without photos, whose card shows its category's icon
    page.goto(f"/#/?q={word}")
    expect(card).to_have_count(1)
    expect(card.get_by_role("img")).to_have_count(0)  # decorative: the name says it all
    expect(card.locator("img")).to_have_attribute("src", "icons/toys.svg")
    loaded(card.locator("img"))  # the shop's own file, not a photo's path

    # WHEN the admin uploads a JPEG that carries GPS coordinates
    photo = a_jpeg(1600, 1200, gps=True)
    assert has_gps(photo)
    section = photos_section(page, product["id"])
    section.get_by_label("Add photos").set_input_files(a_file("tug.jpg", "image/jpeg", photo))
    item = section.get_by_test_id("admin-photo")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Ready", timeout=READY_MS)  # uploading…, processing…, ready
    expect(section.locator("[aria-live=polite]")).to_have_text("tug.jpg is ready.")
    expect(item.locator("picture img")).to_have_attribute("srcset", WIDTHS)
    item.get_by_label("Alt text of tug.jpg").fill("A knotted blue rope")
    item.get_by_label("Alt text of tug.jpg").blur()
    expect(item).to_contain_text("Saved.")
    [stored] = admin_photos(shop_api, product["id"])
    assert stored["state"] == "ready" and stored["alt"] == "A knotted blue rope"
    assert (stored["width"], stored["height"]) == (1600, 1200)

    # THEN the card shows it, in every width made, WebP first, its box reserved before it loads
    page.goto(f"/#/?q={word}")
    expect(card).to_have_count(1)
    shown = card.get_by_role("img", name="A knotted blue rope")
    expect(shown).to_have_attribute("srcset", WIDTHS)
    expect(shown).to_have_attribute("width", "1600")
    expect(shown).to_have_attribute("height", "1200")
    expect(shown).to_have_attribute("decoding", "async")
    expect(shown).not_to_have_attribute("loading", "lazy")  # the first row of cards is above the fold
    expect(card.locator("picture source[type='image/webp']")).to_have_attribute(
        "srcset", re.compile(r"^/img/\S+\.webp 160w, .+ 1280w$")
    )

    # AND the product page shows it large, first, and what it loads carries no EXIF at all
    card.get_by_role("link").click()
    main = page.locator(".gallery .stage img")
    expect(main).to_have_attribute("alt", "A knotted blue rope")
    expect(main).to_have_attribute("fetchpriority", "high")
    expect(main).not_to_have_attribute("loading", "lazy")
    expect(page.get_by_role("button", name=re.compile(r"^Photo \d"))).to_have_count(0)  # one photo: no thumbnails
    for data in (rendition_shown(main), requests.get(shop.web + stored["src"], timeout=10).content):
        assert not has_gps(data)
        assert metadata_of(data) == {"exif": {}}


def test_files_that_are_not_photos_are_refused_and_nothing_else_changes(
    page: Page, shop: RunningStack, shop_api: ShopApi, make_product: Any
) -> None:
    word = unique("numbat")
    product = make_product(f"{word} Chew Ring")
    first = add_photo(shop_api, product["id"], a_jpeg(800, 600), alt="A green chew ring")
    before = shop_api.product(product["id"])
    grants: list[str] = []
    page.on("request", lambda r: grants.append(r.url) if r.method == "POST" and r.url.endswith("/photos") else None)

    # WHEN the admin picks a text file named .jpg, an SVG and a PNG that claims 400 megapixels
    section = photos_section(page, product["id"])
    section.get_by_label("Add photos").set_input_files(
        [
            a_file("notes.jpg", "image/jpeg", b"These are my notes, not a photo.\n" * 20),
            a_file("logo.svg", "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>'),
            a_file("bomb.png", "image/png", a_png_bomb()),
        ]
    )

    # THEN the SVG is refused at once, with no upload; the other two by the shop, each with its reason
    refused = section.get_by_role("list", name="Files not uploaded")
    expect(refused).to_have_text("logo.svg was not uploaded. It is not a JPEG, PNG or WebP photo.")
    items = section.get_by_test_id("admin-photo")
    expect(items).to_have_count(3)
    for name in ("notes.jpg", "bomb.png"):
        expect(items.filter(has_text=name)).to_contain_text("Failed: ", timeout=READY_MS)
    failed = [p for p in admin_photos(shop_api, product["id"]) if p["state"] == "failed"]
    assert len(failed) == 2 and all(p["reason"] for p in failed)
    for photo in failed:
        expect(items.filter(has_text=f"Failed: {photo['reason']}")).to_have_count(1)
        expect(items.filter(has_text=f"Failed: {photo['reason']}").get_by_role("textbox")).to_have_count(0)
    expect(items.first).to_contain_text("A green chew ring")
    expect(items.first).to_contain_text("Ready")
    assert len(grants) == 2
    show_top_of(section)
    screenshot(page, "photos-refused")

    # AND the product is as it was: the same fields, the same photo shown first, nothing else for shoppers
    after = shop_api.product(product["id"])
    assert without_photos(after) == without_photos(before)
    assert [p for p in after["photos"] if p["state"] == "ready"] == [first]
    page.goto(f"/#/?q={word}")
    card = page.get_by_test_id("product-card")
    expect(card).to_have_count(1)
    expect(card.get_by_role("img", name="A green chew ring")).to_have_attribute("srcset", first["srcset"])


def test_the_product_page_shows_the_first_photo_large_without_moving_and_thumbnails_switch_by_keyboard(
    page: Page, shop_api: ShopApi, make_product: Any
) -> None:
    product = make_product(f"{unique('bandicoot')} Play Tunnel")
    wide = add_photo(shop_api, product["id"], a_jpeg(1280, 960, colour=(30, 90, 200)), alt="The tunnel, open")
    tall = add_photo(shop_api, product["id"], a_jpeg(900, 1200, colour=(200, 60, 40)), alt="The tunnel, folded")
    page.add_init_script(LAYOUT_SHIFTS)
    held: list[Route] = []  # the photos wait until the page's boxes are measured
    released = False

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(RENDITION, hold)

    page.goto(f"/#/product/{product['id']}")
    main = page.locator(".gallery .stage img")
    expect(main).to_have_attribute("src", wide["src"])
    expect(main).to_have_attribute("width", "1280")
    expect(main).to_have_attribute("height", "960")
    heading = page.get_by_role("heading", level=1)
    boxes = [main.bounding_box(), heading.bounding_box()]
    assert main.evaluate("img => img.naturalWidth") == 0  # measured before it loaded
    assert boxes[0] and boxes[0]["height"] > 100

    released = True
    for route in held:
        route.continue_()
    loaded(main)
    assert [main.bounding_box(), heading.bounding_box()] == boxes
    assert page.evaluate("window.shifted") < 0.01

    # The thumbnails: buttons, the pressed one shown large in the same box
    first = page.get_by_role("button", name="Photo 1 of 2")
    second = page.get_by_role("button", name="Photo 2 of 2")
    expect(first).to_have_attribute("aria-pressed", "true")
    second.focus()
    page.keyboard.press("Enter")
    expect(second).to_have_attribute("aria-pressed", "true")
    expect(first).to_have_attribute("aria-pressed", "false")
    expect(main).to_have_attribute("src", tall["src"])
    expect(main).to_have_attribute("alt", "The tunnel, folded")
    expect(main).to_have_attribute("height", "1200")
    loaded(main)
    assert main.bounding_box() == boxes[0]
    page.keyboard.press("ArrowLeft")
    expect(first).to_be_focused()
    expect(main).to_have_attribute("src", wide["src"])


def test_the_admin_reorders_describes_and_deletes_photos_by_keyboard(
    page: Page, shop: RunningStack, shop_api: ShopApi, make_product: Any
) -> None:
    product = make_product(f"{unique('potoroo')} Snuffle Mat")
    red = add_photo(shop_api, product["id"], a_jpeg(640, 480, colour=(200, 40, 40)), alt="Red side")
    blue = add_photo(shop_api, product["id"], a_jpeg(640, 480, colour=(40, 40, 200)), alt="Blue side")
    section = photos_section(page, product["id"])
    items = section.get_by_test_id("admin-photo")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Red side")
    news = section.locator("[aria-live=polite]")

    # Moving: the focus stays with the photo that moved
    section.get_by_role("button", name="Move up: Blue side").focus()
    page.keyboard.press("Enter")
    expect(news).to_have_text("Blue side is now photo 1 of 2.")
    expect(items.first).to_contain_text("Blue side")
    expect(section.get_by_role("button", name="Move down: Blue side")).to_be_focused()
    assert [p["id"] for p in admin_photos(shop_api, product["id"])] == [blue["id"], red["id"]]
    page.goto(f"/#/product/{product['id']}")
    expect(page.locator(".gallery .stage img")).to_have_attribute("src", blue["src"])

    # Alt text: saved when the field is left
    section = photos_section(page, product["id"], sign_in_first=False)
    field = section.get_by_label("Alt text of Red side")
    field.fill("Red side, with treats hidden")
    page.keyboard.press("Tab")
    expect(news).to_have_text("Alt text of Red side saved.")
    assert admin_photos(shop_api, product["id"])[1]["alt"] == "Red side, with treats hidden"

    # Deleting asks first; the focus moves to the photo left
    page.once("dialog", lambda dialog: dialog.dismiss())
    section.get_by_role("button", name="Delete: Blue side").click()
    expect(items).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="Delete: Blue side").click()
    expect(items).to_have_count(1)
    expect(news).to_have_text("Blue side deleted.")
    expect(section.get_by_role("button", name="Delete: Red side, with treats hidden")).to_be_focused()
    assert [p["id"] for p in admin_photos(shop_api, product["id"])] == [red["id"]]
    assert requests.get(shop.web + blue["src"], timeout=10).status_code == 404  # its renditions went with it


def test_cart_and_order_lines_show_small_photos_and_icons_for_products_without(
    page: Page, shop_api: ShopApi, make_product: Any
) -> None:
    word = unique("wallaby")
    ball = make_product(f"{word} Treat Ball")
    bed = make_product(f"{word} Donut Bed", category="beds")
    add_photo(shop_api, ball["id"], a_jpeg(800, 600), alt="A treat ball")
    page.goto("/")
    sign_in(page, *DEMO_SHOPPER)
    for product in (ball, bed):
        page.goto(f"/#/product/{product['id']}")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_role("status")).to_have_text(f"Added {product['name']} to your cart.")

    page.goto("/#/cart")
    lines = page.get_by_test_id("cart-line")
    expect_lines(lines, ball["name"], bed["name"])
    screenshot(page, "photos-cart")
    page.get_by_role("textbox", name="Full name").fill("Sam Shopper")
    page.get_by_role("textbox", name="Address", exact=True).fill("1 Kibble Street")
    page.get_by_role("textbox", name="City").fill("Springfield")
    page.get_by_role("textbox", name="Postal code").fill("12345")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is placed.")

    # Order lines name only their products: a reload asks the shop once for each
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if re.search(r"/products/[^/?]+$", r.url) else None)
    page.reload()
    rows = page.get_by_role("table").get_by_role("row")
    expect_lines(rows, ball["name"], bed["name"])
    screenshot(page, "photos-order")
    assert sorted(asked) == sorted(f"{shop_api.url}/products/{p['id']}" for p in (ball, bed))


def expect_lines(lines: Locator, with_photo: str, without: str) -> None:
    """The line of ``with_photo`` shows its photo's smallest sizes; the other its category's icon."""
    photo = lines.filter(has_text=with_photo).locator("picture img")
    expect(photo).to_have_attribute("sizes", "3.5rem")
    expect(photo).to_have_attribute("alt", "A treat ball")
    expect(photo).to_have_attribute("srcset", re.compile(r"^/img/\S+ 160w, /img/\S+ 320w, /img/\S+ 640w$"))
    expect(lines.filter(has_text=without).locator("img")).to_have_attribute("src", "icons/beds.svg")
    loaded(photo)
    loaded(lines.filter(has_text=without).locator("img"))


@pytest.mark.parametrize("viewport", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_pages_with_photos_pass_axe_and_look_right(
    page: Page, shop_api: ShopApi, make_product: Any, viewport: tuple[int, int]
) -> None:
    from axe_playwright_python import sync_playwright as axe  # in the dev lock

    width, height = viewport
    size = "desktop" if width > 600 else "phone"
    page.set_viewport_size({"width": width, "height": height})
    product = make_product(f"{unique('bilby')} Cooling Mat", category="beds")
    add_photo(shop_api, product["id"], a_jpeg(1280, 960, colour=(60, 140, 90)), alt="The mat, unrolled")
    add_photo(shop_api, product["id"], a_jpeg(960, 1280, colour=(140, 60, 90)), alt="The mat, rolled up")

    def check(name: str) -> None:
        page.wait_for_function(ON_SCREEN_LOADED)
        results = axe.Axe().run(page)
        serious = [v for v in results.response["violations"] if v["impact"] in ("critical", "serious")]
        assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in serious]
        screenshot(page, f"photos-{name}-{size}")

    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    check("home")
    page.goto(f"/#/product/{product['id']}")
    expect(page.get_by_role("button", name="Photo 2 of 2")).to_be_visible()
    check("product")
    section = photos_section(page, product["id"])
    section.get_by_label("Add photos").set_input_files(a_file("notes.jpg", "image/jpeg", b"not a photo"))
    expect(section.get_by_test_id("admin-photo").filter(has_text="notes.jpg")).to_contain_text(
        "Failed: ", timeout=READY_MS
    )
    show_top_of(section)
    check("admin")


def test_the_first_cards_photo_is_asked_as_soon_as_the_results_name_it_and_only_once(
    page: Page, shop_api: ShopApi, make_product: Any
) -> None:
    # GIVEN a product with a photo, found by a word of its own
    word = unique("wallaby")
    product = make_product(f"{word} Sun Hat")
    photo = add_photo(shop_api, product["id"], a_jpeg(1280, 960, colour=(200, 160, 40)), alt="The hat")
    images: list[str] = []
    page.on("request", lambda request: images.append(request.url) if "/img/" in request.url else None)

    # WHEN a shopper opens the search
    page.goto(f"/#/?q={word}")

    # THEN the first answer's photo was preloaded (js/first-search.js), with the card's own srcset and sizes
    shown = page.get_by_test_id("product-card").locator("img")
    expect(shown).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shown.element_handle())
    preload = page.locator('link[rel="preload"][as="image"]')
    expect(preload).to_have_attribute("imagesrcset", photo["webp_srcset"])
    expect(preload).to_have_attribute("imagesizes", shown.get_attribute("sizes") or "")
    # AND the card shows that very file, asked once
    loaded = shown.evaluate("img => img.currentSrc")
    assert urlparse(loaded).path in photo["webp_srcset"]
    assert images.count(loaded) == 1
