// Browse and search (#/?q=...&species=...) and the product page (#/product/<id>).

import { api } from "./api.js";
import * as cart from "./cart.js";
import { el } from "./dom.js";
import { label, price, stockText } from "./format.js";
import { $, loading, more, navigate, parseHash, say, show } from "./page.js";
import { icon, photoPicture, productPicture, readyPhotos, remember } from "./photos.js";

const FILTERS = ["species", "category", "brand", "min_price", "max_price", "in_stock", "sort"];

// The API's species and categories (chalicelib/models.py), for every <select data-choices>.
const CHOICES = {
  species: ["dog", "cat", "fish", "bird", "small_animal", "reptile"],
  category: ["food", "treats", "toys", "beds", "health", "grooming", "habitats", "accessories"],
};

for (const select of document.querySelectorAll("[data-choices]")) {
  select.append(...CHOICES[select.dataset.choices].map((value) => el("option", { value }, label(value))));
}
const PAGE = 24;

// URL params -> API params (prices are dollars in the form, cents in the API).
function searchParams(query) {
  const params = { limit: PAGE };
  const q = query.get("q");
  if (q) params.q = q;
  if (query.get("exact") === "true") params.exact = true;
  for (const name of FILTERS) {
    const value = query.get(name);
    if (!value) continue;
    params[name] = name.endsWith("_price") ? Math.round(Number(value) * 100) : value;
  }
  return params;
}

function fillFilters(form, query) {
  for (const name of FILTERS) {
    const field = form.elements[name];
    if (field.type === "checkbox") field.checked = query.get(name) === "true";
    else field.value = query.get(name) ?? (name === "sort" ? "relevance" : "");
  }
}

function filtersToQuery(form, q) {
  const query = new URLSearchParams();
  if (q) query.set("q", q);
  for (const name of FILTERS) {
    const field = form.elements[name];
    const value = field.type === "checkbox" ? (field.checked ? "true" : "") : field.value.trim();
    if (value && !(name === "sort" && value === "relevance")) query.set(name, value);
  }
  return query;
}

// Brand and kind, price, stock: shown on cards and on the product page.
function facts(product, tag) {
  return [
    el(tag, { class: "meta" }, `${product.brand} · ${label(product.species)} · ${label(product.category)}`),
    el(tag, { class: "price" }, price(product.price_cents)),
    el(tag, { class: product.stock > 0 ? "meta" : "meta stock-out" }, stockText(product.stock)),
  ];
}

// How wide each place shows a photo, as styles.css lays it out (so the browser
// picks the rendition from the srcset before any CSS is known):
// cards: a grid of 14rem-or-wider columns in a 72rem page, 2 to 4 of them, the
// photo the card's width less its padding (one column, below 31rem: a 7.5rem
// photo beside the words); the product page: the panel's full width on a
// phone, half of it from 48rem on.
const CARD_SIZES =
  "(max-width: 31rem) 7.5rem, (max-width: 46rem) calc(50vw - 3.4rem), " +
  "(max-width: 61rem) calc(33.3vw - 3.25rem), (max-width: 72rem) calc(25vw - 3.2rem), 15rem";
const PRODUCT_SIZES = "(max-width: 48rem) calc(100vw - 4.7rem), (max-width: 72rem) calc(50vw - 3.3rem), 33rem";
const THUMB_SIZES = "4rem";
const FIRST_ROW = 4; // the most cards a row holds: their photos are above the fold, never lazy

// The text with the spans the API says matched wrapped in <mark>: text nodes only.
function highlighted(text, spans = []) {
  const parts = [];
  let at = 0;
  for (const { start, end } of [...spans].sort((a, b) => a.start - b.start)) {
    if (start < at) continue;
    parts.push(text.slice(at, start), el("mark", {}, text.slice(start, end)));
    at = end;
  }
  parts.push(text.slice(at));
  return parts.filter((part) => part !== "");
}

function addButton(product) {
  return el(
    "button",
    {
      type: "button",
      class: "add",
      disabled: product.stock <= 0,
      onclick: () => {
        if (cart.add(product, 1)) say(`Added ${product.name} to your cart.`);
        else say(`Your cart is full (${cart.MAX_LINES} products). Check out first.`, { alert: true });
      },
    },
    product.stock > 0 ? "Add to cart" : "Out of stock",
  );
}

