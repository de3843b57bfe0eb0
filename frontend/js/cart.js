// The cart: a store kept in localStorage, so it survives reloads and is shared
// by the shop's tabs. It remembers names, prices, the category and the first
// photo only to show them; the server prices the order at checkout.

import { thumbnailOf } from "./photos.js";

const KEY = "petstore.cart";
export const MAX_LINES = 25; // what one order may hold (POST /orders)
export const MAX_QUANTITY = 99;

const events = new EventTarget();

function read() {
  try {
    const lines = JSON.parse(localStorage.getItem(KEY))?.lines;
    return Array.isArray(lines) ? lines : [];
  } catch {
    return [];
  }
}

function write(lines) {
  if (lines.length) localStorage.setItem(KEY, JSON.stringify({ lines }));
  else localStorage.removeItem(KEY);
  events.dispatchEvent(new Event("change"));
}

const clamp = (quantity) => Math.min(Math.max(Math.trunc(quantity) || 1, 1), MAX_QUANTITY);

export const lines = () => read();

export const count = () => read().reduce((sum, line) => sum + line.quantity, 0);

export const estimatedTotal = () => read().reduce((sum, line) => sum + line.price_cents * line.quantity, 0);

/** Add a product (or more of it). Returns false when the cart has no room for a new line. */
export function add(product, quantity = 1) {
  const current = read();
  const line = current.find((l) => l.product_id === product.id);
  const shown = { category: product.category, photo: thumbnailOf(product) };
  if (line) Object.assign(line, shown, { quantity: clamp(line.quantity + quantity) });
  else if (current.length >= MAX_LINES) return false;
  else current.push({ product_id: product.id, name: product.name, price_cents: product.price_cents, ...shown, quantity: clamp(quantity) });
  write(current);
  return true;
}

export function setQuantity(productId, quantity) {
  write(read().map((line) => (line.product_id === productId ? { ...line, quantity: clamp(quantity) } : line)));
}

export function remove(productId) {
  write(read().filter((line) => line.product_id !== productId));
}

export function clear() {
  write([]);
}

export function onChange(listener) {
  events.addEventListener("change", listener);
}

// Another tab changed the cart.
window.addEventListener("storage", (event) => {
  if (event.key === KEY || event.key === null) events.dispatchEvent(new Event("change"));
});
