"""Cart, checkout and orders in real Chromium, against the stack as `make run` starts it."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.support.running_shop import DEMO_SHOPPER, RunningStack, bearer_of
from tests.support.shop_api import ShopApi
from tests.support.spa_pages import cart_count, screenshot, sign_in, unique


def add_to_cart(page: Page, product: dict[str, Any], quantity: int = 1) -> None:
    page.goto(f"/#/product/{product['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(product["name"])
    page.get_by_role("spinbutton", name="Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_have_text(f"Added {product['name']} to your cart.")


def fill_address(page: Page) -> None:
    page.get_by_role("textbox", name="Full name").fill("Sam Shopper")
    page.get_by_role("textbox", name="Address", exact=True).fill("1 Kibble Street")
    page.get_by_role("textbox", name="City").fill("Springfield")
    page.get_by_role("textbox", name="Postal code").fill("12345")


def at_checkout(page: Page, *lines: tuple[dict[str, Any], int]) -> None:
    """Signed in as the demo shopper, these products in the cart, on the cart page with an address."""
    page.goto("/")
    sign_in(page, *DEMO_SHOPPER)
    for product, quantity in lines:
        add_to_cart(page, product, quantity)
    page.goto("/#/cart")
    fill_address(page)


def test_a_shopper_searches_buys_two_products_and_cancelling_puts_the_stock_back(
    page: Page, shop_api: ShopApi, make_product: Any
) -> None:
    word = unique("wombat")
    ball = make_product(f"{word} Fetch Ball", stock=10, price_cents=899)
    bed = make_product(f"{word} Cosy Bed", stock=5, price_cents=4500, category="beds")

    # GIVEN a visitor who finds the products by searching and filtering
    page.goto("/")
    page.get_by_label("Search products").fill(word)
    expect(page.get_by_test_id("product-card")).to_have_count(2)
    page.get_by_role("combobox", name="Category").select_option("toys")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    expect(page.get_by_role("button", name="Show more")).to_be_hidden()  # one page holds it all
    page.get_by_test_id("product-card").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ball["name"])

    # WHEN they put both in the cart (the cart survives a reload) and sign in at checkout
    page.get_by_role("button", name="Add to cart").click()
    add_to_cart(page, bed, quantity=2)
    page.reload()
    expect(cart_count(page)).to_have_accessible_name("Cart, 3 items")
    cart_count(page).click()
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(page.get_by_text("Estimated total: $98.99")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    sign_in(page, *DEMO_SHOPPER)
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    fill_address(page)
    screenshot(page, "cart")
    page.get_by_role("button", name="Place order").click()

    # THEN the order is confirmed, priced by the server, and the stock went down
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is placed.")
    expect(page.get_by_role("row", name=re.compile("^Total"))).to_contain_text("$98.99")
    screenshot(page, "order-confirmation")
    expect(cart_count(page)).to_have_accessible_name("Cart, 0 items")
    assert shop_api.product(ball["id"])["stock"] == 9
    assert shop_api.product(bed["id"])["stock"] == 3

    # AND it is listed in Orders; cancelling it puts the stock back
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Orders").click()
    newest = page.get_by_test_id("order").first
    expect(newest).to_contain_text("Placed")
    expect(newest).to_contain_text("3 items · $98.99")
    screenshot(page, "orders")
    newest.get_by_role("link").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_role("status")).to_have_text("The order is cancelled.")
    expect(page.get_by_role("main")).to_contain_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    assert shop_api.product(ball["id"])["stock"] == 10
    assert shop_api.product(bed["id"])["stock"] == 5


def test_a_retried_checkout_after_a_lost_answer_buys_only_once(
    page: Page, shop: RunningStack, shop_api: ShopApi, make_product: Any
) -> None:
    product = make_product(f"{unique('quokka')} Chew", stock=10)
    shopper = bearer_of(shop, *DEMO_SHOPPER)
    orders_before = len(shop_api.orders_of(shopper))
    at_checkout(page, (product, 2))

    # GIVEN the first answer to POST /orders is lost on the way back (the order was placed)
    lost: list[str] = []

    def lose_the_answer(route: Route) -> None:
        if route.request.method != "POST" or lost:
            route.continue_()
            return
        route.fetch()  # the server places the order...
        lost.append(route.request.headers["idempotency-key"])
        route.abort("connectionreset")  # ...but the browser never hears of it

    page.route("**/orders", lose_the_answer)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("status")).to_contain_text("cannot be reached")

    # WHEN the shopper clicks Place order again
    with page.expect_request("**/orders") as retry:
        page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is placed.")

    # THEN the retry carried the same key and the shop bought once
    assert retry.value.headers["idempotency-key"] == lost[0]
    assert len(shop_api.orders_of(shopper)) == orders_before + 1
    assert shop_api.product(product["id"])["stock"] == 8


def test_an_out_of_stock_checkout_names_the_short_line_and_buys_nothing(
    page: Page, shop_api: ShopApi, make_product: Any
) -> None:
    word = unique("numbat")
    plenty = make_product(f"{word} Rope Toy", stock=10)
    scarce = make_product(f"{word} Rare Squeaker", stock=2)
    at_checkout(page, (plenty, 1), (scarce, 1))
    page.get_by_role("spinbutton", name=f"Quantity of {scarce['name']}").fill("3")
    page.get_by_role("spinbutton", name=f"Quantity of {scarce['name']}").blur()

    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Not enough stock for: {scarce['name']}. Change those lines and try again."
    )
    short = page.get_by_test_id("cart-line").filter(has_text=scarce["name"])
    expect(short).to_contain_text("Only 2 left: lower the quantity.")
    expect(page.get_by_test_id("cart-line").filter(has_text=plenty["name"])).not_to_contain_text("left")
    screenshot(page, "out-of-stock")
    assert shop_api.product(plenty["id"])["stock"] == 10
    assert shop_api.product(scarce["id"])["stock"] == 2

    # Lowering the quantity clears the message and the order goes through.
    page.get_by_role("spinbutton", name=f"Quantity of {scarce['name']}").fill("2")
    page.get_by_role("spinbutton", name=f"Quantity of {scarce['name']}").blur()
    expect(short).not_to_contain_text("Only 2 left")
    fill_address(page)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is placed.")
    assert shop_api.product(scarce["id"])["stock"] == 0


def test_the_shop_works_at_phone_width_and_by_keyboard_alone(page: Page, make_product: Any) -> None:
    word = unique("bilby")
    product = make_product(f"{word} Travel Bowl")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    expect(page.get_by_role("combobox", name="Species")).to_be_hidden()  # folded away on a phone
    screenshot(page, "phone-home")

    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")
    expect(page.get_by_label("Search products")).to_be_focused()
    page.keyboard.type(word)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    page.get_by_test_id("product-card").get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(product["name"])
    page.get_by_role("button", name="Add to cart").focus()
    page.keyboard.press("Enter")
    expect(cart_count(page)).to_have_accessible_name("Cart, 1 item")
    screenshot(page, "phone-product")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"

    page.go_back()
    page.get_by_text("Filters and sort").click()
    expect(page.get_by_role("combobox", name="Species")).to_be_visible()


def test_a_double_click_on_place_order_sends_one_order(
    page: Page, shop: RunningStack, shop_api: ShopApi, make_product: Any
) -> None:
    product = make_product(f"{unique('dingo')} Squeaky Bone", stock=10)
    at_checkout(page, (product, 1))
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/orders") else None)

    page.get_by_role("button", name="Place order").dblclick()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is placed.")
    assert len(posts) == 1
    assert shop_api.product(product["id"])["stock"] == 9


def test_the_cart_is_shared_by_the_shops_tabs(page: Page, make_product: Any) -> None:
    product = make_product(f"{unique('emu')} Feather Wand")
    other = page.context.new_page()
    other.goto("/#/cart")
    expect(other.get_by_text("Your cart is empty.")).to_be_visible()

    add_to_cart(page, product, quantity=2)

    expect(cart_count(other)).to_have_accessible_name("Cart, 2 items")
    expect(other.get_by_test_id("cart-line")).to_contain_text(product["name"])
    other.get_by_role("button", name=f"Remove {product['name']}").click()
    expect(cart_count(page)).to_have_accessible_name("Cart, 0 items")
