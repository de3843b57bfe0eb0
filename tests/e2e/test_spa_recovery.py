"""Accounts that recover and a checkout that remembers, in real Chromium against
the stack as `make run` starts it: a forgotten password reset with the code from
the local mail log, "Send a new code", errors in plain words on their field, the
last shipping address offered (kept with the account), a signed-out cart's
"Sign in to check out", orders without a stray "false"; each state checked with
axe and looked at, at phone and desktop sizes."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from tests.support.running_shop import RunningStack, cognito
from tests.support.spa_pages import screenshot, sign_in, unique, with_site_config

PASSWORD = "Kibble-and-bits-9"
SHOTS = Path("/tmp/shots-a")
HOME = {"name": "Sam Shopper", "line1": "1 Kibble Street", "city": "Springfield", "postal_code": "12345"}
SIZES = [(1366, 900), (390, 844)]


# -- accounts, made for one test through Cognito's JSON API, as the SPA calls it ----------


def new_account(shop: RunningStack, confirmed: bool = True) -> str:
    """A new shopper's email (password ``PASSWORD``), with no order yet."""
    email = f"recover-{uuid.uuid4().hex[:8]}@example.com"
    attributes = [{"Name": "email", "Value": email}]
    made = cognito(shop, "SignUp", {"Username": email, "Password": PASSWORD, "UserAttributes": attributes})
    assert made.status_code == 200, made.text
    if confirmed:
        answer = cognito(shop, "ConfirmSignUp", {"Username": email, "ConfirmationCode": "123456"})
        assert answer.status_code == 200, answer.text
    return email


def mails_to(shop: RunningStack, email: str) -> list[dict[str, Any]]:
    """The mails the local stack sent to ``email``: its mail log (the embedded SES)."""
    found = requests.get(f"http://127.0.0.1:{shop.env['AWS_PORT']}/moto-api/data.json", timeout=30)
    return [m for m in found.json()["ses"]["Message"] if email in json.dumps(m["destinations"])]


def code_in(mail: dict[str, Any]) -> str:
    found = re.search(r"\b(\d{6})\b", mail["body"])
    assert found, mail
    return found.group(1)


# -- what a page state must be ---------------------------------------------------------------
def accessible(page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe  # in the dev lock

    violations = Axe().run(page).response["violations"]
    assert not violations, [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]]) for v in violations]


