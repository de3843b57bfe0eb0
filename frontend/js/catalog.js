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

function card(product) {
  const item = document.createElement("li");
  item.className = "card";
  item.dataset.testid = "product-card";
  const link = document.createElement("a");
  link.href = `#/product/${encodeURIComponent(product.id)}`;
  link.textContent = product.name;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${product.brand} · ${label(product.species)} · ${label(product.category)}`;
  const cost = document.createElement("span");
  cost.className = "price";
  cost.textContent = price(product.price_cents);
  const stock = document.createElement("span");
  stock.className = product.stock > 0 ? "meta" : "meta stock-out";
  stock.textContent = stockText(product.stock);
  item.append(link, meta, cost, stock);
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
  const title = document.createElement("h1");
  title.textContent = product.name;
  const meta = document.createElement("p");
  meta.className = "meta";
  meta.textContent = `${product.brand} · ${label(product.species)} · ${label(product.category)}`;
  const cost = document.createElement("p");
  cost.className = "price";
  cost.textContent = price(product.price_cents);
  const stock = document.createElement("p");
  stock.className = product.stock > 0 ? "meta" : "meta stock-out";
  stock.textContent = stockText(product.stock);
  const description = document.createElement("p");
  description.textContent = product.description;
  container.replaceChildren(title, meta, cost, stock, description);
}
