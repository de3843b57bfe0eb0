// Browse and search: the catalog view, driven by the URL (#/?q=...&species=...).

import { api } from "./api.js";
import { el } from "./dom.js";
import { label, price, stockText } from "./format.js";

const FILTERS = ["species", "category", "brand", "min_price", "max_price", "in_stock", "sort"];
const PAGE = 24;

// URL params -> API params (prices are dollars in the form, cents in the API).
export function searchParams(query) {
  const params = { limit: PAGE };
  const q = query.get("q");
  if (q) params.q = q;
  for (const name of FILTERS) {
    const value = query.get(name);
    if (!value) continue;
    params[name] = name.endsWith("_price") ? Math.round(Number(value) * 100) : value;
  }
  return params;
}

export function fillFilters(form, query) {
  for (const name of FILTERS) {
    const field = form.elements[name];
    if (field.type === "checkbox") field.checked = query.get(name) === "true";
    else field.value = query.get(name) ?? (name === "sort" ? "relevance" : "");
  }
}

export function filtersToQuery(form, q) {
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

function card(product) {
  return el(
    "li",
    { class: "card", dataset: { testid: "product-card" } },
    el("a", { href: `#/product/${encodeURIComponent(product.id)}` }, product.name),
    ...facts(product, "span"),
  );
}

export async function loadPage(params, cursor) {
  return api("/products", { params: { ...params, cursor } });
}

export function renderPage(list, page, append) {
  if (!append) list.replaceChildren();
  list.append(...page.items.map(card));
}

export async function loadProduct(id) {
  return api(`/products/${encodeURIComponent(id)}`);
}

/** The product page; `onAdd(quantity)` puts it in the cart. */
export function renderProduct(container, product, onAdd) {
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
    el("h1", {}, product.name),
    ...facts(product, "p"),
    el("p", { class: "description" }, product.description),
    product.stock > 0 ? buy : el("p", {}, "This product is out of stock for now."),
  );
}
