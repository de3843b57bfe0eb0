"""Accounts and roles in real Chromium: sign-up, admin pages, the Auth0 path."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, Route, expect

from tests.support.running_shop import DEMO_ADMIN, DEMO_SHOPPER, RunningStack
from tests.support.shop_api import ShopApi, searched
from tests.support.spa_pages import screenshot, sign_in, with_site_config


def test_a_shopper_never_sees_the_admin_pages(page: Page) -> None:
    page.goto("/")
    sign_in(page, *DEMO_SHOPPER)
    account = page.get_by_role("navigation", name="Account")
    expect(account.get_by_role("link", name="Orders")).to_be_visible()
    expect(account.get_by_role("link", name="Admin")).to_be_hidden()

    page.goto("/#/admin")
    expect(page.get_by_role("status")).to_have_text("This page is for the shop's admins.")
    expect(page.get_by_role("heading", name="Catalog")).to_be_hidden()
    page.goto("/#/admin/new")
    expect(page.get_by_role("button", name="Save")).to_be_hidden()


def test_signed_out_visitors_are_asked_to_sign_in_and_come_back(page: Page) -> None:
    page.goto("/#/orders")
    expect(page.get_by_role("status")).to_have_text("Please sign in first.")
    sign_in(page, *DEMO_SHOPPER)
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()


def test_the_admin_creates_edits_restocks_and_deletes_a_product_and_search_follows(
    page: Page, shop_api: ShopApi
) -> None:
    word, renamed = f"okapi{uuid.uuid4().hex[:6]}", f"tapir{uuid.uuid4().hex[:6]}"
    page.goto("/")
    sign_in(page, *DEMO_ADMIN)
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Admin").click()
    expect(page.get_by_test_id("admin-row").first).to_be_visible()
    screenshot(page, "admin")

    # create
    page.get_by_role("link", name="New product").click()
    page.get_by_role("textbox", name="Name").fill(f"{word} Salt Lick")
    page.get_by_role("textbox", name="Description").fill("A mineral block for grazing pets.")
    page.get_by_role("combobox", name="Species").select_option("small_animal")
    page.get_by_role("combobox", name="Category").select_option("health")
    page.get_by_role("textbox", name="Brand").fill("Meadowlick")
    page.get_by_role("spinbutton", name="Price ($)").fill("7.25")
    page.get_by_role("spinbutton", name="Stock").fill("4")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text(f"Saved {word} Salt Lick.")
    expect(page).to_have_url(re.compile(r"#/admin/product/.+$"))  # the new product's page, before reading it
    product_id = re.search(r"#/admin/product/(.+)$", page.url).group(1)  # type: ignore[union-attr]
    assert shop_api.product(product_id)["price_cents"] == 725

    # edit: the new name is what search finds
    page.get_by_role("textbox", name="Name").fill(f"{renamed} Salt Lick")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text(f"Saved {renamed} Salt Lick.")
    screenshot(page, "admin-edit")
    # The search index follows the table by seconds: wait for it, as a shopper would not notice.
    searched(shop_api.url, {"q": f"{renamed} "}, lambda ids: ids == [product_id])
    searched(shop_api.url, {"q": f"{word} "}, lambda ids: ids == [])
    page.goto(f"/#/?q={renamed}")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    expect(page.get_by_test_id("product-card")).to_contain_text(f"{renamed} Salt Lick")
    page.goto(f"/#/?q={word}%20")
    expect(page.get_by_role("status")).to_have_text("No products match. Try other words.")

    # adjust stock, relative to what it is now
    page.goto(f"/#/admin/product/{product_id}")
    expect(page.get_by_role("spinbutton", name="Stock")).to_have_value("4")
    page.get_by_role("spinbutton", name="Change").fill("-5")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("The stock is 4; it cannot change by -5")
    page.get_by_role("spinbutton", name="Change").fill("6")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_have_text(f"Stock of {renamed} Salt Lick is now 10.")
    assert shop_api.product(product_id)["stock"] == 10

    # a bad field is named and focused
    page.get_by_role("spinbutton", name="Price ($)").fill("0")
    page.get_by_role("spinbutton", name="Price ($)").evaluate("input => input.removeAttribute('min')")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Price ($): Input should be greater than or equal to 1.")
    expect(page.get_by_role("spinbutton", name="Price ($)")).to_be_focused()

    # delete
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete product").click()
    expect(page.get_by_role("status")).to_have_text(f"Deleted {renamed} Salt Lick.")
    searched(shop_api.url, {"q": f"{renamed} "}, lambda ids: ids == [])
    page.goto(f"/#/?q={renamed}")
    expect(page.get_by_role("status")).to_have_text("No products match. Try other words.")


def test_a_new_user_signs_up_confirms_with_a_code_and_is_signed_in(page: Page) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/#/signin")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("textbox", name="Password").fill("short")
    page.get_by_role("textbox", name="Password").evaluate("input => input.removeAttribute('minlength')")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text("assword")  # Cognito's password rules

    page.get_by_role("textbox", name="Password").fill("Kibble-and-bits-9")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(f"We sent a confirmation code to {email}.")
    expect(page.get_by_role("textbox", name="Email")).to_have_value(email)
    expect(page.get_by_text("any code is accepted")).to_be_visible()
    screenshot(page, "confirm-sign-up")
    page.get_by_role("textbox", name="Confirmation code").fill("123456")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("status")).to_have_text("Welcome! Your account is ready.")
    expect(page.get_by_role("navigation", name="Account")).to_contain_text(email)
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Orders").click()
    expect(page.get_by_role("status")).to_have_text("You have no orders yet.")


def test_signing_up_twice_with_one_email_says_so(page: Page) -> None:
    page.goto("/#/signup")
    page.get_by_role("textbox", name="Email").fill(DEMO_SHOPPER[0])
    page.get_by_role("textbox", name="Password").fill("Kibble-and-bits-9")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_have_text("An account with this email already exists. Sign in instead.")


def test_with_auth0_configured_sign_in_goes_to_auth0_with_pkce(page: Page, shop: RunningStack) -> None:
    """config.json chooses the provider: the same SPA sends the user to Auth0's
    authorization endpoint (code flow with a S256 PKCE challenge)."""
    auth0 = {
        "provider": "auth0",
        "domain": "petstore-test.auth0.example",
        "client_id": "spa-client-123",
        "audience": "https://api.petstore.example.com",
    }
    site = {"api_url": shop.api, "stage": "dev", "auth": auth0}
    with_site_config(page, site)
    authorize: list[str] = []

    def auth0_login_page(route: Route) -> None:
        authorize.append(route.request.url)
        route.fulfill(content_type="text/html", body="<title>Auth0 login</title><h1>Auth0 login</h1>")

    page.route("https://petstore-test.auth0.example/**", auth0_login_page)

    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign in").click()
    expect(page).to_have_title("Auth0 login")

    query = parse_qs(urlparse(authorize[0]).query)
    assert urlparse(authorize[0]).path == "/authorize"
    assert query["client_id"] == ["spa-client-123"]
    assert query["audience"] == ["https://api.petstore.example.com"]
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["redirect_uri"] == [shop.web + "/"]
    assert "offline_access" in query["scope"][0].split()
    # the PKCE verifier stays in the tab's sessionStorage, not in a cookie
    assert "code_verifier" not in json.dumps(page.context.cookies())


def test_the_access_token_is_refreshed_before_it_expires(page: Page) -> None:
    page.goto("/")
    sign_in(page, *DEMO_SHOPPER)
    before = page.evaluate("() => JSON.parse(sessionStorage.getItem('petstore.session'))")

    # GIVEN a session whose access token expires in 62 s (refreshes are due a minute ahead)
    page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('petstore.session'));
            s.expiresAt = Math.floor(Date.now() / 1000) + 62;
            sessionStorage.setItem('petstore.session', JSON.stringify(s));
        }"""
    )
    page.reload()

    # THEN the SPA trades the refresh token for a new access token, and the API accepts it
    page.wait_for_function(
        "old => JSON.parse(sessionStorage.getItem('petstore.session') || '{}').accessToken !== old",
        arg=before["accessToken"],
        timeout=15_000,
    )
    after = page.evaluate("() => JSON.parse(sessionStorage.getItem('petstore.session'))")
    assert after["accessToken"].count(".") == 2 and after["expiresAt"] > before["expiresAt"] - 5
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    expect(page.get_by_role("status")).not_to_have_text(re.compile("sign in", re.I))


