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
import { showCatalog, showProduct, stopTyping } from "./catalog.js";
import { $, currentPage, fail, newPage, onNavigate, parseHash, say } from "./page.js";
import * as session from "./session.js";

// What a shopper browsing needs loads with the page; checkout, orders and admin
// (and their modules) load the first time one of their pages is opened.
const onDemand = (load, name) =>
  (...args) => {
    const mine = currentPage();
    return load().then(
      (module) => mine === currentPage() && module[name](...args),
      () => mine === currentPage() && fail({ message: "This page could not be loaded. Check your connection and reload." }),
    );
  };
const checkout = () => import("./checkout.js");
const orders = () => import("./orders.js");
const admin = () => import("./admin.js");

const ROUTES = [
  [/^\/product\/(.+)$/, (id) => showProduct(id)],
  [/^\/cart$/, onDemand(checkout, "showCart")],
  [/^\/orders$/, onDemand(orders, "showOrders")],
  [/^\/orders\/(.+)$/, onDemand(orders, "showOrder")],
  [/^\/signin$/, () => showSignIn()],
  [/^\/signup$/, () => showSignUp()],
  [/^\/confirm$/, (query) => showConfirm(query)],
  [/^\/admin$/, onDemand(admin, "showAdmin")],
  [/^\/admin\/new$/, () => onDemand(admin, "showEdit")(null)],
  [/^\/admin\/product\/(.+)$/, onDemand(admin, "showEdit")],
];

function route() {
  newPage();
  const { path, query } = parseHash();
  stopTyping(path); // a search still waiting to be sent is for the page we left
  for (const [pattern, view] of ROUTES) {
    const match = path.match(pattern);
    if (match) return view(...match.slice(1).map(decodeURIComponent), query);
  }
  return showCatalog(query);
}

function navigated() {
  route();
  if (parseHash().path !== "/") scrollTo(0, 0); // a new page starts at its top (the catalog restores its own place)
  // Screen readers and keyboards start at the new page, unless the user is typing a search.
  if (!document.activeElement?.closest("[data-search-form], [data-filters]")) $("#main").focus({ preventScroll: true });
}

// The skip link moves the focus; it must not change the route.
$("[data-skip]").addEventListener("click", (event) => {
  event.preventDefault();
  $("#main").focus();
});

$("[data-boot]").remove(); // the page's own "Loading the shop…", shown until the scripts run
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
