// The catalog's search as the URL says it, and the first one asked early.
//
// index.html loads this module on its own (async), before the rest of the
// shop: on a catalog page it asks the API for the first results at once, while
// the other modules are still on their way, and catalog.js takes that answer
// (api.js `prefetch`) instead of asking again. catalog.js builds every search
// with the same functions, so the early request is exactly the one it makes.

import { prefetch } from "./api.js";

export const FILTERS = ["species", "category", "brand", "min_price", "max_price", "in_stock", "sort"];
export const PAGE = 24;
export const MAX_PAGE = 100; // the API's largest page (chalicelib/platform/schema.py)
const MAX_SHOWN = 480; // what a URL's `n` may ask to show again at once

/** The hash's path and query: `#/?q=salmon` -> { path: "/", query }. */
export function hashParts(hash = location.hash) {
  const [path, search = ""] = (hash.replace(/^#/, "") || "/").split("?");
  return { path, query: new URLSearchParams(search) };
}

/** URL params -> API params (prices are dollars in the form, cents in the API). */
export function searchParams(query) {
  const params = { limit: PAGE };
  const q = query.get("q");
  if (q) params.q = q;
  if (query.get("exact") === "true") params.exact = true;
  for (const name of FILTERS) {
    const value = query.get(name);
    if (!value) continue;
    params[name] = name.endsWith("_price") ? Math.round(Number(value) * 100) : value;
  }
  return params;
}

/** How many results the URL says were shown (`n`, after Show more): at least one page. */
export function shownCount(query) {
  const n = Number.parseInt(query.get("n") ?? "", 10);
  return Number.isFinite(n) ? Math.min(Math.max(n, PAGE), MAX_SHOWN) : PAGE;
}

/** The first request of a search showing `count` results. */
export const firstPage = (params, count) => ({ ...params, limit: Math.min(count, MAX_PAGE) });

/** A front page (nothing searched): it also shows the best sellers. */
export const isFrontPage = (query) => ![...query.keys()].some((key) => key !== "n");
export const BEST_SELLERS = { limit: 8 };

// How wide a card shows its photo, as styles.css lays the grid out: columns of
// 14rem or wider in a 72rem page, 2 to 4 of them, the photo the card's width
// less its padding (one column, below 31rem: a 7.5rem photo beside the words).
export const CARD_SIZES =
  "(max-width: 31rem) 7.5rem, (max-width: 46rem) calc(50vw - 3.4rem), " +
  "(max-width: 61rem) calc(33.3vw - 3.25rem), (max-width: 72rem) calc(25vw - 3.2rem), 15rem";

/** The first card's photo starts loading as soon as the answer names it, before the page is drawn. */
async function preloadFirstPhoto(answer) {
  const response = await answer;
  if (!response?.ok) return;
  const photo = (await response.json()).items?.[0]?.photos?.find((p) => p.state === "ready" && p.src);
  if (!photo) return;
  const link = Object.assign(document.createElement("link"), { rel: "preload", as: "image", fetchPriority: "high" });
  link.setAttribute("imagesizes", CARD_SIZES);
  if (photo.webp_srcset) {
    link.type = "image/webp"; // what the card's <picture> takes from its WebP <source>
    link.setAttribute("imagesrcset", photo.webp_srcset);
  } else {
    link.setAttribute("imagesrcset", photo.srcset);
  }
  document.head.append(link);
}

const { path, query } = hashParts();
if (path === "/") {
  preloadFirstPhoto(prefetch("/products", firstPage(searchParams(query), shownCount(query)))).catch(() => {});
  if (isFrontPage(query)) prefetch("/products/best-sellers", BEST_SELLERS);
}
