// Browse and search (#/?q=...&species=...) and the product page (#/product/<id>).

import { api } from "./api.js";
import * as cart from "./cart.js";
import { el } from "./dom.js";
import { label, price, stockText } from "./format.js";
import { BEST_SELLERS, CARD_SIZES, FILTERS, firstPage, isFrontPage, MAX_PAGE, searchParams, shownCount } from "./first-search.js";
import { fieldWords, showFieldError } from "./messages.js";
import { $, loading, more, navigate, parseHash, say, show, showing } from "./page.js";
import { icon, photoPicture, productPicture, readyPhotos, remember } from "./photos.js";

const NAMES = { price: "Price", species: "Species", category: "Category", brand: "Brand", min_price: "Min price", max_price: "Max price", in_stock: "In stock" };

// The API's species and categories (chalicelib/catalog/product.py), for every <select data-choices>.
export const CHOICES = {
  species: ["dog", "cat", "fish", "bird", "small_animal", "reptile"],
  category: ["food", "treats", "toys", "beds", "health", "grooming", "habitats", "accessories"],
};

for (const select of document.querySelectorAll("[data-choices]")) {
  select.append(...CHOICES[select.dataset.choices].map((value) => el("option", { value }, label(value))));
}

// With words the shop ranks by relevance; without, it opens on its best sellers.
const defaultSort = (q) => (q ? "relevance" : "best_selling");

function fillFilters(form, query) {
  for (const name of FILTERS) {
    const field = form.elements[name];
    if (field === document.activeElement && field.tagName === "INPUT" && field.type !== "checkbox") continue; // being typed in
    if (field.type === "checkbox") field.checked = query.get(name) === "true";
    else if (name === "sort") {
      sortChosen = query.has("sort");
      field.value = query.get(name) ?? defaultSort(query.get("q"));
    } else {
      const value = query.get(name) ?? "";
      if (field.tagName === "SELECT" && value && ![...field.options].some((o) => o.value === value)) {
        field.append(el("option", { value }, value)); // a brand the answer's facets will count
      }
      field.value = value;
    }
  }
  for (const field of form.querySelectorAll("[aria-invalid]")) clearProblem(field);
}

// The sort goes into the URL once the shopper has chosen one; until then it
// follows the words (typing a first word turns "best selling" into "relevance").
let sortChosen = false;

function filtersToQuery(form, q) {
  const query = new URLSearchParams();
  if (q) query.set("q", q);
  for (const name of FILTERS) {
    const field = form.elements[name];
    const value = field.type === "checkbox" ? (field.checked ? "true" : "") : field.value.trim();
    if (name === "sort" && (!sortChosen || value === defaultSort(q.trim()))) continue;
    if (value) query.set(name, value);
  }
  return query;
}

// -- prices are checked here before the shop is asked ------------------------------------
function priceProblem(form) {
  const min = form.elements.min_price;
  const max = form.elements.max_price;
  for (const field of [min, max]) {
    if (field.value !== "" && !(Number(field.value) >= 0)) return [field, `${NAMES[field.name]} must be a number of dollars, 0 or more.`];
  }
  if (min.value !== "" && max.value !== "" && Number(max.value) < Number(min.value)) {
    return [max, `Max price must be at least the min price ($${min.value}).`];
  }
  return null;
}

function showProblem(field, message) {
  const note = $(`#${field.name}-problem`) ?? el("span", { id: `${field.name}-problem`, class: "problem field-problem" });
  note.textContent = message;
  field.closest("label").after(note); // beside the field, not in its name
  field.setAttribute("aria-invalid", "true");
  field.setAttribute("aria-describedby", note.id);
  field.focus();
}

