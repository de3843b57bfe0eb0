// The admin product page's photos: add (file picker or drop), watch each one
// upload and then be made ready (or refused, with the reason), reorder, describe
// (alt text) and delete.
//
// An upload is three steps: the shop grants it (POST /products/{id}/photos: a
// photo "processing" and a presigned POST), the browser sends the file straight
// to storage (XMLHttpRequest, for its progress events), and the image function
// makes the renditions or refuses the bytes within seconds, which the page
// learns by asking the photo list again (every second, then less often, for a
// minute at most). The shop checks the bytes; the checks here only spare an
// upload that cannot succeed.

import { api } from "./api.js";
import { el } from "./dom.js";
import { fail } from "./page.js";
import { photoPicture } from "./photos.js";
import { authHeader } from "./session.js";

const TYPES = ["image/jpeg", "image/png", "image/webp"];
const MAX_BYTES = 10 * 1024 * 1024; // the grant's max_bytes, which storage enforces
const MAX_PHOTOS = 8;
const WATCH_MS = 60_000;
const pause = (asked) => (asked < 10 ? 1000 : asked < 20 ? 2000 : 5000);

async function adminCall(path, init = {}) {
  return api(path, { ...init, headers: { ...(await authHeader()), ...init.headers } });
}

const photosPath = (productId) => `/products/${encodeURIComponent(productId)}/photos`;
const listPhotos = (productId) => adminCall(photosPath(productId));
const grantUpload = (productId, file) => adminCall(photosPath(productId), { method: "POST", json: { content_type: file.type, alt: "" } });
const changeAlt = (productId, photoId, alt) =>
  adminCall(`${photosPath(productId)}/${encodeURIComponent(photoId)}`, { method: "PATCH", json: { alt } });
const putOrder = (productId, photoIds) => adminCall(`${photosPath(productId)}/order`, { method: "PUT", json: { photo_ids: photoIds } });
const deletePhoto = (productId, photoId) =>
  adminCall(`${photosPath(productId)}/${encodeURIComponent(photoId)}`, { method: "DELETE" });

/** Send the file to storage as the presigned POST says: its fields first, the file last. */
function sendFile(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", upload.url);
    request.upload.addEventListener("progress", (event) => event.lengthComputable && onProgress(event.loaded / event.total));
    request.addEventListener("load", () => (request.status < 300 ? resolve() : reject(new Error(storageRefusal(request)))));
    request.addEventListener("error", () => reject(new Error("The upload did not go through. Check your connection and try again.")));
    request.send(form);
  });
}

// Storage answers an error in XML: <Error><Code>EntityTooLarge</Code>...
function storageRefusal(request) {
  const code = /<Code>([^<]+)<\/Code>/.exec(request.responseText ?? "")?.[1];
  if (code === "EntityTooLarge") return "This file is larger than 10 MB.";
  if (code === "AccessDenied" && /expired/i.test(request.responseText)) return "The upload took too long to start. Try again.";
  return "The upload was refused. Try again.";
}

/** Why a file cannot be a photo, before anything is asked of the shop; null if it may be. */
function refusal(file) {
  if (!TYPES.includes(file.type)) return "It is not a JPEG, PNG or WebP photo.";
  if (file.size > MAX_BYTES) return "It is larger than 10 MB.";
  if (file.size === 0) return "It is empty.";
  return null;
}

// -- the section --------------------------------------------------------------------
const section = document.querySelector("[data-photos]");
const input = section.querySelector("[data-photo-input]");
const drop = section.querySelector("[data-photo-drop]");
const list = section.querySelector("[data-photo-list]");
const refused = section.querySelector("[data-photo-refused]");
const news = section.querySelector("[data-photo-news]");

let productId = null;
let photos = []; // as the shop last listed them, in order
let uploads = new Map(); // photo id -> { progress } while its file is on its way
let names = new Map(); // photo id -> the file's name, for the photos added on this page
const items = new Map(); // photo id -> its <li>
let watching = { timer: null, asking: false, until: 0, asked: 0 }; // one chain of asks at a time
let gaveUp = false; // a minute went by with photos still processing
let moving = false; // an order change on its way: further moves wait for it

