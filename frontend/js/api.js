// The API client: the endpoints come from the page's config (inlined in
// index.html where it is served, else /config.json), errors become messages.

let configPromise;

function inlined() {
  try {
    return JSON.parse(document.getElementById("shop-config")?.textContent ?? "null");
  } catch {
    return null;
  }
}

export function config() {
  const found = inlined();
  configPromise ??= found
    ? Promise.resolve(found)
    : fetch("config.json", { cache: "no-store" }).then((r) => {
        if (!r.ok) throw new Error("The shop is not configured (config.json is missing).");
        return r.json();
      });
  return configPromise;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(humanMessage(status, body));
    this.status = status;
    this.body = body ?? {};
    this.code = this.body.code;
  }
}

function humanMessage(status, body) {
  if (status === 401) return "Your session has ended. Please sign in again.";
  if (status === 403) return "You are not allowed to do that.";
  if (status === 404) return "We could not find that.";
  if (status === 429) return "The shop is busy. Please try again in a moment.";
  if (status >= 500) return "Something went wrong on our side. Please try again.";
  if (body && typeof body.message === "string") return sentence(body.message);
  return "That did not work.";
}

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");

async function apiUrl(path, params) {
  const { api_url } = await config();
  const url = new URL(api_url + path);
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url.href;
}

// Answers asked before the page's modules had loaded (first-search.js), each
// taken once by the api() call that asks the same URL.
const early = new Map(); // url -> Promise of a Response, or null when it failed

/** Ask a plain GET now; the api() call for the same URL gets its answer. Returns the Response (null: failed), to read once. */
export async function prefetch(path, params) {
  const url = await apiUrl(path, params);
  const answer = fetch(url).catch(() => null);
  early.set(url, answer.then((response) => response?.clone() ?? null)); // its own copy: the caller may read `answer`
  setTimeout(() => early.delete(url), EARLY_FOR_MS); // an answer kept longer would be out of date
  return answer;
}
const EARLY_FOR_MS = 15000;

/** Call the API. `json` is sent as the JSON body; `params` become the query string. */
export async function api(path, { params, json, headers, ...init } = {}) {
  const url = await apiUrl(path, params);
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    headers = { ...headers, "Content-Type": "application/json" };
  }
  const asked = !json && !headers && !init.method ? early.get(url) : undefined;
  early.delete(url);
  let response = asked ? await asked : null;
  try {
    response ??= await fetch(url, { ...init, headers });
  } catch {
    throw new ApiError(0, { message: "The shop cannot be reached. Check your connection and try again." });
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
