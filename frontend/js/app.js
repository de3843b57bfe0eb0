// The shop's entry point: which view each URL shows. Every view lives in its
// own module (catalog, checkout, orders, account, admin); page.js holds what
// they share.
//   #/                   browse; #/?q=salmon&species=cat   search and filters
//   #/product/<id>       one product
//   #/cart               the cart and checkout
//   #/orders             the user's orders; #/orders/<id> one of them
//   #/signin, #/signup, #/confirm?email=...
//   #/admin              catalog admin; #/admin/new, #/admin/product/<id>

import { showConfirm, showHeader, showSignIn, showSignUp } from "./account.js";
import { showAdmin, showEdit } from "./admin.js";
import { showCatalog, showProduct, stopTyping } from "./catalog.js";
import { showCart } from "./checkout.js";
import { showOrder, showOrders } from "./orders.js";
import { $, newPage, onNavigate, parseHash, say } from "./page.js";
import * as session from "./session.js";

const ROUTES = [
  [/^\/product\/(.+)$/, (id) => showProduct(id)],
  [/^\/cart$/, () => showCart()],
  [/^\/orders$/, () => showOrders()],
  [/^\/orders\/(.+)$/, (id, query) => showOrder(id, query)],
  [/^\/signin$/, () => showSignIn()],
  [/^\/signup$/, () => showSignUp()],
  [/^\/confirm$/, (query) => showConfirm(query)],
  [/^\/admin$/, (query) => showAdmin(query)],
  [/^\/admin\/new$/, () => showEdit(null)],
  [/^\/admin\/product\/(.+)$/, (id) => showEdit(id)],
];

function route() {
  newPage();
  stopTyping(); // a search still waiting to be sent is for the page we left
  const { path, query } = parseHash();
  for (const [pattern, view] of ROUTES) {
    const match = path.match(pattern);
    if (match) return view(...match.slice(1).map(decodeURIComponent), query);
  }
  return showCatalog(query);
}

function navigated() {
  route();
  // Screen readers and keyboards start at the new page, unless the user is typing a search.
  if (!document.activeElement?.closest("[data-search-form], [data-filters]")) $("#main").focus();
}

// The skip link moves the focus; it must not change the route.
$("[data-skip]").addEventListener("click", (event) => {
  event.preventDefault();
  $("#main").focus();
});

onNavigate(route);
showHeader();
window.addEventListener("hashchange", navigated);
session
  .resume()
  .catch((error) => say(error.message, { alert: true }))
  .finally(() => {
    showHeader();
    route();
  });
