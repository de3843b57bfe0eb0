// Sign in, create an account, confirm it with the emailed code; the header's
// account links. With Auth0 the first two are Auth0's own pages (a redirect).

import { config } from "./api.js";
import * as cart from "./cart.js";
import { $, fail, navigate, nextHash, onSubmit, parseHash, say, settle, show } from "./page.js";
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

export async function showSignIn() {
  show("signin", "Sign in");
  settle();
  await redirectToProvider();
}

export async function showSignUp() {
  show("signup", "Create an account");
  settle();
  await redirectToProvider("signup");
}

export async function showConfirm(query) {
  show("confirm", "Confirm your email");
  $("[data-confirm-form]").elements.email.value = query.get("email") ?? "";
  settle();
  $("[data-local-hint]").hidden = (await config()).stage !== "local";
}

const confirmHash = (email) => `#/confirm?email=${encodeURIComponent(email)}`;

const signInForm = $("[data-signin-form]");

onSubmit(
  signInForm,
  "Signing in…",
  async (form) => {
    await session.signIn(form.elements.email.value.trim(), form.elements.password.value);
    form.reset();
    navigate(nextHash(parseHash().query));
  },
  {
    failed: (error) => {
      if (error.type !== "UserNotConfirmedException") return fail(error);
      pendingPassword = signInForm.elements.password.value;
      navigate(confirmHash(signInForm.elements.email.value.trim()), error.message);
    },
  },
);

onSubmit($("[data-signup-form]"), "Creating your account…", async (form) => {
  const email = form.elements.email.value.trim();
  await session.signUp(email, form.elements.password.value);
  pendingPassword = form.elements.password.value;
  form.reset();
  navigate(confirmHash(email), `We sent a confirmation code to ${email}.`);
});

onSubmit($("[data-confirm-form]"), "Confirming…", async (form) => {
  const email = form.elements.email.value.trim();
  await session.confirmSignUp(email, form.elements.code.value.trim());
  form.reset();
  if (!pendingPassword) return navigate("#/signin", "Your email is confirmed. Sign in to continue.");
  await session.signIn(email, pendingPassword);
  pendingPassword = null;
  navigate("#/", "Welcome! Your account is ready.");
});

$("[data-resend]").addEventListener("click", async () => {
  const email = $("[data-confirm-form]").elements.email.value.trim();
  if (!email) return say("Enter your email first.", { alert: true });
  try {
    await session.resendCode(email);
    say(`We sent a new code to ${email}.`);
  } catch (error) {
    fail(error);
  }
});

$("[data-signout]").addEventListener("click", () => {
  session.signOut();
  const { path } = parseHash();
  if (!(path === "/" || path === "/cart" || path.startsWith("/product/"))) navigate("#/", "You are signed out.");
  else say("You are signed out.");
});

session.onChange(showHeader);
cart.onChange(showHeader);