function card(product, aboveFold) {
  return el(
    "li",
    { class: "card", dataset: { testid: "product-card" } },
    productPicture(product, { className: "shot", sizes: CARD_SIZES, lazy: !aboveFold }),
    el("a", { href: `#/product/${encodeURIComponent(product.id)}` }, ...highlighted(product.name, product.matches?.name)),
    ...facts(product, "span"),
    addButton(product),
  );
}

// "Showing results for ..." when the API understood the words otherwise, with a
// link to search them exactly as typed.
function explain(box, found, params) {
  const understood = found.query;
  const changed = understood && (Object.keys(understood.corrected).length || understood.ignored.length);
  box.hidden = !changed;
  if (!changed) return box.replaceChildren();
  const exact = new URLSearchParams(location.hash.split("?")[1] ?? "");
  exact.set("exact", "true");
  const ignored = understood.ignored.length ? ` (without ${understood.ignored.join(", ")})` : "";
  box.replaceChildren(
    "Showing results for ",
    el("em", {}, understood.text),
    ignored + ". ",
    el("a", { href: `#/?${exact}` }, `Search exactly for ${params.q.trim()}`),
  );
}

// Each species and category option says how many results it has: exact counts
// over the whole result, each counted with the other filters applied.
function showCounts(form, facets) {
  for (const name of ["species", "category"]) {
    const counts = new Map((facets?.[name] ?? []).map((f) => [f.value, f.count]));
    for (const option of form.elements[name].options) {
      if (!option.value) continue;
      const count = counts.get(option.value);
      option.textContent = label(option.value) + (count ? ` (${count})` : "");
    }
  }
}

// A page may come back short, even empty, with a cursor: its products' price or
// stock left the filters since the search index last heard of them (seconds).
// Keep reading (a few times per click), so an empty page is never shown while
// results may still follow.
const EMPTY_READS = 8;

async function loadPage(params, cursor) {
  let found = await api("/products", { params: { ...params, cursor } });
  for (let reads = 1; !found.items.length && found.next_cursor && reads < EMPTY_READS; reads++) {
    found = await api("/products", { params: { ...params, cursor: found.next_cursor } });
  }
  return found;
}

function sayIfEmpty(found, params) {
  if (found.items.length) return;
  if (found.next_cursor) say("Still looking… Show more searches further.");
  else say(`No products match. ${suggestion(params)}`);
}

// What to take away from an empty search: a filter if any, else the last word.
function suggestion(params) {
  const filter = FILTERS.find((name) => name !== "sort" && params[name] !== undefined);
  if (filter) return `Try without the ${label(filter).toLowerCase().replace("_", " ")} filter.`;
  const words = (params.q ?? "").trim().split(/\s+/);
  return words.length > 1 ? `Try without “${words.at(-1)}”.` : "Try fewer words or filters.";
}

function renderPage(list, page, append) {
  remember(page.items);
  if (!append) list.replaceChildren();
  list.append(...page.items.map((product, index) => card(product, !append && index < FIRST_ROW)));
}

// The product page's photos: the first one large (the page's largest paint:
// loaded first, never lazy), and a thumbnail button for each when there are
// several. A button (or the arrow keys on them) shows its photo large; the
// new photo replaces the old once it is decoded, in a box of the same size.
function gallery(product) {
  const photos = readyPhotos(product);
  const large = (photo, first) =>
    productPicture(product, { photo, className: "shot", sizes: PRODUCT_SIZES, lazy: false, priority: first });
  const stage = el("div", { class: "stage" }, photos.length ? large(photos[0], true) : icon(product, { className: "shot", lazy: false }));
  if (photos.length < 2) return el("div", { class: "gallery" }, stage);

  let wanted = 0;
  const choose = (index) => {
    wanted = index;
    buttons.forEach((button, i) => button.setAttribute("aria-pressed", String(i === index)));
    const next = large(photos[index], false);
    next.querySelector("img").decode().catch(() => {}).finally(() => wanted === index && stage.replaceChildren(next));
  };
  const buttons = photos.map((photo, index) =>
    el(
      "button",
      { type: "button", class: "thumb", "aria-pressed": String(index === 0), "aria-label": `Photo ${index + 1} of ${photos.length}`, onclick: () => choose(index) },
      photoPicture(photo, { alt: "", className: "shot", sizes: THUMB_SIZES }),
    ),
  );
  const thumbs = el("ul", { class: "thumbs", "aria-label": `Photos of ${product.name}` }, buttons.map((button) => el("li", {}, button)));
  thumbs.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    const at = buttons.indexOf(document.activeElement);
    if (!step || at < 0) return;
    event.preventDefault();
    const to = (at + step + buttons.length) % buttons.length;
    buttons[to].focus();
    choose(to);
  });
  return el("div", { class: "gallery" }, stage, thumbs);
}