function clearProblem(field) {
  field.removeAttribute("aria-invalid");
  field.removeAttribute("aria-describedby");
  $(`#${field.name}-problem`)?.remove();
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
// picks the rendition from the srcset before any CSS is known): cards in
// first-search.js (CARD_SIZES); the product page: the panel's full width on a
// phone, half of it from 48rem on.
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

function addToCart(product, quantity) {
  if (cart.add(product, quantity)) say(`Added ${product.name} to your cart.`, { toast: true });
  else say(`Your cart is full (${cart.MAX_LINES} products). Check out first.`, { alert: true });
}

function addButton(product) {
  return el(
    "button",
    {
      type: "button",
      class: "add",
      disabled: product.stock <= 0,
      onclick: () => {
        addToCart(product, 1);
      },
    },
    product.stock > 0 ? "Add to cart" : "Out of stock",
  );
}

function card(product, aboveFold, first = false) {
  return el(
    "li",
    { class: "card", dataset: { testid: "product-card" } },
    productPicture(product, { className: "shot", sizes: CARD_SIZES, lazy: !aboveFold, priority: first }),
    el("a", { href: `#/product/${encodeURIComponent(product.id)}` }, ...highlighted(product.name, product.matches?.name)),
    ...facts(product, "span"),
    addButton(product),
  );
}

// "Showing results for ..." when the API understood the words otherwise, with a
// link to search them exactly as typed.
function explain(box, found, params) {
  const understood = found.query;
  // every word dropped: nothing was searched for, and the empty result says so
  const changed = understood?.text && (Object.keys(understood.corrected).length || understood.ignored.length);
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

// Each species, category and brand option says how many results it has: exact
// counts over the whole result, each counted with the other filters applied. A
// value with none is listed (0) but cannot be chosen, unless it is the one chosen.
function showCounts(form, facets) {
  const brands = form.elements.brand;
  const chosen = brands.value;
  const listed = (facets?.brand ?? []).map((f) => f.value).sort((a, b) => brandName(a).localeCompare(brandName(b)));
  if (chosen && !listed.includes(chosen)) listed.unshift(chosen);
  brands.replaceChildren(el("option", { value: "" }, "All"), ...listed.map((value) => el("option", { value }, brandName(value))));
  brands.value = chosen;
  for (const name of ["species", "category", "brand"]) {
    const counts = new Map((facets?.[name] ?? []).map((f) => [f.value, f.count]));
    const select = form.elements[name];
    for (const option of select.options) {
      if (!option.value) continue;
      const count = counts.get(option.value) ?? 0;
      option.textContent = `${name === "brand" ? brandName(option.value) : label(option.value)} (${count})`;
      option.disabled = count === 0 && option.value !== select.value;
    }
  }
}

// The facets name a brand by its key ("barkwell-co", chalicelib/search/language.py's
// slug); it is shown as the products the pages loaded spell it, else from its words.
const brandNames = new Map();
const brandKey = (brand) =>
  brand.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
const learnBrands = (products) => products.forEach((product) => brandNames.set(brandKey(product.brand), product.brand));
const brandName = (key) => brandNames.get(key) ?? key.split("-").map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(" ");

// The filters in use, each a button that removes it, and "Clear all".
function showChips(box, query) {
  const active = FILTERS.filter((name) => name !== "sort" && query.get(name));
  box.hidden = !active.length;
  const without = (names) => {
    const next = new URLSearchParams(query);
    for (const name of [...names, "n"]) next.delete(name);
    navigate(`#/${next.toString() ? `?${next}` : ""}`);
  };
  const shown = (name) => {
    const value = query.get(name);
    if (name === "in_stock") return "In stock only";
    if (name.endsWith("_price")) return `${NAMES[name]}: $${value}`;
    return `${NAMES[name]}: ${name === "brand" ? brandName(value) : label(value)}`;
  };
  box.replaceChildren(
    ...[
      ...active.map((name) =>
        el("button", { type: "button", class: "chip", "aria-label": `Remove filter ${shown(name)}`, onclick: () => without([name]) }, shown(name), el("span", { "aria-hidden": "true" }, " ×")),
      ),
      active.length > 1 ? el("button", { type: "button", class: "chip clear", onclick: () => without(active) }, "Clear all") : null,
    ].filter(Boolean), // one filter: no "Clear all"
  );
}

function countText(total) {
  if (!total) return "No products";
  return `${total} product${total === 1 ? "" : "s"}`;
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

function sayIfEmpty(found, query) {
  if (found.items.length) return;
  if (found.next_cursor) say("Still looking… Show more searches further.");
  else say(`No products match. ${suggestion(found, query)}`);
}

// What emptied the result: of the filters in use, the one whose removal finds
// the most (each facet is counted without its own filter, so its counts add up
// to what the search finds without it); else the words.
function suggestion(found, query) {
  const without = {
    species: sum(found.facets?.species),
    category: sum(found.facets?.category),
    brand: sum(found.facets?.brand),
    price: sum(found.facets?.price),
  };
  const using = (name) => (name === "price" ? query.get("min_price") || query.get("max_price") : query.get(name));
  const [best, count] = Object.entries(without)
    .filter(([name]) => using(name))
    .sort((a, b) => b[1] - a[1])[0] ?? [null, 0];
  if (best && count) return `Without the ${NAMES[best].toLowerCase()} filter, ${countText(count).toLowerCase()} match.`;
  const filters = FILTERS.filter((name) => name !== "sort" && query.get(name));
  if (filters.length && !query.get("q")) return "Try fewer filters.";
  const words = (query.get("q") ?? "").trim().split(/\s+/);
  if (words.length > 1) return `Try without “${words.at(-1)}”.`;
  return filters.length ? "Try other words, or fewer filters." : "Try other words.";
}

const sum = (counts = []) => counts.reduce((total, f) => total + f.count, 0);

function renderPage(list, page, append) {
  remember(page.items);
  learnBrands(page.items);
  if (!append) list.replaceChildren();
  const cards = page.items.map((product, index) => card(product, !append && index < FIRST_ROW, !append && index === 0));
  list.append(...cards);
  return cards;
}

// While the first answer is on its way: grey cards where the products will be.
function showSkeleton(list) {
  list.setAttribute("aria-busy", "true");
  if (list.querySelector(".card:not(.skeleton)")) return; // keep the old results in place until the new ones come
  const ghost = () => el("li", { class: "card skeleton", "aria-hidden": "true" }, el("span", { class: "shot" }), el("span", { class: "line-ghost" }), el("span", { class: "line-ghost short" }));
  list.replaceChildren(...Array.from({ length: 8 }, ghost));
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

// -- the front page: species and categories, and the best sellers ---------------------
const front = $("[data-front]");

function tile(query, text, category) {
  return el("li", {}, el("a", { class: "tile", href: `#/?${query}` }, category ? icon({ category }, { className: "tile-icon" }) : null, el("span", {}, text)));
}

front.querySelector("[data-species-tiles]").append(...CHOICES.species.map((value) => tile(`species=${value}`, label(value))));
front.querySelector("[data-category-tiles]").append(...CHOICES.category.map((value) => tile(`category=${value}`, label(value), value)));

let bestSellers; // asked once a visit: the edge caches the answer for minutes anyway

async function showBestSellers() {
  const box = front.querySelector("[data-best-sellers]");
  bestSellers ??= api("/products/best-sellers", { params: BEST_SELLERS }).catch(() => ({ items: [] }));
  const found = await bestSellers;
  if (!showing("catalog") || front.hidden) return;
  remember(found.items);
  box.hidden = !found.items.length;
  box.querySelector("ul").replaceChildren(...found.items.map((product, index) => card(product, index < FIRST_ROW, index === 0)));
}

// -- the views ---------------------------------------------------------------------
const searchBox = $("[data-q]");
const filters = $("[data-filters]");
const results = $("[data-results]");
const moreButton = $("[data-more]");
const understoodBox = $("[data-understood]");
const chips = $("[data-chips]");
const resultCount = $("[data-count]");
const phone = matchMedia("(max-width: 40rem)");
let shown = { params: null, cursor: null, count: 0 };
let filtersFolded = false;
let catalogHash = "#/"; // the last search shown: where "Back to the shop" leads

// Scroll positions live in each history entry, so Back puts the shopper where
// they were once the results are shown again (the browser's own restoring runs
// before they arrive).
history.scrollRestoration = "manual";
let scrollSaver;
let restoring = false; // until the results are back, the position to return to is not overwritten
const saveScroll = () => {
  clearTimeout(scrollSaver);
  if (showing("catalog") && !restoring) history.replaceState({ ...history.state, scrollY: Math.round(scrollY) }, "");
};
addEventListener("scroll", () => {
  clearTimeout(scrollSaver);
  scrollSaver = setTimeout(saveScroll, 150);
});
// A click may leave the page before the scroll's save is due: save first.
addEventListener("click", saveScroll, { capture: true });

/** Load `count` results (the URL's `n`) in pages the API allows. */
async function loadShown(params, count) {
  const first = await loadPage(firstPage(params, count));
  const items = [...first.items];
  let next = first.next_cursor;
  let last = first;
  // (a page that came back empty stops here: "Still looking…" offers Show more)
  while (next && items.length < count && last.items.length) {
    last = await loadPage({ ...params, limit: Math.min(count - items.length, MAX_PAGE) }, next);
    items.push(...last.items);
    next = last.next_cursor;
  }
  return { ...first, items, next_cursor: next };
}

export function showCatalog(query) {
  show("catalog");
  catalogHash = location.hash || "#/";
  if (!filtersFolded) {
    // On a phone the filters start folded away, unless the URL uses some.
    $("[data-filter-panel]").open = !phone.matches || [...query.keys()].some((key) => !["q", "n"].includes(key));
    filtersFolded = true;
  }
  if (document.activeElement !== searchBox) searchBox.value = query.get("q") ?? "";
  fillFilters(filters, query);
  showChips(chips, query);
  const opening = isFrontPage(query);
  front.hidden = !opening;
  if (opening) showBestSellers();
  const params = searchParams(query);
  const returnTo = history.state?.scrollY ?? 0;
  restoring = true;
  showSkeleton(results);
  loading(
    () => loadShown(params, shownCount(query)),
    (found) => {
      shown = { params, cursor: found.next_cursor, count: found.items.length };
      renderPage(results, found, false);
      results.removeAttribute("aria-busy");
      moreButton.hidden = !found.next_cursor;
      explain(understoodBox, found, params);
      showCounts(filters, found.facets);
      resultCount.textContent = countText(found.facets?.counted ?? found.items.length);
      sayIfEmpty(found, query);
      scrollTo(0, returnTo);
      restoring = false;
    },
    {
      failed: (error) => {
        // a bound the shop refused is marked on its field, in plain words (said by the status line too)
        if (error.status === 400 && showFieldError(filters, error)) error.message = fieldWords(filters, error);
        // an error is not shown over the results of another search
        results.replaceChildren();
        results.removeAttribute("aria-busy");
        moreButton.hidden = true;
        understoodBox.hidden = true;
        resultCount.textContent = "";
        restoring = false;
      },
    },
  );
}

function showMore() {
  more(
    moreButton,
    () => loadPage(shown.params, shown.cursor),
    (found) => {
      shown.cursor = found.next_cursor;
      const cards = renderPage(results, found, true);
      shown.count += cards.length;
      moreButton.hidden = !found.next_cursor;
      // The URL says how many are shown, so Back (or a reload) shows as many again.
      const { query } = parseHash();
      query.set("n", String(shown.count));
      history.replaceState({ ...history.state }, "", `#/?${query}`);
      catalogHash = location.hash;
      if (cards.length) cards[0].querySelector("a").focus();
      else if (found.next_cursor) sayIfEmpty(found, query);
    },
  );
}

export function showProduct(id) {
  show("product", "Product");
  $("[data-back]").href = catalogHash;
  const container = $("[data-product]");
  container.classList.remove("missing");
  container.replaceChildren(el("p", { class: "meta" }, "Loading the product…"));
  loading(
    () => api(`/products/${encodeURIComponent(id)}`),
    (product) => {
      remember([product]);
      document.title = `${product.name} · Pet Store`;
      renderProduct(container, product, (quantity) => addToCart(product, quantity));
    },
    {
      failed: (error) => {
        const missing = error.status === 404;
        if (missing) document.title = "Product not found · Pet Store";
        container.classList.add("missing");
        container.replaceChildren(
          el("h1", { tabindex: "-1" }, missing ? "We could not find that product" : "This product cannot be shown right now"),
          el("p", {}, missing ? "It may have been removed from the shop. " : "Please try again in a moment. ", el("a", { href: catalogHash }, "Search the shop")),
        );
        return missing; // its heading says it: the status line need not (other errors are said there too)
      },
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

/** A page is left: a search still waiting to be sent is for it; off the catalog the header's box is emptied. */
export function stopTyping(path) {
  clearTimeout(typing);
  if (path !== "/" && document.activeElement !== searchBox) searchBox.value = "";
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
filters.addEventListener("change", (event) => {
  if (event.target.name === "sort") sortChosen = true;
  if (event.target.name?.endsWith("_price")) {
    for (const field of [filters.elements.min_price, filters.elements.max_price]) clearProblem(field);
    const problem = priceProblem(filters);
    if (problem) return showProblem(...problem);
  }
  search({ replace: false });
});
filters.addEventListener("submit", (event) => event.preventDefault());
moreButton.addEventListener("click", showMore);
