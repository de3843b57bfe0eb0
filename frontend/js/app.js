// The shop's entry point: hash routes, views and the header.
//   #/                   browse; #/?q=salmon&species=cat   search and filters
//   #/product/<id>       one product
//   #/cart               the cart and checkout
//   #/orders             the user's orders; #/orders/<id> one of them
//   #/signin, #/signup, #/confirm?email=...
//   #/admin              catalog admin; #/admin/new, #/admin/product/<id>

import * as admin from "./admin.js";
import { config } from "./api.js";
import * as cart from "./cart.js";
import * as catalog from "./catalog.js";
import * as checkout from "./checkout.js";
import { busy } from "./dom.js";
import * as orders from "./orders.js";
import * as session from "./session.js";

const $ = (selector) => document.querySelector(selector);
const status = $("[data-status]");
const views = Object.fromEntries([...document.querySelectorAll("[data-view]")].map((v) => [v.dataset.view, v]));
const searchBox = $("[data-q]");
const filters = $("[data-filters]");
const results = $("[data-results]");
const more = $("[data-more]");

// Which page is showing: an answer for a page the user has left is dropped.
let page = 0;
let catalogCursor = { params: null, cursor: null };

function show(name, title) {
  for (const [key, view] of Object.entries(views)) view.hidden = key !== name;
  document.title = title ? `${title} · Pet Store` : "Serverless Pet Store";
}

function say(message, { alert = false } = {}) {
  status.textContent = message;
  status.classList.toggle("alert", alert);
  if (alert) status.scrollIntoView({ block: "center" }); // an error is never out of sight
}

// A message for the page the user is sent to next ("Saved", "Welcome!").
let note = "";

