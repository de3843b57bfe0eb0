// What every page shares: showing a view, the status line, moving between
// pages, and dropping answers meant for a page the user has already left.

import { hashParts } from "./first-search.js";
import * as session from "./session.js";

export const $ = (selector) => document.querySelector(selector);

const status = $("[data-status]");
const views = Object.fromEntries([...document.querySelectorAll("[data-view]")].map((v) => [v.dataset.view, v]));

export function show(name, title) {
  for (const [key, view] of Object.entries(views)) view.hidden = key !== name;
  document.title = title ? `${title} · Pet Store` : "Serverless Pet Store";
}

export const showing = (name) => !views[name].hidden;

/**
 * The status line. An error is scrolled into sight; other news (`toast`: "Added
 * ... to your cart" while the shopper is scrolled down the results) is shown at
 * the foot of the window when the line is out of sight, until the next message.
 */
export function say(message, { alert = false, toast = false } = {}) {
  status.textContent = message;
  status.classList.toggle("alert", alert);
  const box = status.getBoundingClientRect();
  const outOfSight = box.bottom < (document.querySelector(".bar")?.getBoundingClientRect().bottom ?? 0) || box.top > innerHeight;
  status.classList.toggle("toast", Boolean(message) && toast && !alert && (outOfSight || status.classList.contains("toast")));
  if (alert) status.scrollIntoView({ block: "center" }); // an error is never out of sight
}

export const parseHash = () => hashParts();

// Each route() is a new page; an answer that arrives for an older one is dropped,
// and what the last page said ("Added ... to your cart") is not said on this one.
let page = 0;
export function newPage() {
  status.textContent = "";
  status.classList.remove("alert", "toast");
  return ++page;
}
export const currentPage = () => page;

// A message for the page the user is sent to next ("Saved", "Welcome!").
let note = "";
let routeNow = () => {};
export const onNavigate = (route) => (routeNow = route);

export function navigate(hash, message = "", { replace = false } = {}) {
  note = message;
  if (location.hash === hash) routeNow();
  else if (replace) location.replace(hash);
  else location.hash = hash;
}

/** The page is ready: show the note it was opened with, if any. */
export function settle() {
  say(note);
  note = "";
}

/** Show an error; a 401 means the session is over: sign in again, then come back. */
export function fail(error) {
  if (error.status === 401) {
    session.forget();
    navigate(signInHash(), error.message, { replace: true });
  } else {
    say(error.message, { alert: true });
  }
}

export function signInHash() {
  const here = parseHash();
  const back = here.path === "/signin" ? here.query.get("next") : location.hash.replace(/^#\/?/, "");
  return back ? `#/signin?next=${encodeURIComponent(back)}` : "#/signin";
}

/** Where `#/signin?next=...` leads: inside the shop only. */
export function nextHash(query) {
  const next = query.get("next");
  return next && /^[a-z0-9/?=&%._-]*$/i.test(next) ? `#/${next}` : "#/";
}

/**
 * Run `load` for the current page; ignore its answer if the user went elsewhere
 * meanwhile. `failed(error)` clears what the page showed before (so an error is
 * never shown over results of another search), then the error is said on the
 * status line, unless `failed` returns true: it has shown the error itself.
 */
export async function loading(load, render, { failed = () => {} } = {}) {
  const mine = page;
  say("Loading…");
  try {
    const data = await load();
    if (mine !== page) return;
    settle();
    render(data); // may say something of its own ("No products match")
  } catch (error) {
    if (mine !== page) return;
    if (failed(error) === true) return settle();
    fail(error);
  }
}

/** For "Show more" buttons: one request at a time, and none for a page left meanwhile. */
export async function more(button, load, render) {
  const mine = page;
  button.disabled = true;
  try {
    const data = await load();
    if (mine === page) render(data);
  } catch (error) {
    if (mine === page) fail(error);
  } finally {
    button.disabled = false;
  }
}

export function needSignIn() {
  if (session.current()) return false;
  navigate(signInHash(), "Please sign in first.", { replace: true });
  return true;
}

/** Disable a form's controls while `work` runs, so a double click cannot send twice. */
async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, select, textarea")].filter((c) => !c.disabled);
  for (const control of controls) control.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    for (const control of controls) control.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

/**
 * A form that sends something: say what is happening, keep the form disabled
 * while `work(form)` runs (a double click sends once), then show what went
 * wrong, with `failed(error)` for errors the form explains itself.
 */
export function onSubmit(form, doing, work, { failed = fail } = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(doing);
    let error = null;
    await busy(form, async () => {
      try {
        await work(form);
      } catch (caught) {
        error = caught;
      }
    });
    if (error) failed(error); // after busy(), so a field it points to can take the focus
  });
}
