// The cart page and checkout.
// One Idempotency-Key per checkout attempt: the same cart and address sent
// again (a double click, a retry after a dropped connection, a reload) reuse
// the key, so the shop returns the order it already placed instead of buying
// twice. A changed cart or address is a new attempt with a new key.
// The address of the shopper's last order is kept with their account (GET
// /me/address, server-side: never in this browser's storage) and offered in
// an empty form. An address the shop refuses is marked on its field.

import { api } from "./api.js";
import * as cart from "./cart.js";
import { el } from "./dom.js";
import { price } from "./format.js";
import { clearFieldErrors, fieldWords, showFieldError } from "./messages.js";
import { $, currentPage, fail, onSubmit, say, settle, show, showing } from "./page.js";
import { fillThumbnails, thumbnail } from "./photos.js";
import { authHeader, current, onChange } from "./session.js";

const ATTEMPT = "petstore.checkout";
const short = new Map(); // product id -> what the shop said is available, from the last 409

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // works without a secure context too
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function problemOf(line) {
  if (!short.has(line.product_id)) return null;
  const available = short.get(line.product_id);
  if (available === null) return "This product is no longer sold. Remove it to check out.";
  if (line.quantity <= available) return null;
  return available > 0 ? `Only ${available} left: lower the quantity.` : "Out of stock: remove it to check out.";
}

// What the line kept of its product when it was added (a cart from before
// photos has neither: fillThumbnails() asks the shop).
function shownProduct(line) {
  if (!line.category && !line.photo) return null;
  return { name: line.name, category: line.category, photos: line.photo ? [line.photo] : [] };
}

function lineRow(line) {
  const problem = problemOf(line);
  return el(
    "li",
    { class: problem ? "line short" : "line", dataset: { testid: "cart-line" } },
    thumbnail(line.product_id, shownProduct(line)),
    el("a", { href: `#/product/${encodeURIComponent(line.product_id)}` }, line.name),
    el("input", {
      type: "number",
      dataset: { focusKey: `quantity:${line.product_id}` },
      min: 1,
      max: cart.MAX_QUANTITY,
      value: line.quantity,
      inputmode: "numeric",
      "aria-label": `Quantity of ${line.name}`,
      onchange: (event) => cart.setQuantity(line.product_id, Number(event.target.value)),
    }),
    el("span", { class: "price" }, price(line.price_cents * line.quantity)),
    el(
      "button",
      {
        type: "button",
        "aria-label": `Remove ${line.name}`,
        dataset: { focusKey: `remove:${line.product_id}` },
        onclick: () => cart.remove(line.product_id),
      },
      "Remove",
    ),
    problem && el("p", { class: "problem" }, problem),
  );
}

/** Render the cart's lines; returns whether there is anything to check out. */
function renderCart(container) {
  const lines = cart.lines();
  if (!lines.length) {
    container.replaceChildren(el("p", { class: "empty" }, "Your cart is empty. ", el("a", { href: "#/" }, "Find something for your pet"), "."));
    return false;
  }
  container.replaceChildren(
    el("ul", { class: "lines", "aria-label": "Cart" }, lines.map(lineRow)),
    el("p", { class: "total" }, "Estimated total: ", el("strong", {}, price(cart.estimatedTotal()))),
  );
  fillThumbnails(container);
  return true;
}

function hasProblems() {
  return cart.lines().some((line) => problemOf(line) !== null);
}

const ADDRESS_FIELDS = ["name", "line1", "line2", "city", "postal_code", "country"];

/** The address of the shopper's last order, into the form if the shopper has typed nothing yet. */
async function offerSavedAddress() {
  const email = current()?.email ?? "";
  if (typed() || form.dataset.offeredTo === email) return;
  form.dataset.offeredTo = email; // once per shopper and checkout
  const mine = currentPage();
  let saved = null;
  try {
    saved = (await api("/me/address", { headers: await authHeader() })).shipping_address;
  } catch {
    return; // the shopper types it: nothing is lost
  }
  if (mine !== currentPage() || !saved || typed() || (current()?.email ?? "") !== email) return;
  for (const name of ADDRESS_FIELDS) form.elements[name].value = saved[name] ?? "";
  $("[data-address-saved]").hidden = false;
}

