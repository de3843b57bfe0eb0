// Product photos as every page shows them: a <picture> with the WebP renditions
// and a JPEG <img srcset> sized from the photo itself (its box is reserved before
// it loads), or the category's icon while a product has no ready photo.
//
// Each place says how wide it shows the photo (`sizes`, in step with styles.css)
// and whether it is above the fold (not lazy; the product page's main photo also
// fetchpriority="high"). docs/spa.md#photos has the choices.

import { api } from "./api.js";
import { el } from "./dom.js";

/** The photos a shopper sees, in display order: the ready ones. */
export const readyPhotos = (product) => (product?.photos ?? []).filter((photo) => photo.state === "ready" && photo.src);

// A product names its icon as the catalog has always stored it, "img/<name>.svg";
// the files are in icons/, since the shop's /img/ is the photos' renditions
// (CloudFront sends /img/* to their bucket). Only those names: an admin-entered
// URL never loads.
const OWN_ICON = /^img\/([a-z0-9-]+\.(svg|png|jpg|webp))$/;

/** The product's category icon (decorative: the product's name is next to it), or an empty box. */
export function icon(product, { className = "", lazy = true } = {}) {
  const own = OWN_ICON.exec(product?.image ?? "")?.[1];
  const src = own ? `icons/${own}` : product?.category ? `icons/${product.category}.svg` : null;
  if (!src) return el("span", { class: `${className} icon blank` });
  return el("img", { class: `${className} icon`, loading: lazy ? "lazy" : null, decoding: "async", width: 64, height: 64, src, alt: "" });
}

/**
 * One photo: <picture><source type="image/webp" srcset sizes><img src srcset sizes width height alt></picture>.
 * `loading` comes first: an image given its src before it is lazy starts loading at once.
 */
export function photoPicture(photo, { alt, sizes, className = "", lazy = true, priority = false }) {
  const img = el("img", {
    class: `${className} photo`,
    loading: lazy ? "lazy" : null,
    fetchpriority: priority ? "high" : null,
    decoding: "async",
    width: photo.width,
    height: photo.height,
    sizes,
    srcset: photo.srcset,
    src: photo.src,
    alt,
  });
  const webp = photo.webp_srcset && el("source", { type: "image/webp", sizes, srcset: photo.webp_srcset });
  return el("picture", {}, webp, img);
}

/**
 * A product's picture: its first ready photo (or `photo`), alt text the photo's
 * own or else the product's name (`nameAsAlt: false` where the name is written
 * right beside it: a cart or order line); the category icon when it has none,
 * or when the photo cannot be loaded (deleted since the page, or a cart line, had it).
 */
export function productPicture(product, { photo = readyPhotos(product)[0], nameAsAlt = true, ...options }) {
  if (!photo) return icon(product, options);
  const picture = photoPicture(photo, { alt: photo.alt || (nameAsAlt ? product.name : ""), ...options });
  picture.querySelector("img").addEventListener("error", () => picture.replaceWith(icon(product, options)), { once: true });
  return picture;
}

/** What a cart line keeps of a product's first photo, to show it without asking the shop again. */
export function thumbnailOf(product) {
  const photo = readyPhotos(product)[0];
  if (!photo) return null;
  const { src, srcset, webp_srcset, width, height, alt } = photo;
  return { state: "ready", src, srcset, webp_srcset, width, height, alt };
}

// -- products by id, for lines that name only a product (orders) ---------------------
// The API has no "these ids" read, so each product not seen yet costs one GET
// /products/{id}, a few at a time; products the pages already loaded are reused.
const PARALLEL = 4;
const known = new Map(); // product id -> Promise of the product, or null when the shop no longer has it

/** Remember products from an answer the page already has (search results, a product page). */
export function remember(products) {
  for (const product of products) known.set(product.id, Promise.resolve(product));
}

/** A Map of product id -> product (null for one the shop no longer sells, or could not say). */
export async function productsById(ids) {
  const wanted = [...new Set(ids)];
  const queue = wanted.filter((id) => !known.has(id));
  const answers = new Map();
  for (const id of queue) known.set(id, new Promise((resolve) => answers.set(id, resolve)));
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        answers.get(id)(await api(`/products/${encodeURIComponent(id)}`));
      } catch (error) {
        if (error.status !== 404) known.delete(id); // a passing failure: ask again next time
        answers.get(id)(null);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
  return new Map(await Promise.all(wanted.map(async (id) => [id, await known.get(id)])));
}

// -- small pictures in lines (cart, order) ---------------------------------------------
const LINE_SIZES = "3.5rem"; // .thumb-box in styles.css

/** A line's picture box: filled now when `product` (name, category, photos) is known, else by fillThumbnails(). */
export function thumbnail(productId, product) {
  const box = el("span", { class: "thumb-box", dataset: { thumbFor: productId } });
  if (product) box.append(productPicture(product, { className: "shot", sizes: LINE_SIZES, nameAsAlt: false }));
  return box;
}

/** Fill the boxes thumbnail() left empty with their products' pictures (a GET for each product not seen yet). */
export async function fillThumbnails(container) {
  const empty = [...container.querySelectorAll("[data-thumb-for]:empty")];
  if (!empty.length) return;
  const products = await productsById(empty.map((box) => box.dataset.thumbFor));
  for (const box of empty) {
    if (box.childElementCount) continue;
    const product = products.get(box.dataset.thumbFor) ?? {};
    box.append(productPicture(product, { className: "shot", sizes: LINE_SIZES, nameAsAlt: false }));
  }
}
