// The user's session, with the identity provider that config.json names:
// - "cognito": Cognito's JSON API called directly from the browser (the same
//   calls against the local stack's endpoint and real Cognito). Tokens live in
//   sessionStorage (this tab only, never a cookie) and are refreshed a minute
//   before they expire.
// - "auth0": Auth0's SPA SDK (authorization code + PKCE), loaded only for
//   Auth0 stages; its token cache is this tab's sessionStorage too.
// Forgotten passwords: Cognito's ForgotPassword and ConfirmForgotPassword;
// with Auth0 its hosted login page has its own "Forgot password?".
// Either way the shop asks the API (GET /me) who the user is and which roles
// they hold: the page shows admin links from that, the API enforces them.

import { ApiError, api, config } from "./api.js";
import { cognitoWords } from "./messages.js";

const KEY = "petstore.session";
const AUTH0_CACHE = "petstore.auth0.";
const listeners = new EventTarget();
let refreshTimer;
let auth0Client;

const now = () => Math.floor(Date.now() / 1000);

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

async function provider() {
  const { auth } = await config();
  return auth.provider ?? "cognito";
}

// -- Cognito -------------------------------------------------------------------
// Cognito's errors carry its name (`type`) and are worded by messages.js, the
// page's one mapping of errors to plain words; `detail` keeps Cognito's own text.
export class AuthError extends Error {
  constructor(type, detail = "") {
    super(cognitoWords(type, detail));
    this.type = type;
    this.detail = detail;
  }
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
  if (!response) throw new AuthError("Network");
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new AuthError(String(data.__type ?? "").split("#").pop(), data.message ?? "");
  return data;
}

function tokens(result, previous = {}) {
  return {
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken ?? previous.refreshToken,
    expiresAt: now() + Number(result.ExpiresIn ?? 3600),
  };
}

async function whoAmI(accessToken) {
  const me = await api("/me", { headers: { Authorization: `Bearer ${accessToken}` } });
  const { admin_role: adminRole = "admin" } = await config();
  return { email: me.email ?? "", roles: me.roles ?? [], admin: (me.roles ?? []).includes(adminRole) };
}

export async function signIn(email, password) {
  const data = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (!data.AuthenticationResult) throw new AuthError("UnsupportedChallenge", data.ChallengeName ?? "");
  const fresh = tokens(data.AuthenticationResult);
  save({ ...fresh, email, roles: [], ...(await whoAmI(fresh.accessToken)) });
}

export async function signUp(email, password) {
  await cognito("SignUp", {
    Username: email,
    Password: password,
    UserAttributes: [{ Name: "email", Value: email }],
  });
}

export async function confirmSignUp(email, code) {
  await cognito("ConfirmSignUp", { Username: email, ConfirmationCode: code });
}

export async function resendCode(email) {
  await cognito("ResendConfirmationCode", { Username: email });
}

/** Forgot password, step 1: Cognito mails a code to the account's email (and answers alike for an unknown one). */
export async function forgotPassword(email) {
  await cognito("ForgotPassword", { Username: email });
}

/** Step 2: the mailed code sets the new password; then the user is signed in with it. */
export async function resetPassword(email, code, password) {
  await cognito("ConfirmForgotPassword", { Username: email, ConfirmationCode: code, Password: password });
  await signIn(email, password);
}

async function refresh() {
  const session = load();
  if (!session?.refreshToken) return save(null);
  try {
    const data = await cognito("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      AuthParameters: { REFRESH_TOKEN: session.refreshToken },
    });
    save({ ...session, ...tokens(data.AuthenticationResult, session) });
  } catch (error) {
    if (error.type === "Network") scheduleRetry();
    else save(null); // the refresh token is no longer valid: sign in again
  }
}

function scheduleRefresh(session) {
  clearTimeout(refreshTimer);
  if (session?.refreshToken) {
    refreshTimer = setTimeout(refresh, Math.max((session.expiresAt - now() - 60) * 1000, 0));
  }
}

function scheduleRetry() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 15_000);
}