const typed = () => ADDRESS_FIELDS.some((name) => name !== "country" && form.elements[name].value.trim());

/** Signed out: the address typed or offered goes with the session (the next shopper at this computer sees none). */
function forgetAddress() {
  form.reset();
  clearFieldErrors(form);
  delete form.dataset.offeredTo;
  $("[data-address-saved]").hidden = true;
}

function addressFrom(form) {
  const value = (name) => form.elements[name].value.trim();
  const address = { name: value("name"), line1: value("line1"), city: value("city"), postal_code: value("postal_code"), country: value("country") };
  if (value("line2")) address.line2 = value("line2");
  return address;
}

/** Place the order for the cart; on 409 out_of_stock, remember the short lines and rethrow. */
async function placeOrder(form) {
  const lines = cart.lines();
  const body = JSON.stringify({
    items: lines.map((line) => ({ product_id: line.product_id, quantity: line.quantity })),
    shipping_address: addressFrom(form),
  });
  let attempt = JSON.parse(sessionStorage.getItem(ATTEMPT) ?? "null");
  if (attempt?.body !== body) {
    attempt = { key: newKey(), body };
    sessionStorage.setItem(ATTEMPT, JSON.stringify(attempt));
  }
  try {
    const order = await api("/orders", {
      method: "POST",
      headers: { ...(await authHeader()), "Content-Type": "application/json", "Idempotency-Key": attempt.key },
      body,
    });
    sessionStorage.removeItem(ATTEMPT);
    short.clear();
    cart.clear();
    return order;
  } catch (error) {
    if (error.code === "out_of_stock") {
      for (const line of error.body.lines ?? []) short.set(line.product_id, line.available);
      const names = lines.filter((line) => short.has(line.product_id)).map((line) => line.name);
      error.message = `Not enough stock for: ${names.join(", ")}. Change those lines and try again.`;
    }
    const unknown = /^items\.(\d+)\.product_id$/.exec(error.body?.field ?? "");
    if (unknown && lines[Number(unknown[1])]) {
      short.set(lines[Number(unknown[1])].product_id, null);
      error.message = `${lines[Number(unknown[1])].name} is no longer sold. Remove it and try again.`;
    }
    throw error;
  }
}

// -- the view ------------------------------------------------------------------------
const form = $("[data-checkout-form]");

export function showCart() {
  show("cart", "Your cart");
  settle();
  renderView();
}

function renderView() {
  // Re-rendering replaces the controls: keep the keyboard where it was.
  const focused = document.activeElement?.dataset?.focusKey;
  const lines = $("[data-cart-lines]");
  const filled = renderCart(lines);
  const signedIn = Boolean(current());
  form.hidden = !filled || !signedIn;
  $("[data-checkout-signin]").hidden = !filled || signedIn;
  if (filled && signedIn) offerSavedAddress();
  if (focused) {
    const same = lines.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
    (same ?? lines.querySelector("input") ?? $('[data-view="cart"] h1')).focus();
  }
}

onSubmit(
  form,
  "Placing your order…",
  async () => {
    clearFieldErrors(form);
    if (hasProblems()) return say("Some lines need a change first (see below).", { alert: true });
    const order = await placeOrder(form);
    forgetAddress(); // the next checkout offers this order's address, from the account
    location.hash = `#/orders/${encodeURIComponent(order.id)}?placed=1`;
  },
  {
    failed: (error) => {
      if (error.status === 401) return fail(error); // signed out: sign in, then back here
      say(fieldWords(form, error), { alert: true });
      if (showing("cart")) renderView(); // mark the lines the shop said are short
      showFieldError(form, error); // an address field the shop refused: marked, described, focused
    },
  },
);

// After the event that changed the cart, so a Tab out of a quantity has moved the focus.
const refresh = () => setTimeout(() => showing("cart") && renderView());
cart.onChange(refresh);
onChange(() => {
  if (!current()) forgetAddress();
  refresh();
});