const say = (message) => (news.textContent = message);
// How the page names a photo: its file's name (picked on this page), else its alt text, else its place.
function nameOf(photo) {
  if (!photo) return "The photo";
  const alt = photo.alt?.length > 40 ? `${photo.alt.slice(0, 39)}…` : photo.alt;
  return names.get(photo.id) ?? (alt || `Photo ${photos.indexOf(photo) + 1}`);
}
const onScreen = () => section.offsetParent !== null;
const stillProcessing = () => photos.some((photo) => photo.state === "processing" && !uploads.has(photo.id));

/** The photos of the product on the admin page (`id`), or none (a new product). */
export function showPhotos(id) {
  section.hidden = !id;
  if (id === productId) return refresh();
  stopWatching();
  productId = id;
  photos = [];
  uploads = new Map();
  names = new Map();
  items.clear();
  list.replaceChildren();
  refused.replaceChildren();
  refused.hidden = true;
  say("");
  if (id) refresh();
}

async function refresh() {
  const mine = productId;
  try {
    const found = await listPhotos(mine);
    if (mine === productId) update(found.photos);
  } catch (error) {
    if (mine === productId) fail(error);
  }
}

/** Take the shop's list: say what became ready or failed, redraw, and watch what is still processing. */
function update(latest, { keepWatching = true } = {}) {
  const before = new Map(photos.map((photo) => [photo.id, photo.state]));
  photos = latest;
  for (const photo of photos) {
    if (before.get(photo.id) !== "processing" || photo.state === "processing") continue;
    say(photo.state === "ready" ? `${nameOf(photo)} is ready.` : `${nameOf(photo)} was refused: ${photo.reason}`);
  }
  draw();
  if (keepWatching && stillProcessing()) watch();
}

// -- watching for the image function's answer: bounded, backing off -----------------------
function watch() {
  gaveUp = false;
  watching.until = Date.now() + WATCH_MS; // a minute from the last upload
  if (!watching.timer && !watching.asking) watching.timer = setTimeout(poll, pause(watching.asked));
}

function stopWatching() {
  gaveUp = false;
  clearTimeout(watching.timer);
  watching = { timer: null, asking: false, until: 0, asked: 0 };
}

async function poll() {
  const mine = productId;
  const chain = watching;
  Object.assign(chain, { timer: null, asking: true, asked: chain.asked + 1 });
  const found = await listPhotos(mine).catch(() => null); // a missed answer: the next one will do
  chain.asking = false;
  if (mine !== productId || chain !== watching) return; // another product, or stopped meanwhile
  if (!onScreen()) return stopWatching(); // the admin has left the page; coming back asks again
  if (found) update(found.photos, { keepWatching: false });
  if (!stillProcessing()) return stopWatching();
  if (Date.now() < watching.until) watching.timer = setTimeout(poll, pause(watching.asked));
  else {
    gaveUp = true;
    photos.forEach(drawItem);
    say("Some photos are still processing. Reload the page later to see them.");
  }
}

// -- adding photos ----------------------------------------------------------------------
/** List a file that was not uploaded, with why, and say so. */
function refuse(file, why) {
  const message = `${file.name} was not uploaded. ${why}`;
  refused.hidden = false;
  refused.append(el("li", { class: "problem" }, message));
  return message;
}

async function addFiles(files) {
  const mine = productId;
  refused.replaceChildren();
  refused.hidden = true;
  const room = MAX_PHOTOS - photos.length;
  const accepted = [];
  const messages = [];
  for (const file of files) {
    const why = refusal(file) ?? (accepted.length >= room ? `A product has at most ${MAX_PHOTOS} photos: delete one first.` : null);
    if (why) messages.push(refuse(file, why));
    else accepted.push(file);
  }
  const uploading = accepted.length ? `Uploading ${accepted.length} photo${accepted.length === 1 ? "" : "s"}… ` : "";
  if (messages.length === 1) say(uploading + messages[0]);
  else if (messages.length) say(`${uploading}${messages.length} files were not uploaded: they are listed under the drop zone.`);
  else say(uploading.trim());
  for (const file of accepted) {
    let grant;
    try {
      grant = await grantUpload(mine, file); // one at a time: the photos keep the order they were picked in
    } catch (error) {
      say(refuse(file, error.message));
      if (error.status === 401) return fail(error);
      continue;
    }
    if (mine !== productId) return;
    names.set(grant.photo.id, file.name);
    uploads.set(grant.photo.id, { progress: 0 });
    photos = [...photos, grant.photo];
    draw();
    upload(mine, grant, file);
  }
}