// -- Auth0 -----------------------------------------------------------------------
// The SDK's cache interface, kept in this tab's sessionStorage: a reload keeps
// the session, closing the tab ends it, and no other site can read it.
const auth0Cache = {
  get: (key) => JSON.parse(sessionStorage.getItem(AUTH0_CACHE + key) ?? "null") ?? undefined,
  set: (key, value) => sessionStorage.setItem(AUTH0_CACHE + key, JSON.stringify(value)),
  remove: (key) => sessionStorage.removeItem(AUTH0_CACHE + key),
  allKeys: () =>
    Object.keys(sessionStorage)
      .filter((key) => key.startsWith(AUTH0_CACHE))
      .map((key) => key.slice(AUTH0_CACHE.length)),
};

function returnUrl() {
  return location.origin + location.pathname;
}

async function auth0() {
  if (auth0Client) return auth0Client;
  const { auth } = await config();
  const { createAuth0Client } = await import("../vendor/auth0-spa-js.production.esm.js");
  auth0Client = await createAuth0Client({
    domain: auth.domain,
    clientId: auth.client_id,
    cache: auth0Cache,
    useRefreshTokens: true,
    authorizationParams: { audience: auth.audience, redirect_uri: returnUrl(), scope: "openid profile email offline_access" },
  });
  return auth0Client;
}

// Back from Auth0's login page with ?code=...&state=...: finish the login.
async function finishAuth0Login() {
  const client = await auth0();
  const query = new URLSearchParams(location.search);
  if (query.has("state") && (query.has("code") || query.has("error"))) {
    let hash = "#/";
    try {
      const result = await client.handleRedirectCallback();
      hash = result.appState?.hash ?? hash;
    } finally {
      history.replaceState(null, "", returnUrl() + hash); // the code is single-use: drop it from the URL
    }
  }
  if (await client.isAuthenticated()) {
    const token = await client.getTokenSilently();
    const claims = await client.getIdTokenClaims();
    const me = await whoAmI(token);
    save({ ...me, email: me.email || claims?.email || "", expiresAt: now() + 3600, auth0: true });
  } else if (load()) {
    save(null);
  }
}

// -- what the shop uses --------------------------------------------------------------
export async function isRedirectProvider() {
  return (await provider()) === "auth0";
}

/** Auth0: go to its login (or sign-up) page; come back to `backHash`. */
export async function signInWithRedirect(screen, backHash = "#/") {
  const client = await auth0();
  await client.loginWithRedirect({
    appState: { hash: backHash },
    authorizationParams: screen ? { screen_hint: screen } : {},
  });
}

/** Forget the session in this tab only (the API said it is over). */
export function forget() {
  for (const key of auth0Cache.allKeys()) auth0Cache.remove(key);
  save(null);
}

export async function signOut() {
  const session = load();
  save(null);
  if (session?.auth0) await (await auth0()).logout({ logoutParams: { returnTo: returnUrl() } });
  else if (session?.refreshToken) {
    // Best effort: the refresh token stops working at once, not in 30 days.
    // (moto does not implement RevokeToken; real Cognito does.)
    cognito("RevokeToken", { Token: session.refreshToken }).catch(() => {});
  }
}

/** The signed-in user, or null. An expired access token with a refresh token still counts: it is renewed on use. */
export function current() {
  const session = load();
  return session && (session.auth0 || session.refreshToken || session.expiresAt > now()) ? session : null;
}

export function isAdmin() {
  return Boolean(current()?.admin);
}

export async function authHeader() {
  let session = current();
  if (!session) return {};
  if (session.auth0) {
    try {
      return { Authorization: `Bearer ${await (await auth0()).getTokenSilently()}` };
    } catch {
      throw new ApiError(401, {}); // Auth0 will not renew it: sign in again
    }
  }
  if (session.expiresAt - 10 <= now()) {
    await refresh(); // e.g. after the laptop slept through the scheduled refresh
    session = current();
    if (!session) throw new ApiError(401, {});
    if (session.expiresAt <= now()) throw new ApiError(0, { message: "The sign-in service cannot be reached. Try again." });
  }
  return { Authorization: `Bearer ${session.accessToken}` };
}

export function onChange(listener) {
  listeners.addEventListener("change", listener);
}

export async function resume() {
  if ((await provider()) === "auth0") return finishAuth0Login();
  const session = load();
  if (session && !session.refreshToken && session.expiresAt <= now()) save(null);
  else scheduleRefresh(session);
}
