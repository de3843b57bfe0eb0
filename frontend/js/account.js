// Sign in, create an account, confirm it with the emailed code, reset a
// forgotten password; the header's account links. With Auth0 these are
// Auth0's own pages (a redirect), its "Forgot password?" included.
//   #/signin?reset=request   forgot password: ask for a code by email
//   #/signin?reset=code&email=...   set a new password with that code
// (views of the sign-in route, so `next` carries through the whole reset).
// Errors are marked on their field in plain words (messages.js).

import { config } from "./api.js";
import * as cart from "./cart.js";
import { clearFieldErrors, fieldWords, showFieldError } from "./messages.js";
import { $, navigate, nextHash, onSubmit, parseHash, say, settle, show } from "./page.js";
import * as session from "./session.js";

// Kept in memory only, to sign the new user in once the email is confirmed.
let pendingPassword = null;

export function showHeader() {
  const signedIn = session.current();
  for (const node of document.querySelectorAll("[data-signed-in]")) node.hidden = !signedIn;
  $("[data-signed-out]").hidden = Boolean(signedIn);
  $("[data-admin-link]").hidden = !session.isAdmin();
  $("[data-who]").textContent = signedIn ? signedIn.email : "";
  const count = cart.count();
  $("[data-cart-count]").textContent = String(count);
  $("[data-cart-link]").setAttribute("aria-label", `Cart, ${count} item${count === 1 ? "" : "s"}`);
}

/** Auth0 stages: its hosted page signs in and up, then sends the user back to `next`. */
async function redirectToProvider(screen) {
  if (!(await session.isRedirectProvider())) return false;
  say("Taking you to sign in…");
  await session.signInWithRedirect(screen, nextHash(parseHash().query));
  return true;
}

/** The sign-in route: the form, or a step of the password reset (`?reset=`). */
export async function showSignIn() {
  const { query } = parseHash();
  const step = query.get("reset");
  if (step === "request") return showForgot(query);
  if (step === "code") return showReset(query);
  show("signin", "Sign in");
  const forgot = $("[data-forgot-link]");
  forgot.href = resetHash(query, "request");
  forgot.hidden = await session.isRedirectProvider(); // Auth0's own login page has "Forgot password?"
  clearFieldErrors(signInForm);
  settle();
  await redirectToProvider();
}

/** The same sign-in route, at a step of the reset; `next` (where sign-in leads) is kept. */
function resetHash(query, step, email) {
  const kept = new URLSearchParams({ reset: step });
  if (email) kept.set("email", email);
  if (query.get("next")) kept.set("next", query.get("next"));
  return `#/signin?${kept}`;
}

async function showLocalHint(hint, mailLog) {
  const site = await config();
  hint.hidden = site.stage !== "local";
  if (mailLog) mailLog.textContent = `${site.auth?.endpoint ?? ""}/moto-api/data.json`;
}

async function showForgot(query) {
  show("forgot", "Reset your password");
  const form = $("[data-forgot-form]");
  clearFieldErrors(form);
  form.elements.email.value = query.get("email") ?? form.elements.email.value;
  $("[data-forgot-back]").href = `#/signin${nextPart(query)}`;
  settle();
  await redirectToProvider(); // Auth0: its login page offers the reset
}

async function showReset(query) {
  show("reset", "Set a new password");
  const form = $("[data-reset-form]");
  clearFieldErrors(form);
  form.elements.email.value = query.get("email") ?? "";
  settle();
  if (await redirectToProvider()) return;
  await showLocalHint($("[data-reset-local-hint]"), $("[data-mail-log]"));
}

const nextPart = (query) => (query.get("next") ? `?next=${encodeURIComponent(query.get("next"))}` : "");

export async function showSignUp() {
  show("signup", "Create an account");
  settle();
  await redirectToProvider("signup");
}

export async function showConfirm(query) {
  show("confirm", "Confirm your email");
  $("[data-confirm-form]").elements.email.value = query.get("email") ?? "";
  clearFieldErrors($("[data-confirm-form]"));
  settle();
  await showLocalHint($("[data-local-hint]"));
}

const confirmHash = (email) => `#/confirm?email=${encodeURIComponent(email)}`;

/** What a form of this page says when it failed: in the status line, and on the field it is about. */
function failedIn(form) {
  return (error) => {
    say(fieldWords(form, error), { alert: true });
    showFieldError(form, error);
  };
}

/** A form of this page: its field errors go when it is sent again. */
function accountForm(form, doing, work, failed = failedIn(form)) {
  onSubmit(
    form,
    doing,
    (sent) => {
      clearFieldErrors(sent);
      return work(sent);
    },
    { failed },
  );
}

const signInForm = $("[data-signin-form]");

accountForm(
  signInForm,
  "Signing in…",
  async (form) => {
    await session.signIn(form.elements.email.value.trim(), form.elements.password.value);
    form.reset();
    navigate(nextHash(parseHash().query));
  },
  (error) => {
    if (error.type !== "UserNotConfirmedException") return failedIn(signInForm)(error);
    pendingPassword = signInForm.elements.password.value;
    navigate(confirmHash(signInForm.elements.email.value.trim()), error.message);
  },
);

accountForm($("[data-signup-form]"), "Creating your account…", async (form) => {
  const email = form.elements.email.value.trim();
  await session.signUp(email, form.elements.password.value);
  pendingPassword = form.elements.password.value;
  form.reset();
  navigate(confirmHash(email), `We sent a confirmation code to ${email}.`);
});

accountForm($("[data-confirm-form]"), "Confirming…", async (form) => {
  const email = form.elements.email.value.trim();
  await session.confirmSignUp(email, form.elements.code.value.trim());
  form.reset();
  if (!pendingPassword) return navigate("#/signin", "Your email is confirmed. Sign in to continue.");
  await session.signIn(email, pendingPassword);
  pendingPassword = null;
  navigate("#/", "Welcome! Your account is ready.");
});

/** "Send a new code" of `form`: Cognito mails one to the email the form holds. */
function resendButton(button, form, send) {
  button.addEventListener("click", async () => {
    clearFieldErrors(form);
    const email = form.elements.email.value.trim();
    if (!email) return failedIn(form)({ type: "InvalidParameterException", detail: "email" });
    button.disabled = true;
    try {
      await send(email);
      say(`We sent a new code to ${email}.`);
    } catch (error) {
      failedIn(form)(error);
    } finally {
      button.disabled = false;
    }
  });
}

resendButton($("[data-resend]"), $("[data-confirm-form]"), (email) => session.resendCode(email));

// -- a forgotten password ----------------------------------------------------------
accountForm($("[data-forgot-form]"), "Sending the code…", async (form) => {
  const email = form.elements.email.value.trim();
  await session.forgotPassword(email);
  navigate(resetHash(parseHash().query, "code", email), `If ${email} has an account here, we sent it a code.`);
});

accountForm($("[data-reset-form]"), "Setting your password…", async (form) => {
  const email = form.elements.email.value.trim();
  await session.resetPassword(email, form.elements.code.value.trim(), form.elements.password.value);
  form.reset();
  navigate(nextHash(parseHash().query), "Your password is changed and you are signed in.");
});

resendButton($("[data-reset-resend]"), $("[data-reset-form]"), (email) => session.forgotPassword(email));

$("[data-signout]").addEventListener("click", () => {
  session.signOut();
  const { path } = parseHash();
  if (!(path === "/" || path === "/cart" || path.startsWith("/product/"))) navigate("#/", "You are signed out.");
  else say("You are signed out.");
});

session.onChange(showHeader);
cart.onChange(showHeader);