function navigate(hash, message) {
  note = message;
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** The page is ready: show the note it was opened with, if any. */
function settle() {
  say(note);
  note = "";
}

function fail(error) {
  say(error.message, { alert: true });
  if (error.status === 401) {
    session.signOut();
    location.hash = `#/signin?next=${encodeURIComponent(parseHash().path.slice(1))}`;
  }
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = hash.split("?");
  return { path, query: new URLSearchParams(search) };
}

function go(query, { replace = false } = {}) {
  const hash = `#/${query.toString() ? `?${query}` : ""}`;
  if (hash === location.hash) return;
  if (replace) {
    history.replaceState(null, "", hash); // no history entry per keystroke
    route();
  } else {
    location.hash = hash; // the hashchange event routes
  }
}

/** Run `load` for the current page; ignore its answer if the user went elsewhere meanwhile. */
async function loading(load, render) {
  const mine = page;
  say("Loading…");
  try {
    const data = await load();
    if (mine !== page) return;
    settle();
    render(data); // may say something of its own ("No products match")
  } catch (error) {
    if (mine === page) fail(error);
  }
}

function needSignIn(path) {
  if (session.current()) return false;
  note = "Please sign in first.";
  location.replace(`#/signin?next=${encodeURIComponent(path.slice(1))}`);
  return true;
}

// -- catalog ---------------------------------------------------------------------
const phone = matchMedia("(max-width: 40rem)");
let filtersShown = false;

function showCatalog(query) {
  show("catalog");
  if (!filtersShown) {
    // On a phone the filters start folded away, unless the URL uses some.
    const used = [...query.keys()].some((key) => key !== "q");
    $("[data-filter-panel]").open = !phone.matches || used;
    filtersShown = true;
  }
  if (document.activeElement !== searchBox) searchBox.value = query.get("q") ?? "";
  catalog.fillFilters(filters, query);
  const params = catalog.searchParams(query);
  loading(
    () => catalog.loadPage(params),
    (found) => {
      catalogCursor = { params, cursor: found.next_cursor };
      catalog.renderPage(results, found, false);
      more.hidden = !found.next_cursor;
      if (!found.items.length) say("No products match. Try fewer words or filters.");
    },
  );
}

async function showMoreProducts() {
  more.disabled = true;
  try {
    const found = await catalog.loadPage(catalogCursor.params, catalogCursor.cursor);
    catalogCursor.cursor = found.next_cursor;
    catalog.renderPage(results, found, true);
    more.hidden = !found.next_cursor;
  } catch (error) {
    fail(error);
  } finally {
    more.disabled = false;
  }
}

function showProduct(id) {
  show("product", "Product");
  const container = $("[data-product]");
  container.replaceChildren();
  loading(
    () => catalog.loadProduct(id),
    (product) => {
      document.title = `${product.name} · Pet Store`;
      catalog.renderProduct(container, product, (quantity) => {
        if (cart.add(product, quantity)) say(`Added ${product.name} to your cart.`);
        else say(`Your cart is full (${cart.MAX_LINES} products). Check out first.`, { alert: true });
      });
    },
  );
}

// -- cart and checkout -------------------------------------------------------------
function showCart() {
  show("cart", "Your cart");
  settle();
  renderCartView();
}

function renderCartView() {
  const filled = checkout.renderCart($("[data-cart-lines]"));
  const signedIn = Boolean(session.current());
  $("[data-checkout-form]").hidden = !filled || !signedIn;
  $("[data-checkout-signin]").hidden = !filled || signedIn;
}

async function submitCheckout(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (checkout.hasProblems()) {
    say("Some lines need a change first (see below).", { alert: true });
    return;
  }
  say("Placing your order…");
  await busy(form, async () => {
    try {
      const order = await checkout.placeOrder(form);
      location.hash = `#/orders/${encodeURIComponent(order.id)}?placed=1`;
    } catch (error) {
      fail(error);
      renderCartView();
    }
  });
}

// -- orders ------------------------------------------------------------------------
let ordersCursor = null;

function showOrders(path) {
  if (needSignIn(path)) return;
  show("orders", "Your orders");
  const list = $("[data-orders]");
  list.replaceChildren();
  loading(
    () => orders.loadOrders(),
    (found) => {
      ordersCursor = found.next_cursor;
      orders.renderOrders(list, found, false);
      $("[data-orders-more]").hidden = !ordersCursor;
      if (!found.items.length) say("You have no orders yet.");
    },
  );
}

async function showMoreOrders() {
  try {
    const found = await orders.loadOrders(ordersCursor);
    ordersCursor = found.next_cursor;
    orders.renderOrders($("[data-orders]"), found, true);
    $("[data-orders-more]").hidden = !ordersCursor;
  } catch (error) {
    fail(error);
  }
}

function showOrder(path, id, query) {
  if (needSignIn(path)) return;
  show("order", "Order");
  const container = $("[data-order]");
  container.replaceChildren();
  const render = (order, justPlaced) =>
    orders.renderOrder(container, order, {
      justPlaced,
      onCancel: async (event) => {
        if (!confirm("Cancel this order? Its items go back on the shelf.")) return;
        event.currentTarget.disabled = true;
        try {
          render(await orders.cancelOrder(order.id), false);
          say("The order is cancelled.");
        } catch (error) {
          fail(error);
          event.currentTarget.disabled = false;
        }
      },
    });
  loading(() => orders.loadOrder(id), (order) => render(order, query.get("placed") === "1"));
}

// -- account ---------------------------------------------------------------------------
function showAccount() {
  const signedIn = session.current();
  for (const node of document.querySelectorAll("[data-signed-in]")) node.hidden = !signedIn;
  $("[data-signed-out]").hidden = Boolean(signedIn);
  $("[data-admin-link]").hidden = !session.isAdmin();
  $("[data-who]").textContent = signedIn ? signedIn.email : "";
}

function showCartCount() {
  const count = cart.count();
  $("[data-cart-count]").textContent = String(count);
  $("[data-cart-link]").setAttribute("aria-label", `Cart, ${count} item${count === 1 ? "" : "s"}`);
}

async function redirectProvider(screen) {
  if (!(await session.isRedirectProvider())) return false;
  say("Taking you to sign in…");
  await session.signInWithRedirect(screen);
  return true;
}

async function showSignIn() {
  show("signin", "Sign in");
  settle();
  await redirectProvider();
}

function afterSignIn(query) {
  const next = query.get("next");
  navigate(next && /^[a-z/0-9?=&%-]*$/i.test(next) ? `#/${next}` : "#/", "");
}

async function submitSignIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  say("Signing in…");
  await busy(form, async () => {
    try {
      await session.signIn(form.elements.email.value.trim(), form.elements.password.value);
      form.reset();
      afterSignIn(parseHash().query);
    } catch (error) {
      if (error.type === "UserNotConfirmedException") {
        pendingPassword = form.elements.password.value;
        navigate(`#/confirm?email=${encodeURIComponent(form.elements.email.value.trim())}`, error.message);
      } else {
        fail(error);
      }
    }
  });
}

