// Browse and search: the catalog view, driven by the URL (#/?q=...&species=...).

import { api } from "./api.js";
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

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.textContent = text;
  return node;
}

// Brand and kind, price, stock: shown on cards and on the product page.
function facts(product, tag) {
  return [
    element(tag, "meta", `${product.brand} · ${label(product.species)} · ${label(product.category)}`),
    element(tag, "price", price(product.price_cents)),
    element(tag, product.stock > 0 ? "meta" : "meta stock-out", stockText(product.stock)),
  ];
}

function card(product) {
  const item = element("li", "card", "");
  item.dataset.testid = "product-card";
  const link = element("a", "", product.name);
  link.href = `#/product/${encodeURIComponent(product.id)}`;
  item.append(link, ...facts(product, "span"));
  return item;
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

export function renderProduct(container, product) {
  container.replaceChildren(
    element("h1", "", product.name),
    ...facts(product, "p"),
    element("p", "", product.description),
  );
}