async function upload(mine, grant, file) {
  const id = grant.photo.id;
  try {
    await sendFile(grant.upload, file, (progress) => {
      if (mine !== productId) return;
      uploads.get(id).progress = progress;
      drawItem(photos.find((photo) => photo.id === id));
    });
  } catch (error) {
    // Nothing reached the image function: take the granted photo off the product again.
    uploads.delete(id);
    await deletePhoto(mine, id).catch(() => {});
    if (mine !== productId) return;
    say(refuse(file, error.message));
    photos = photos.filter((photo) => photo.id !== id);
    return draw();
  }
  uploads.delete(id);
  if (mine !== productId) return;
  say(`${file.name} is uploaded. Processing…`);
  draw();
  watch();
}

input.addEventListener("change", () => {
  addFiles([...input.files]);
  input.value = ""; // the same file can be picked again
});

// Drag and drop: the zone says when it will take the files; the file input is
// the way in for a keyboard or a screen reader.
const hint = drop.querySelector("[data-drop-hint]");
const dragging = (on) => {
  drop.classList.toggle("over", on);
  hint.textContent = on ? "Drop the photos to upload them" : "or drop photos here";
};
drop.addEventListener("dragenter", (event) => {
  event.preventDefault();
  dragging(true);
});
drop.addEventListener("dragover", (event) => event.preventDefault());
drop.addEventListener("dragleave", (event) => {
  if (!drop.contains(event.relatedTarget)) dragging(false);
});
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  dragging(false);
  addFiles([...(event.dataTransfer?.files ?? [])]);
});
// A photo dropped next to the zone must not open in place of the shop.
for (const type of ["dragover", "drop"]) {
  window.addEventListener(type, (event) => {
    if (onScreen() && event.dataTransfer?.types?.includes("Files")) event.preventDefault();
  });
}

// -- the list ----------------------------------------------------------------------------
function draw() {
  for (const [id, item] of items) {
    if (!photos.some((photo) => photo.id === id)) {
      item.remove();
      items.delete(id);
    }
  }
  const wanted = photos.map((photo) => items.get(photo.id) ?? makeItem(photo));
  if (wanted.some((item, index) => list.children[index] !== item)) {
    const focused = document.activeElement?.dataset?.focusKey;
    list.append(...wanted); // moving an element takes its focus away: give it back
    if (focused) list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
  }
  photos.forEach(drawItem);
}

function makeItem(photo) {
  const id = photo.id;
  const key = (what) => `${what}:${id}`;
  const alt = el("input", { name: "alt", maxlength: 200, autocomplete: "off", dataset: { focusKey: key("alt") } });
  alt.addEventListener("change", () => saveAlt(id, alt));
  const item = el(
    "li",
    { class: "photo-item", dataset: { testid: "admin-photo", photoId: id } },
    el("span", { class: "thumb-box large", dataset: { preview: "" } }),
    el(
      "div",
      { class: "photo-body" },
      el("p", { class: "photo-title" }, el("strong", { dataset: { name: "" } }), " · ", el("span", { dataset: { state: "" } })),
      el("progress", { max: 100, value: 0, dataset: { progress: "" } }),
      el("label", { class: "alt" }, el("span", {}, "Alt text", el("span", { class: "visually-hidden", dataset: { altLabel: "" } })), alt),
      el("p", { class: "meta", dataset: { altNote: "" } }),
    ),
    el(
      "div",
      { class: "photo-actions" },
      el("button", { type: "button", dataset: { focusKey: key("up") }, onclick: () => move(id, -1) }, "Move up"),
      el("button", { type: "button", dataset: { focusKey: key("down") }, onclick: () => move(id, 1) }, "Move down"),
      el("button", { type: "button", class: "danger", dataset: { focusKey: key("delete") }, onclick: () => remove(id) }, "Delete"),
    ),
  );
  items.set(id, item);
  return item;
}

function stateText(photo) {
  const upload = uploads.get(photo.id);
  if (upload) return `Uploading… ${Math.round(upload.progress * 100)}%`;
  if (photo.state === "processing") return gaveUp ? "Still processing: reload the page later." : "Processing…";
  if (photo.state === "ready") return "Ready";
  return `Failed: ${photo.reason}`;
}