// Kept in memory only, to sign the new user in once the email is confirmed.
let pendingPassword = null;

async function showSignUp() {
  show("signup", "Create an account");
  settle();
  await redirectProvider("signup");
}

async function submitSignUp(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const email = form.elements.email.value.trim();
  say("Creating your account…");
  await busy(form, async () => {
    try {
      await session.signUp(email, form.elements.password.value);
      pendingPassword = form.elements.password.value;
      form.reset();
      navigate(`#/confirm?email=${encodeURIComponent(email)}`, `We sent a confirmation code to ${email}.`);
    } catch (error) {
      fail(error);
    }
  });
}

async function showConfirm(query) {
  show("confirm", "Confirm your email");
  const form = $("[data-confirm-form]");
  form.elements.email.value = query.get("email") ?? "";
  settle();
  $("[data-local-hint]").hidden = (await config()).stage !== "local";
}

async function submitConfirm(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const email = form.elements.email.value.trim();
  say("Confirming…");
  await busy(form, async () => {
    try {
      await session.confirmSignUp(email, form.elements.code.value.trim());
      form.reset();
      if (pendingPassword) {
        await session.signIn(email, pendingPassword);
        pendingPassword = null;
        navigate("#/", "Welcome! Your account is ready.");
      } else {
        navigate("#/signin", "Your email is confirmed. Sign in to continue.");
      }
    } catch (error) {
      fail(error);
    }
  });
}

async function resendCode() {
  const email = $("[data-confirm-form]").elements.email.value.trim();
  if (!email) return say("Enter your email first.", { alert: true });
  try {
    await session.resendCode(email);
    say(`We sent a new code to ${email}.`);
  } catch (error) {
    fail(error);
  }
}

// -- admin ------------------------------------------------------------------------------
let adminQuery = { q: "", cursor: null };

function needAdmin(path) {
  if (needSignIn(path)) return true;
  if (session.isAdmin()) return false;
  show("", "Not allowed");
  say("This page is for the shop's admins.", { alert: true });
  return true;
}

function showAdmin(path, query) {
  if (needAdmin(path)) return;
  show("admin", "Catalog admin");
  const q = query.get("q") ?? "";
  $("[data-admin-search]").elements.q.value = q;
  loading(
    () => admin.findProducts(q),
    (found) => {
      adminQuery = { q, cursor: found.next_cursor };
      admin.renderRows($("[data-admin-rows]"), found, false);
      $("[data-admin-more]").hidden = !found.next_cursor;
      if (!found.items.length) say("No products match.");
    },
  );
}

async function showMoreAdminRows() {
  try {
    const found = await admin.findProducts(adminQuery.q, adminQuery.cursor);
    adminQuery.cursor = found.next_cursor;
    admin.renderRows($("[data-admin-rows]"), found, true);
    $("[data-admin-more]").hidden = !found.next_cursor;
  } catch (error) {
    fail(error);
  }
}

let editing = null; // the product id on the edit page, null for a new one

function showEdit(path, id) {
  if (needAdmin(path)) return;
  editing = id;
  const form = $("[data-edit-form]");
  admin.clearMarks(form);
  $("[data-edit-title]").textContent = id ? "Edit product" : "New product";
  $("[data-delete]").hidden = !id;
  $("[data-stock-form]").hidden = !id;
  form.elements.stock.readOnly = Boolean(id); // on an existing product, stock moves by adjustment
  show("edit", id ? "Edit product" : "New product");
  admin.fillForm(form, null);
  if (!id) return settle();
  loading(
    () => admin.loadProduct(id),
    (product) => admin.fillForm(form, product),
  );
}

