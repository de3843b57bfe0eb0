// Catalog admin: find, create, edit, delete products and adjust stock; the
// product page's photos are admin-photos.js.
// Shown only to the admin role; the API checks the role on every call anyway.

import { showPhotos } from "./admin-photos.js";
import { api } from "./api.js";
import { el } from "./dom.js";
import { price } from "./format.js";
import { $, fail, loading, more, navigate, needSignIn, onSubmit, say, settle, show } from "./page.js";
import { authHeader, isAdmin } from "./session.js";

const FIELDS = ["name", "description", "species", "category", "brand"];

async function findProducts(q, cursor) {
  return api("/products", { params: { q, sort: q ? "relevance" : "name", limit: 25, cursor } });
}

function renderRows(tbody, page, append) {
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

function fillForm(form, product) {
  for (const name of FIELDS) form.elements[name].value = product?.[name] ?? (form.elements[name].options?.[0]?.value ?? "");
  form.elements.price.value = product ? (product.price_cents / 100).toFixed(2) : "";
  form.elements.stock.value = product ? String(product.stock) : "0";
}

function fieldsOf(form) {
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

const loadProduct = (id) => api(`/products/${encodeURIComponent(id)}`);

const createProduct = (fields) => adminCall("/products", { method: "POST", json: fields });

// If-Match: the version the form was loaded at, so a second admin's edit made
// meanwhile is refused (409) instead of silently overwritten; purchases do not
// change the version, so buyers never make an edit fail.
const updateProduct = (id, fields, version) =>
  adminCall(`/products/${encodeURIComponent(id)}`, {
    method: "PUT",
    json: fields,
    headers: version ? { "If-Match": `"${version}"` } : {},
  });

const deleteProduct = (id) => adminCall(`/products/${encodeURIComponent(id)}`, { method: "DELETE" });

const adjustStock = (id, change) =>
  adminCall(`/products/${encodeURIComponent(id)}/stock`, { method: "POST", json: { change } });

/** Point the form field the API named (`field` of a 400) out to the user, in the form's words. */
function markField(form, error) {
  const field = error.body?.field;
  const name = field === "price_cents" ? "price" : field;
  const label = form.elements[name]?.labels?.[0]?.firstChild?.textContent?.trim();
  if (label && error.message.toLowerCase().startsWith(`${field}:`)) {
    error.message = `${label}: ${error.message.slice(field.length + 1).trim()}`;
  }
  form.elements[name]?.setAttribute?.("aria-invalid", "true");
}

function clearMarks(form) {
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

// -- the views ---------------------------------------------------------------------
const rows = $("[data-admin-rows]");
const moreButton = $("[data-admin-more]");
const editForm = $("[data-edit-form]");
const stockForm = $("[data-stock-form]");
let listed = { q: "", cursor: null };
let editing = null; // the product id on the edit page, null for a new one
let loaded = null; // that product as the form was filled from it

function needAdmin() {
  if (needSignIn()) return true;
  if (isAdmin()) return false;
  show("", "Not allowed");
  say("This page is for the shop's admins.", { alert: true });
  return true;
}

export function showAdmin(query) {
  if (needAdmin()) return;
  show("admin", "Catalog admin");
  const q = query.get("q") ?? "";
  $("[data-admin-search]").elements.q.value = q;
  loading(
    () => findProducts(q),
    (found) => {
      listed = { q, cursor: found.next_cursor };
      renderRows(rows, found, false);
      moreButton.hidden = !found.next_cursor;
      if (!found.items.length) say("No products match.");
    },
  );
}

export function showEdit(id) {
  if (needAdmin()) return;
  editing = id;
  clearMarks(editForm);
  $("[data-edit-title]").textContent = id ? "Edit product" : "New product";
  $("[data-delete]").hidden = !id;
  stockForm.hidden = !id;
  editForm.elements.stock.readOnly = Boolean(id); // an existing product's stock moves by adjustment
  show("edit", id ? "Edit product" : "New product");
  showPhotos(id);
  loaded = null;
  fillForm(editForm, null);
  if (!id) return settle();
  loading(
    () => loadProduct(id),
    (product) => {
      loaded = product;
      fillForm(editForm, product);
    },
  );
}

// A PUT replaces every field but the stock, which the API keeps when it is left
// out (a purchase made while the form was open stays counted). The image is not
// in the form: send back the one the product had.
function save(fields) {
  if (!editing) return createProduct(fields);
  const { stock, ...rest } = fields;
  return updateProduct(editing, { ...rest, image: loaded?.image ?? undefined }, loaded?.version);
}

onSubmit(
  editForm,
  "Saving…",
  async () => {
    clearMarks(editForm);
    const saved = await save(fieldsOf(editForm));
    navigate(`#/admin/product/${encodeURIComponent(saved.id)}`, `Saved ${saved.name}.`);
  },
  {
    failed: (error) => {
      markField(editForm, error);
      fail(error);
      editForm.querySelector("[aria-invalid]")?.focus();
    },
  },
);

onSubmit(stockForm, "Changing the stock…", async () => {
  const product = await adjustStock(editing, Number.parseInt(stockForm.elements.change.value, 10));
  editForm.elements.stock.value = String(product.stock);
  stockForm.reset();
  say(`Stock of ${product.name} is now ${product.stock}.`);
});

$("[data-delete]").addEventListener("click", async () => {
  const name = editForm.elements.name.value;
  if (!confirm(`Delete ${name}? Shoppers will no longer find it.`)) return;
  try {
    await deleteProduct(editing);
    navigate("#/admin", `Deleted ${name}.`);
  } catch (error) {
    fail(error);
  }
});

$("[data-admin-search]").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = event.currentTarget.elements.q.value.trim();
  navigate(q ? `#/admin?q=${encodeURIComponent(q)}` : "#/admin");
});

moreButton.addEventListener("click", () =>
  more(
    moreButton,
    () => findProducts(listed.q, listed.cursor),
    (found) => {
      listed.cursor = found.next_cursor;
      renderRows(rows, found, true);
      moreButton.hidden = !found.next_cursor;
    },
  ),
);
