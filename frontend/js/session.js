// The user's session: Cognito's JSON API called directly from the browser
// (the same calls against the local stack's endpoint and real Cognito).
// Tokens live in sessionStorage (this tab only, never a cookie) and are
// refreshed a minute before they expire; signing out forgets them.

import { config } from "./api.js";

const KEY = "petstore.session";
const listeners = new EventTarget();
let refreshTimer;

function now() {
  return Math.floor(Date.now() / 1000);
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) ?? null;
  } catch {
    return null;
  }
}

function save(session) {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
  scheduleRefresh(session);
  listeners.dispatchEvent(new Event("change"));
}

async function cognito(action, body) {
  const { auth } = await config();
  const endpoint = auth.endpoint || `https://cognito-idp.${auth.region}.amazonaws.com/`;
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify({ ClientId: auth.client_id, ...body }),
  }).catch(() => null);
  if (!response) throw new Error("The sign-in service cannot be reached. Try again.");
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(data.__type ?? "").split("#").pop();
    const messages = {
      NotAuthorizedException: "Wrong email or password.",
      UserNotFoundException: "Wrong email or password.",
      UserNotConfirmedException: "Please confirm your email first.",
    };
    throw new Error(messages[type] ?? data.message ?? "Signing in did not work.");
  }
  return data;
}

function fromResult(result, previous = {}) {
  return {
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken ?? previous.refreshToken,
    expiresAt: now() + Number(result.ExpiresIn ?? 3600),
    email: previous.email,
  };
}

export async function signIn(email, password) {
  const data = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (!data.AuthenticationResult) throw new Error("This account needs a step the shop does not support yet.");
  save({ ...fromResult(data.AuthenticationResult), email });
}

async function refresh() {
  const session = load();
  if (!session?.refreshToken) return save(null);
  try {
    const data = await cognito("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      AuthParameters: { REFRESH_TOKEN: session.refreshToken },
    });
    save(fromResult(data.AuthenticationResult, session));
  } catch {
    save(null); // the refresh token is no longer valid: sign in again
  }
}

function scheduleRefresh(session) {
  clearTimeout(refreshTimer);
  if (session) refreshTimer = setTimeout(refresh, Math.max((session.expiresAt - now() - 60) * 1000, 0));
}

export function signOut() {
  save(null);
}

export function current() {
  const session = load();
  return session && session.expiresAt > now() ? session : null;
}

export function authHeader() {
  const session = current();
  return session ? { Authorization: `Bearer ${session.accessToken}` } : {};
}

export function onChange(listener) {
  listeners.addEventListener("change", listener);
}

export function resume() {
  const session = load();
  if (session) scheduleRefresh(session);
}
