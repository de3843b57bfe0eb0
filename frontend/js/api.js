// The API client: the endpoints come from /config.json, errors become messages.

let configPromise;

export function config() {
  configPromise ??= fetch("config.json", { cache: "no-store" }).then((r) => {
    if (!r.ok) throw new Error("The shop is not configured (config.json is missing).");
    return r.json();
  });
  return configPromise;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(humanMessage(status, body));
    this.status = status;
    this.body = body;
  }
}

function humanMessage(status, body) {
  if (status === 401) return "Please sign in again.";
  if (status === 403) return "You are not allowed to do that.";
  if (status === 404) return "We could not find that.";
  if (body && typeof body.message === "string") return body.message;
  return status >= 500 ? "Something went wrong on our side. Please try again." : "That did not work.";
}

export async function api(path, { params, ...init } = {}) {
  const { api_url } = await config();
  const url = new URL(api_url + path);
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, { message: "The shop cannot be reached. Check your connection and try again." });
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