def looked_at(page: Page, name: str) -> None:
    """Axe finds nothing; the screenshot is kept (test-artifacts/, and /tmp/shots-a/ to look at)."""
    accessible(page)
    width = page.viewport_size["width"] if page.viewport_size else 0
    size = "phone" if width < 600 else "desktop"
    screenshot(page, f"recovery-{name}-{size}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)


def expect_marked(control: Locator, words: str) -> None:
    """The field the error is about: marked invalid, described by the words, focused."""
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_accessible_description(re.compile("^" + re.escape(words)))
    expect(control).to_be_focused()


def add_to_cart(page: Page, product: dict[str, Any]) -> None:
    page.goto(f"/#/product/{product['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(product["name"])
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_have_text(f"Added {product['name']} to your cart.")


def fill_address(page: Page, address: dict[str, str]) -> None:
    page.get_by_role("textbox", name="Full name").fill(address["name"])
    page.get_by_role("textbox", name="Address", exact=True).fill(address["line1"])
    page.get_by_role("textbox", name="City").fill(address["city"])
    page.get_by_role("textbox", name="Postal code").fill(address["postal_code"])


# -- 1. an order opened from Orders ------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_an_order_opened_from_orders_shows_no_stray_false_and_fits_a_phone(
    page: Page, shop: RunningStack, make_product: Any, size: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    product = make_product(f"{unique('kudu')} Orthopedic Memory Foam Bed", category="beds")
    email = new_account(shop)
    page.goto("/")
    sign_in(page, email, PASSWORD)
    add_to_cart(page, product)
    page.goto("/#/cart")
    fill_address(page, HOME)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is placed.")

    # WHEN the shopper opens it from Orders
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Orders").click()
    page.get_by_test_id("order").first.get_by_role("link").click()

    # THEN its page says nothing but the order
    order = page.get_by_role("main")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order [0-9A-F]{8}$"))
    expect(page.get_by_role("button", name="Cancel order")).to_be_visible()
    expect(order).not_to_contain_text("false")
    looked_at(page, "order")
    # AND the product's name is not broken one word a line: its five words take three lines at most
    name = page.get_by_role("row").get_by_role("link", name=product["name"])
    lines = name.evaluate(
        "a => Math.round(a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).lineHeight))"
    )
    assert lines <= 3, f"the name's five words take {lines} lines"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= size[0]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_role("status")).to_have_text("The order is cancelled.")
    expect(order).to_contain_text("Cancelled")
    expect(order).not_to_contain_text("false")
    looked_at(page, "order-cancelled")


# -- 5, 2, 6, 7. checkout: sign in to check out, errors on their field, the last address offered --
@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_checkout_asks_to_sign_in_marks_a_refused_field_and_offers_the_last_address(
    page: Page, shop: RunningStack, make_product: Any, size: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    word = unique("okapi")
    # (a long word in a name must not push the Remove button out of its line)
    first = make_product(f"{word} Extralongsqueakyhedgehogchewrope")
    second = make_product(f"{word} Squeaky Hedgehog Plush Toy")
    email = new_account(shop)

    # GIVEN a signed-out visitor with a cart: the cart offers a primary "Sign in to check out"
    add_to_cart(page, first)
    page.goto("/#/cart")
    go = page.get_by_role("main").get_by_role("link", name="Sign in to check out")
    expect(go).to_be_visible()
    expect(go).to_have_class(re.compile(r"\bprimary\b"))
    remove = page.get_by_role("button", name=f"Remove {first['name']}")
    assert remove.evaluate("b => b.scrollWidth <= b.clientWidth && b.getBoundingClientRect().right <= innerWidth")
    looked_at(page, "cart-signed-out")
    go.click()
    expect(page).to_have_url(re.compile(r"#/signin\?next=cart$"))
    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    # (a new account has no address yet: nothing is offered)
    expect(page.get_by_role("textbox", name="Full name")).to_have_value("")

    # WHEN the shop refuses a field (a name of spaces passes the browser's `required`)
    fill_address(page, {**HOME, "name": "   "})
    page.get_by_role("button", name="Place order").click()

    # THEN it says so in plain words, on the field, which has the focus
    words = "Enter the full name of the person we ship to."
    expect(page.get_by_role("status")).to_have_text(words)
    expect_marked(page.get_by_role("textbox", name="Full name"), words)
    looked_at(page, "checkout-field-error")
    # AND a value too long for the shop is named by its label
    page.get_by_role("textbox", name="Full name").fill(HOME["name"])
    postal = page.get_by_role("textbox", name="Postal code")
    postal.evaluate("input => input.removeAttribute('maxlength')")
    postal.fill("1" * 25)
    expect(page.get_by_role("textbox", name="Full name")).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Place order").click()
    expect_marked(postal, "Postal code: use at most 20 characters.")
    postal.fill(HOME["postal_code"])
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is placed.")

    # WHEN they come back to buy again, in another browser (nothing of this one's storage)
    assert page.context.browser is not None
    other = page.context.browser.new_context(base_url=shop.web, viewport={"width": size[0], "height": size[1]})
    again = other.new_page()
    again.goto("/")
    sign_in(again, email, PASSWORD)
    add_to_cart(again, second)
    again.goto("/#/cart")

    # THEN the address of the last order is offered, from the account
    expect(again.get_by_role("textbox", name="Full name")).to_have_value(HOME["name"])
    expect(again.get_by_role("textbox", name="Address", exact=True)).to_have_value(HOME["line1"])
    expect(again.get_by_role("textbox", name="Postal code")).to_have_value(HOME["postal_code"])
    expect(again.get_by_text("The address of your last order.")).to_be_visible()
    stored = again.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert HOME["line1"] not in stored
    remove = again.get_by_role("button", name=f"Remove {second['name']}")
    assert remove.evaluate("b => b.scrollWidth <= b.clientWidth && b.getBoundingClientRect().right <= innerWidth")
    assert again.evaluate("() => document.documentElement.scrollWidth") <= size[0]
    looked_at(again, "checkout-address-offered")
    again.get_by_role("button", name="Place order").click()
    expect(again.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is placed.")
    # AND signing out leaves no address in the form for the next person at this computer
    again.get_by_role("button", name="Sign out").click()
    add_to_cart(again, first)
    again.goto("/#/cart")
    expect(again.get_by_role("link", name="Sign in to check out")).to_be_visible()
    assert again.get_by_role("textbox", name="Full name", include_hidden=True).input_value() == ""
    other.close()


# -- 3. a forgotten password ---------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_a_forgotten_password_is_reset_with_the_code_from_the_local_mail_log(
    page: Page, shop: RunningStack, size: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    email = new_account(shop)
    page.goto("/#/signin?next=cart")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    looked_at(page, "forgot")
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("button", name="Send the code").click()

    # THEN the code is mailed (locally: to the stack's mail log, which the page names)
    expect(page.get_by_role("heading", name="Set a new password")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(f"If {email} has an account here, we sent it a code.")
    expect(page.get_by_text("This is the local shop: no email leaves it.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"/moto-api/data\.json"))).to_be_visible()
    [mail] = mails_to(shop, email)
    assert mail["subject"] == "Your password reset code"
    code = code_in(mail)

    # WHEN a wrong code is typed: the code field says so
    page.get_by_role("textbox", name="Code from the email").fill("000000" if code != "000000" else "111111")
    page.get_by_role("textbox", name="New password").fill("New-kibble-pass-1")
    page.get_by_role("button", name="Set the password and sign in").click()
    words = "That code is not right. Check the email we sent and try again."
    expect(page.get_by_role("status")).to_have_text(words)
    expect_marked(page.get_by_role("textbox", name="Code from the email"), words)
    looked_at(page, "reset-wrong-code")

    # AND a password the pool's policy refuses: the password field says so, in plain words
    page.get_by_role("textbox", name="Code from the email").fill(code)
    password = page.get_by_role("textbox", name="New password")
    password.evaluate("input => input.removeAttribute('minlength')")
    password.fill("kibble")
    page.get_by_role("button", name="Set the password and sign in").click()
    rules = "Choose a stronger password: at least 10 characters, with upper and lower case letters and a digit."
    expect(page.get_by_role("status")).to_have_text(rules)
    expect_marked(password, rules)
    expect(page.get_by_role("status")).not_to_contain_text("confirm to")  # not Cognito's (moto's) own text

    # WHEN the right code and a good password are sent
    password.fill("New-kibble-pass-1")
    page.get_by_role("button", name="Set the password and sign in").click()

    # THEN the shopper is signed in where they were going; the old password no longer works
    expect(page.get_by_role("status")).to_have_text("Your password is changed and you are signed in.")
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text(email)
    page.get_by_role("button", name="Sign out").click()
    page.goto("/#/signin")
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_have_text("Wrong email or password.")
    expect_marked(page.get_by_role("textbox", name="Password"), "Wrong email or password.")
    looked_at(page, "signin-wrong-password")
    # AND the code is used up
    used = cognito(shop, "ConfirmForgotPassword", {"Username": email, "ConfirmationCode": code, "Password": PASSWORD})
    assert used.status_code == 400 and used.json()["__type"] == "ExpiredCodeException"
    sign_in(page, email, "New-kibble-pass-1")


# -- 4 and 2. sign-up: errors on their field, and "Send a new code" -------------------------------
@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_sign_up_errors_are_on_their_field_and_send_a_new_code_works_locally(
    page: Page, shop: RunningStack, size: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto("/#/signup")
    email = f"resend-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_role("textbox", name="Email").fill(email)
    password = page.get_by_role("textbox", name="Password")
    password.evaluate("input => input.removeAttribute('minlength')")
    password.fill("short")
    page.get_by_role("button", name="Create account").click()
    rules = "Choose a stronger password: at least 10 characters, with upper and lower case letters and a digit."
    expect_marked(password, rules)
    expect(page.get_by_role("status")).to_have_text(rules)
    looked_at(page, "signup-password-error")

    password.fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()
    expect(page.get_by_text("any code is accepted")).to_be_visible()

    # WHEN the shopper asks for a new code
    page.get_by_role("button", name="Send a new code").click()

    # THEN it is sent (locally: into the stack's mail log), not "cannot be reached"
    expect(page.get_by_role("status")).to_have_text(f"We sent a new code to {email}.")
    [mail] = mails_to(shop, email)
    assert mail["subject"] == "Your verification code" and code_in(mail)
    looked_at(page, "confirm-new-code")
    page.get_by_role("textbox", name="Confirmation code").fill(code_in(mail))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("Welcome! Your account is ready.")

    # AND once confirmed, asking again says so in plain words
    page.goto(f"/#/confirm?email={email}")
    page.get_by_role("button", name="Send a new code").click()
    expect(page.get_by_role("status")).to_have_text("This email is already confirmed. Sign in instead.")


def test_an_unconfirmed_account_asking_for_a_reset_is_told_to_confirm_first(page: Page, shop: RunningStack) -> None:
    email = new_account(shop, confirmed=False)
    page.goto("/#/signin?reset=request")
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("button", name="Send the code").click()
    expect(page.get_by_role("status")).to_have_text(
        "This email is not confirmed yet. Confirm it first with the code we sent when you signed up."
    )
    assert mails_to(shop, email) == []


def test_with_auth0_there_is_no_forgot_password_form_its_login_page_offers_it(page: Page, shop: RunningStack) -> None:
    auth0 = {
        "provider": "auth0",
        "domain": "petstore-test.auth0.example",
        "client_id": "spa",
        "audience": "https://api",
    }
    with_site_config(page, {"api_url": shop.api, "stage": "dev", "auth": auth0})
    page.route(
        "https://petstore-test.auth0.example/**",
        lambda route: route.fulfill(content_type="text/html", body="<title>Auth0 login</title><h1>Auth0</h1>"),
    )
    page.goto("/#/signin?reset=request")
    expect(page).to_have_title("Auth0 login")