/** The product page; `onAdd(quantity)` puts it in the cart. */
function renderProduct(container, product, onAdd) {
  const quantity = el("input", { type: "number", name: "quantity", min: 1, max: Math.min(99, product.stock) || 1, value: 1, inputmode: "numeric" });
  const buy = el(
    "form",
    {
      class: "buy",
      onsubmit: (event) => {
        event.preventDefault();
        onAdd(Number(quantity.value) || 1);
      },
    },
    el("label", {}, "Quantity ", quantity),
    el("button", { type: "submit", class: "primary" }, "Add to cart"),
  );
  container.replaceChildren(
    gallery(product),
    el(
      "div",
      { class: "details" },
      el("h1", {}, product.name),
      ...facts(product, "p"),
      el("p", { class: "description" }, product.description),
      product.stock > 0 ? buy : el("p", {}, "This product is out of stock for now."),
    ),
  );
}

// -- the views ---------------------------------------------------------------------
const searchBox = $("[data-q]");
const filters = $("[data-filters]");
const results = $("[data-results]");
const moreButton = $("[data-more]");
const understoodBox = $("[data-understood]");
const phone = matchMedia("(max-width: 40rem)");
let shown = { params: null, cursor: null };
let filtersFolded = false;

export function showCatalog(query) {
  show("catalog");
  if (!filtersFolded) {
    // On a phone the filters start folded away, unless the URL uses some.
    $("[data-filter-panel]").open = !phone.matches || [...query.keys()].some((key) => key !== "q");
    filtersFolded = true;
  }
  if (document.activeElement !== searchBox) searchBox.value = query.get("q") ?? "";
  fillFilters(filters, query);
  const params = searchParams(query);
  loading(
    () => loadPage(params),
    (found) => {
      shown = { params, cursor: found.next_cursor };
      renderPage(results, found, false);
      moreButton.hidden = !found.next_cursor;
      explain(understoodBox, found, params);
      showCounts(filters, found.facets);
      sayIfEmpty(found, params);
    },
  );
}

function showMore() {
  more(
    moreButton,
    () => loadPage(shown.params, shown.cursor),
    (found) => {
      shown.cursor = found.next_cursor;
      renderPage(results, found, true);
      moreButton.hidden = !found.next_cursor;
      if (!found.items.length && found.next_cursor) sayIfEmpty(found, shown.params);
    },
  );
}

export function showProduct(id) {
  show("product", "Product");
  const container = $("[data-product]");
  container.replaceChildren();
  loading(
    () => api(`/products/${encodeURIComponent(id)}`),
    (product) => {
      remember([product]);
      document.title = `${product.name} · Pet Store`;
      renderProduct(container, product, (quantity) => {
        if (cart.add(product, quantity)) say(`Added ${product.name} to your cart.`);
        else say(`Your cart is full (${cart.MAX_LINES} products). Check out first.`, { alert: true });
      });
    },
  );
}

// The URL is the search: typing rewrites it (debounced; one history entry per
// search, not per keystroke), filters and Enter add a history entry.
let typing;

function search({ replace }) {
  const query = filtersToQuery(filters, searchBox.value);
  const hash = `#/${query.toString() ? `?${query}` : ""}`;
  if (hash !== location.hash) navigate(hash, "", { replace: replace && parseHash().path === "/" });
}

export function stopTyping() {
  clearTimeout(typing);
}

searchBox.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => search({ replace: true }), 250);
});
$("[data-search-form]").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(typing);
  search({ replace: false });
});
filters.addEventListener("change", () => search({ replace: false }));
filters.addEventListener("submit", (event) => event.preventDefault());
moreButton.addEventListener("click", showMore);
