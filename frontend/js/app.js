// The shop's entry point: hash routes, the search box and the views.
//   #/                 browse; #/?q=salmon&species=cat   search and filters
//   #/product/<id>     one product

import * as catalog from "./catalog.js";
import * as session from "./session.js";

const $ = (selector) => document.querySelector(selector);
const status = $("[data-status]");
const views = {
  catalog: $('[data-view="catalog"]'),
  product: $('[data-view="product"]'),
  signin: $('[data-view="signin"]'),
};
const searchBox = $("[data-q]");
const filters = $("[data-filters]");
const results = $("[data-results]");
const more = $("[data-more]");

let current = { params: null, cursor: null, request: 0 };

function show(name) {
  for (const [key, view] of Object.entries(views)) view.hidden = key !== name;
}

function say(message) {
  status.textContent = message;
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

async function showCatalog(query) {
  show("catalog");
  if (document.activeElement !== searchBox) searchBox.value = query.get("q") ?? "";
  catalog.fillFilters(filters, query);
  const params = catalog.searchParams(query);
  const request = ++current.request;
  say("Loading…");
  try {
    const page = await catalog.loadPage(params);
    if (request !== current.request) return; // a newer search replaced this one
    current = { params, cursor: page.next_cursor, request };
    catalog.renderPage(results, page, false);
    more.hidden = !page.next_cursor;
    say(page.items.length ? "" : "No products match. Try fewer words or filters.");
  } catch (error) {
    if (request === current.request) say(error.message);
  }
}

async function showMore() {
  more.disabled = true;
  try {
    const page = await catalog.loadPage(current.params, current.cursor);
    current.cursor = page.next_cursor;
    catalog.renderPage(results, page, true);
    more.hidden = !page.next_cursor;
  } catch (error) {
    say(error.message);
  } finally {
    more.disabled = false;
  }
}

async function showProduct(id) {
  show("product");
  const container = $("[data-product]");
  container.replaceChildren();
  say("Loading…");
  try {
    catalog.renderProduct(container, await catalog.loadProduct(id));
    say("");
    document.title = `${container.querySelector("h1").textContent} · Pet Store`;
  } catch (error) {
    say(error.message);
  }
}

function showAccount() {
  const signedIn = session.current();
  $("[data-signin-link]").hidden = Boolean(signedIn);
  $("[data-signed-in]").hidden = !signedIn;
  $("[data-who]").textContent = signedIn ? signedIn.email : "";
}

function showSignIn() {
  show("signin");
  say("");
  document.title = "Sign in · Pet Store";
}

async function submitSignIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  button.disabled = true;
  say("Signing in…");
  try {
    await session.signIn(form.elements.email.value.trim(), form.elements.password.value);
    form.reset();
    say("");
    location.hash = "#/";
  } catch (error) {
    say(error.message);
  } finally {
    button.disabled = false;
  }
}

function route() {
  current.request += 1; // a catalog answer still on its way is for a page we left
  const { path, query } = parseHash();
  const product = path.match(/^\/product\/(.+)$/);
  if (product) showProduct(decodeURIComponent(product[1]));
  else if (path === "/signin") showSignIn();
  else {
    document.title = "Serverless Pet Store";
    showCatalog(query);
  }
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
more.addEventListener("click", showMore);
$("[data-signin-form]").addEventListener("submit", submitSignIn);
$("[data-signout]").addEventListener("click", () => session.signOut());
session.onChange(showAccount);
session.resume();
showAccount();
window.addEventListener("hashchange", route);
route();