def test_a_session_the_api_refuses_ends_with_a_message_and_sign_in_returns_to_the_page(page: Page) -> None:
    page.goto("/")
    sign_in(page, *DEMO_SHOPPER)
    # GIVEN an access token the API no longer accepts (revoked, or from another pool)
    page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('petstore.session'));
            s.accessToken = s.accessToken.slice(0, -4) + 'AAAA';
            sessionStorage.setItem('petstore.session', JSON.stringify(s));
        }"""
    )
    page.goto("/#/orders")
    expect(page.get_by_role("status")).to_have_text("Your session has ended. Please sign in again.")
    expect(page).to_have_url(re.compile(r"#/signin\?next=orders$"))
    assert page.evaluate("() => sessionStorage.getItem('petstore.session')") is None
    sign_in(page, *DEMO_SHOPPER)
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()


def test_saving_a_product_keeps_what_the_form_does_not_edit(page: Page, shop_api: ShopApi) -> None:
    product = shop_api.create(
        name=f"kiwi{uuid.uuid4().hex[:6]} Perch",
        description="A perch with a picture.",
        species="bird",
        category="accessories",
        brand="Songperch",
        price_cents=1200,
        stock=3,
        image="img/accessories.svg",
    )
    try:
        page.goto("/")
        sign_in(page, *DEMO_ADMIN)
        page.goto(f"/#/admin/product/{product['id']}")
        expect(page.get_by_role("textbox", name="Name")).to_have_value(product["name"])
        page.get_by_role("spinbutton", name="Price ($)").fill("13.50")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text(f"Saved {product['name']}.")
        saved = shop_api.product(product["id"])
        assert saved["price_cents"] == 1350 and saved["image"] == "img/accessories.svg" and saved["stock"] == 3
    finally:
        shop_api.delete(product["id"])