function drawItem(photo) {
  const item = items.get(photo?.id);
  if (!item) return;
  const index = photos.indexOf(photo);
  const name = nameOf(photo);
  const $ = (hook) => item.querySelector(`[data-${hook}]`);
  $("name").textContent = name;
  $("state").textContent = stateText(photo);
  item.classList.toggle("failed", photo.state === "failed");
  const upload = uploads.get(photo.id);
  const progress = $("progress");
  progress.hidden = !upload;
  progress.value = Math.round((upload?.progress ?? 0) * 100);
  progress.setAttribute("aria-label", `Uploading ${name}`);
  const preview = $("preview");
  if (photo.state === "ready" && preview.dataset.preview !== photo.content_id) {
    preview.dataset.preview = photo.content_id;
    preview.replaceChildren(photoPicture(photo, { alt: "", className: "shot", sizes: "6rem" }));
  }
  // A refused photo is never shown: it needs no alt text, only deleting.
  const failed = photo.state === "failed";
  $("alt-label").textContent = ` of ${name}`; // the field's name: "Alt text of <photo>"
  const alt = item.querySelector("input[name=alt]");
  if (alt !== document.activeElement && !alt.dataset.saving) alt.value = photo.alt ?? "";
  item.querySelector("label.alt").hidden = failed;
  const [up, down, del] = item.querySelectorAll(".photo-actions button");
  up.hidden = down.hidden = failed;
  up.disabled = index === 0 || Boolean(upload);
  down.disabled = index === photos.length - 1 || Boolean(upload);
  // Each name starts with the button's visible words (what speech input users say).
  up.setAttribute("aria-label", `Move up: ${name}`);
  down.setAttribute("aria-label", `Move down: ${name}`);
  del.setAttribute("aria-label", `Delete: ${name}`);
  del.disabled = Boolean(upload);
}

// -- alt text, order, delete -----------------------------------------------------------
async function saveAlt(id, input) {
  const mine = productId;
  const note = items.get(id).querySelector("[data-alt-note]");
  const name = nameOf(photos.find((photo) => photo.id === id));
  note.textContent = "Saving…";
  note.classList.remove("problem");
  input.dataset.saving = "true";
  try {
    const saved = await changeAlt(mine, id, input.value.trim());
    if (mine !== productId) return;
    photos = photos.map((photo) => (photo.id === id ? { ...photo, alt: saved.alt } : photo));
    photos.forEach(drawItem);
    note.textContent = "Saved.";
    say(`Alt text of ${name} saved.`);
  } catch (error) {
    if (mine !== productId) return;
    note.textContent = `Not saved: ${error.message}`;
    note.classList.add("problem");
    say(`Alt text of ${name} not saved: ${error.message}`);
    if (error.status === 401) fail(error);
  } finally {
    delete input.dataset.saving;
  }
}

async function move(id, step) {
  const mine = productId;
  const at = photos.findIndex((photo) => photo.id === id);
  const to = at + step;
  if (moving || at < 0 || to < 0 || to >= photos.length) return;
  const name = nameOf(photos[at]);
  const order = photos.map((photo) => photo.id);
  [order[at], order[to]] = [order[to], order[at]];
  moving = true;
  list.setAttribute("aria-busy", "true");
  try {
    const saved = await putOrder(mine, order);
    if (mine !== productId) return;
    update(saved.photos);
    say(`${name} is now photo ${photos.findIndex((photo) => photo.id === id) + 1} of ${photos.length}.`);
    // At the top or the bottom, the button that was pressed is disabled now: use the other one.
    const item = items.get(id);
    const pressed = item.querySelector(`[data-focus-key="${step < 0 ? "up" : "down"}:${CSS.escape(id)}"]`);
    if (pressed.disabled) item.querySelector(`[data-focus-key="${step < 0 ? "down" : "up"}:${CSS.escape(id)}"]`).focus();
  } catch (error) {
    if (mine === productId) fail(error);
    refresh(); // the shop's order, whatever happened
  } finally {
    moving = false;
    list.removeAttribute("aria-busy");
  }
}

async function remove(id) {
  const mine = productId;
  const photo = photos.find((p) => p.id === id);
  const name = nameOf(photo);
  if (!confirm(`Delete ${name}? Shoppers will no longer see it.`)) return;
  const next = photos[photos.indexOf(photo) + 1] ?? photos[photos.indexOf(photo) - 1];
  try {
    await deletePhoto(mine, id);
    if (mine !== productId) return;
    photos = photos.filter((p) => p.id !== id);
    names.delete(id);
    draw();
    say(`${name} deleted.`);
    (next ? items.get(next.id).querySelector("button.danger") : input).focus();
  } catch (error) {
    if (mine === productId) fail(error);
  }
}