async function submitEdit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  admin.clearMarks(form);
  say("Saving…");
  let failed = null;
  await busy(form, async () => {
    try {
      const fields = admin.fieldsOf(form);
      const saved = editing ? await admin.updateProduct(editing, await currentStock(fields)) : await admin.createProduct(fields);
      admin.fillForm(form, saved);
      navigate(`#/admin/product/${encodeURIComponent(saved.id)}`, `Saved ${saved.name}.`);
    } catch (error) {
      failed = error;
    }
  });
  if (failed) {
    admin.markField(form, failed); // after busy(): a disabled field cannot take the focus
    fail(failed);
    form.querySelector("[aria-invalid]")?.focus();
  }
}

// A PUT replaces every field: send the stock as it is now, not as the form was loaded.
async function currentStock(fields) {
  const latest = await admin.loadProduct(editing);
  return { ...fields, stock: latest.stock };
}

async function submitStock(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const change = Number.parseInt(form.elements.change.value, 10);
  await busy(form, async () => {
    try {
      const product = await admin.adjustStock(editing, change);
      $("[data-edit-form]").elements.stock.value = String(product.stock);
      form.reset();
      say(`Stock of ${product.name} is now ${product.stock}.`);
    } catch (error) {
      fail(error);
    }
  });
}

async function deleteEdited() {
  const name = $("[data-edit-form]").elements.name.value;
  if (!confirm(`Delete ${name}? Shoppers will no longer find it.`)) return;
  try {
    await admin.deleteProduct(editing);
    navigate("#/admin", `Deleted ${name}.`);
  } catch (error) {
    fail(error);
  }
}

// -- routing ----------------------------------------------------------------------------
function route() {
  page += 1;
  const { path, query } = parseHash();
  const match = (pattern) => path.match(pattern)?.slice(1).map(decodeURIComponent);
  let id;
  if ((id = match(/^\/product\/(.+)$/))) showProduct(id[0]);
  else if (path === "/cart") showCart();
  else if (path === "/orders") showOrders(path);
  else if ((id = match(/^\/orders\/(.+)$/))) showOrder(path, id[0], query);
  else if (path === "/signin") showSignIn();
  else if (path === "/signup") showSignUp();
  else if (path === "/confirm") showConfirm(query);
  else if (path === "/admin") showAdmin(path, query);
  else if (path === "/admin/new") showEdit(path, null);
  else if ((id = match(/^\/admin\/product\/(.+)$/))) showEdit(path, id[0]);
  else showCatalog(query);
}

function navigated() {
  route();
  if (parseHash().path !== "/") $("#main").focus({ preventScroll: false }); // screen readers start at the new page
}

let typing;
searchBox.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => go(catalog.filtersToQuery(filters, searchBox.value), { replace: true }), 250);
});
$("[data-search-form]").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(typing);
  go(catalog.filtersToQuery(filters, searchBox.value));
});
filters.addEventListener("change", () => go(catalog.filtersToQuery(filters, searchBox.value)));
filters.addEventListener("submit", (event) => event.preventDefault());
more.addEventListener("click", showMoreProducts);
$("[data-checkout-form]").addEventListener("submit", submitCheckout);
$("[data-orders-more]").addEventListener("click", showMoreOrders);
$("[data-signin-form]").addEventListener("submit", submitSignIn);
$("[data-signup-form]").addEventListener("submit", submitSignUp);
$("[data-confirm-form]").addEventListener("submit", submitConfirm);
$("[data-resend]").addEventListener("click", resendCode);
$("[data-signout]").addEventListener("click", () => {
  session.signOut();
  if (!["/", "/cart"].includes(parseHash().path) && !parseHash().path.startsWith("/product/")) location.hash = "#/";
});
$("[data-admin-search]").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = event.currentTarget.elements.q.value.trim();
  location.hash = q ? `#/admin?q=${encodeURIComponent(q)}` : "#/admin";
});
$("[data-admin-more]").addEventListener("click", showMoreAdminRows);
$("[data-edit-form]").addEventListener("submit", submitEdit);
$("[data-stock-form]").addEventListener("submit", submitStock);
$("[data-delete]").addEventListener("click", deleteEdited);

session.onChange(() => {
  showAccount();
  if (!views.cart.hidden) renderCartView();
});
cart.onChange(() => {
  showCartCount();
  if (!views.cart.hidden) renderCartView();
});
showAccount();
showCartCount();
window.addEventListener("hashchange", navigated);
session
  .resume()
  .catch((error) => say(error.message, { alert: true }))
  .finally(() => {
    showAccount();
    route();
  });
