// Catalog admin: find, create, edit, delete products and adjust stock.
// Shown only to the admin role; the API checks the role on every call anyway.

import { api } from "./api.js";
import { el } from "./dom.js";
import { price } from "./format.js";
import { authHeader } from "./session.js";

const FIELDS = ["name", "description", "species", "category", "brand"];

export async function findProducts(q, cursor) {
  return api("/products", { params: { q, sort: q ? "relevance" : "name", limit: 25, cursor } });
}

export function renderRows(tbody, page, append) {
  if (!append) tbody.replaceChildren();
  tbody.append(
    ...page.items.map((product) =>
      el(
        "tr",
        { dataset: { testid: "admin-row" } },
        el("td", {}, product.name),
        el("td", {}, price(product.price_cents)),
        el("td", {}, String(product.stock)),
        el("td", {}, el("a", { href: `#/admin/product/${encodeURIComponent(product.id)}`, "aria-label": `Edit ${product.name}` }, "Edit")),
      ),
    ),
  );
}

export function fillForm(form, product) {
  for (const name of FIELDS) form.elements[name].value = product?.[name] ?? (form.elements[name].options?.[0]?.value ?? "");
  form.elements.price.value = product ? (product.price_cents / 100).toFixed(2) : "";
  form.elements.stock.value = product ? String(product.stock) : "0";
}

export function fieldsOf(form) {
  const fields = Object.fromEntries(FIELDS.map((name) => [name, form.elements[name].value.trim()]));
  return {
    ...fields,
    price_cents: Math.round(Number(form.elements.price.value) * 100),
    stock: Number.parseInt(form.elements.stock.value, 10),
  };
}

async function adminCall(path, init) {
  return api(path, { ...init, headers: { ...(await authHeader()), ...init.headers } });
}

export const loadProduct = (id) => api(`/products/${encodeURIComponent(id)}`);

export const createProduct = (fields) => adminCall("/products", { method: "POST", json: fields });

export const updateProduct = (id, fields) => adminCall(`/products/${encodeURIComponent(id)}`, { method: "PUT", json: fields });

export const deleteProduct = (id) => adminCall(`/products/${encodeURIComponent(id)}`, { method: "DELETE" });

export const adjustStock = (id, change) =>
  adminCall(`/products/${encodeURIComponent(id)}/stock`, { method: "POST", json: { change } });

/** Point the form field the API named (`field` of a 400) out to the user, in the form's words. */
export function markField(form, error) {
  const field = error.body?.field;
  const name = field === "price_cents" ? "price" : field;
  const label = form.elements[name]?.labels?.[0]?.firstChild?.textContent?.trim();
  if (label && error.message.toLowerCase().startsWith(`${field}:`)) {
    error.message = `${label}: ${error.message.slice(field.length + 1).trim()}`;
  }
  form.elements[name]?.setAttribute?.("aria-invalid", "true");
}

export function clearMarks(form) {
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}
