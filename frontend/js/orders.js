// The signed-in user's orders: the list, one order, and cancelling it.

import { api } from "./api.js";
import { el } from "./dom.js";
import { price, when } from "./format.js";
import { $, currentPage, fail, loading, more, needSignIn, say, show } from "./page.js";
import { fillThumbnails, thumbnail } from "./photos.js";
import { authHeader } from "./session.js";

const STATUS = { placed: "Placed", cancelled: "Cancelled" };

async function loadOrders(cursor) {
  return api("/orders", { params: { limit: 10, cursor }, headers: await authHeader() });
}

async function loadOrder(id) {
  return api(`/orders/${encodeURIComponent(id)}`, { headers: await authHeader() });
}

async function cancelOrder(id) {
  return api(`/orders/${encodeURIComponent(id)}/cancel`, { method: "POST", headers: await authHeader() });
}

const shortId = (order) => order.id.slice(-8).toUpperCase();

function summary(order) {
  const count = order.items.reduce((sum, line) => sum + line.quantity, 0);
  return `${when(order.created_at)} · ${count} item${count === 1 ? "" : "s"} · ${price(order.total_cents)}`;
}

function orderRow(order) {
  return el(
    "li",
    { class: "panel order-row", dataset: { testid: "order" } },
    el("a", { href: `#/orders/${encodeURIComponent(order.id)}` }, `Order ${shortId(order)}`),
    el("span", { class: `status-${order.status}` }, STATUS[order.status] ?? order.status),
    el("span", { class: "meta" }, summary(order)),
  );
}

function renderOrders(list, page, append) {
  if (!append) list.replaceChildren();
  list.append(...page.items.map(orderRow));
}

/** One order; `justPlaced` shows the thank-you; `onCancel` is offered while the order is placed. */
function renderOrder(container, order, { justPlaced = false, onCancel } = {}) {
  const address = order.shipping_address;
  const parts = [
    el("h1", { tabindex: "-1" }, justPlaced ? "Thank you! Your order is placed." : `Order ${shortId(order)}`),
    justPlaced && el("p", {}, `Order ${shortId(order)}. A confirmation is on its way to your email.`),
    el("p", { class: "meta" }, el("strong", { class: `status-${order.status}` }, STATUS[order.status] ?? order.status), ` · ${when(order.created_at)}`),
    el(
      "table",
      { class: "table order-lines" },
      el("caption", { class: "visually-hidden" }, "Items"),
      el(
        "thead",
        {},
        el("tr", {}, ["Item", "Quantity", "Unit price", "Total"].map((h) => el("th", { scope: "col", class: h === "Unit price" ? "unit" : null }, h))),
      ),
      el(
        "tbody",
        {},
        order.items.map((line) =>
          el(
            "tr",
            {},
            el(
              "td",
              {},
              el("span", { class: "item" }, thumbnail(line.product_id), el("a", { href: `#/product/${encodeURIComponent(line.product_id)}` }, line.name)),
            ),
            el("td", {}, String(line.quantity)),
            el("td", { class: "unit" }, price(line.unit_price_cents)),
            // A phone has no room for the unit price's column: it is told under the line's total.
            el("td", {}, price(line.line_total_cents), line.quantity > 1 && el("span", { class: "each" }, `${price(line.unit_price_cents)} each`)),
          ),
        ),
      ),
      el(
        "tfoot",
        {},
        el("tr", {}, el("th", { scope: "row", colspan: 2 }, "Total"), el("td", { class: "unit" }), el("td", { class: "price" }, price(order.total_cents))),
      ),
    ),
    el("h2", {}, "Shipping to"),
    el("p", {}, [address.name, address.line1, address.line2, `${address.postal_code} ${address.city}`, address.country].filter(Boolean).join(", ")),
    order.status === "placed" && onCancel && el("button", { type: "button", class: "danger", onclick: onCancel }, "Cancel order"),
  ];
  // replaceChildren() would write a `false` (no thank-you, no Cancel button) as the text "false".
  container.replaceChildren(...parts.filter(Boolean));
  fillThumbnails(container); // order lines name their products only: their photos come from the catalog
}

// -- the views ---------------------------------------------------------------------
const list = $("[data-orders]");
const moreButton = $("[data-orders-more]");
let cursor = null;

export function showOrders() {
  if (needSignIn()) return;
  show("orders", "Your orders");
  list.replaceChildren();
  moreButton.hidden = true;
  loading(
    () => loadOrders(),
    (found) => {
      cursor = found.next_cursor;
      renderOrders(list, found, false);
      moreButton.hidden = !cursor;
      if (!found.items.length) say("You have no orders yet.");
    },
  );
}

moreButton.addEventListener("click", () =>
  more(
    moreButton,
    () => loadOrders(cursor),
    (found) => {
      cursor = found.next_cursor;
      renderOrders(list, found, true);
      moreButton.hidden = !cursor;
    },
  ),
);

export function showOrder(id, query) {
  if (needSignIn()) return;
  show("order", "Order");
  const container = $("[data-order]");
  container.replaceChildren();
  const render = (order, justPlaced) =>
    renderOrder(container, order, {
      justPlaced,
      onCancel: async (event) => {
        if (!confirm("Cancel this order? Its items go back on the shelf.")) return;
        const button = event.currentTarget;
        const mine = currentPage();
        button.disabled = true;
        try {
          const cancelled = await cancelOrder(order.id);
          if (mine !== currentPage()) return; // the user has moved on
          render(cancelled, false);
          say("The order is cancelled.");
          container.querySelector("h1").focus();
        } catch (error) {
          if (mine === currentPage()) fail(error);
          button.disabled = false;
        }
      },
    });
  loading(
    () => loadOrder(id),
    (order) => render(order, query.get("placed") === "1"),
  );
}
