// What went wrong, in a shopper's words, beside the field it is about.
//
// The one mapping from what the shop's services say to what the page says:
// - the API's errors, `{code, message, field}` (chalicelib/platform/errors.py;
//   api.js makes them ApiErrors with `.status`, `.code`, `.body.field`);
// - Cognito's error names (`__type`: InvalidPasswordException, CodeMismatchException,
//   ...; session.js makes them AuthErrors with `.type`, worded here).
// Auth0's errors never reach here: its own hosted pages show them.
//
// Use it in any form whose controls are named after what they hold (the API's
// field "shipping_address.postal_code" is the control named "postal_code"):
//
//   import { clearFieldErrors, fieldWords, showFieldError } from "./messages.js";
//   clearFieldErrors(form);                     // before sending (a field's own error also goes as it is edited)
//   try { ... } catch (error) {
//     say(fieldWords(form, error), { alert: true }); // the status line says it...
//     showFieldError(form, error);                 // ...and so does the field, which takes the focus
//   }
//
// - `explain(error)` → `{ field, message }`: the control's name or null, and plain words;
// - `fieldWords(form, error)`: those words, with the control's own label when the words need one
//   ("Postal code: use at most 20 characters.");
// - `showFieldError(form, error)`: the control gets aria-invalid="true", an element with the
//   words right after it (its id in aria-describedby) and the focus; returns the words, or
//   null when no control of `form` is named by the error (then only the status line says it);
// - `clearFieldErrors(form)`: takes all of that back.

// -- Cognito ----------------------------------------------------------------------
// The password rules are the user pool's (infra/template.yaml, PasswordPolicy); the sign-up form says them too.
const PASSWORD_RULES = "Choose a stronger password: at least 10 characters, with upper and lower case letters and a digit.";
const TOO_MANY = "Too many attempts. Wait a few minutes and try again.";

const COGNITO = {
  NotAuthorizedException: ["password", "Wrong email or password."],
  UserNotFoundException: ["password", "Wrong email or password."],
  UserNotConfirmedException: [null, "Please confirm your email first: enter the code we sent you."],
  UsernameExistsException: ["email", "An account with this email already exists. Sign in instead."],
  InvalidPasswordException: ["password", PASSWORD_RULES],
  CodeMismatchException: ["code", "That code is not right. Check the email we sent and try again."],
  ExpiredCodeException: ["code", "That code has expired. Ask for a new one."],
  LimitExceededException: [null, TOO_MANY],
  TooManyRequestsException: [null, TOO_MANY],
  TooManyFailedAttemptsException: [null, TOO_MANY],
  CodeDeliveryFailureException: [null, "We could not send the code just now. Try again in a few minutes."],
  PasswordResetRequiredException: [null, "Your password must be reset: use “Forgot password?” below."],
  Network: [null, "The sign-in service cannot be reached. Try again."],
  UnsupportedChallenge: [null, "This account needs a sign-in step the shop does not support."],
};

// InvalidParameterException covers many things: Cognito's message tells which.
const COGNITO_PARAMETERS = [
  [/no registered\/verified email/i, [null, "This email is not confirmed yet. Confirm it first with the code we sent when you signed up."]],
  [/already confirmed/i, [null, "This email is already confirmed. Sign in instead."]],
  [/password/i, ["password", PASSWORD_RULES]],
  [/code/i, ["code", "Enter the code from the email we sent you."]],
  [/user ?name|email/i, ["email", "Enter your email address, like name@example.com."]],
];

// -- the API ----------------------------------------------------------------------
// Words for a field when it is missing or empty; longer or malformed values get the generic words below.
const FIELD_WORDS = {
  "shipping_address.name": "Enter the full name of the person we ship to.",
  "shipping_address.line1": "Enter the street address.",
  "shipping_address.city": "Enter the city.",
  "shipping_address.postal_code": "Enter the postal code.",
  "shipping_address.country": "Choose a country from the list.",
  min_price: "Enter a minimum price of $0 or more.",
  max_price: "Enter a maximum price that is not below the minimum.",
};

// The API's stable codes that need other words than its message (out_of_stock: checkout names the lines itself).
const CODE_WORDS = {
  idempotency_key_reused: "Your cart changed while the order was being sent. Check it and place the order again.",
  payload_too_large: "That is too much to send at once.",
  order_not_found: "We could not find that order.",
  product_not_found: "We could not find that product. It may no longer be sold.",
};

/** pydantic's and the shop's messages about a value, as plain words ("" when there is no better way to say it). */
function valueWords(message) {
  const text = message.replace(/^[\w.]+: /, "");
  let found;
  if (/at least 1 character|field required|missing|must not be blank/i.test(text)) return "fill this in";
  if ((found = /at most (\d+) characters?/i.exec(text))) return `use at most ${found[1]} characters`;
  if ((found = /greater than or equal to (\d+)/i.exec(text))) return `use ${found[1]} or more`;
  if ((found = /less than or equal to (\d+)/i.exec(text))) return `use ${found[1]} or less`;
  if (/valid (number|integer)/i.test(text)) return "enter a number";
  if (/control characters|line separators|bidi/i.test(text)) return "remove the special characters";
  if (/pattern/i.test(text)) return "check what you typed";
  return "";
}

const named = (field) => sentence(field.replace(/_/g, " ")).replace(/\.$/, "");

function sentence(text) {
  const trimmed = String(text ?? "").trim();
  if (!trimmed) return "That did not work. Try again.";
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1) + (/[.!?]$/.test(trimmed) ? "" : ".");
}

function explainCognito(error) {
  if (error.type === "InvalidParameterException") {
    const known = COGNITO_PARAMETERS.find(([pattern]) => pattern.test(error.detail ?? error.message ?? ""));
    if (known) return { field: known[1][0], message: known[1][1] };
  }
  const known = COGNITO[error.type];
  return known ? { field: known[0], message: known[1] } : { field: null, message: sentence(error.detail ?? error.message) };
}

function explainApi(error) {
  const apiField = error.body?.field ?? null;
  const field = apiField ? apiField.split(".").pop() : null;
  if (CODE_WORDS[error.code]) return { field, message: CODE_WORDS[error.code] };
  if (error.status !== 400 || !apiField) return { field, message: error.message };
  const words = valueWords(String(error.body?.message ?? ""));
  if (words === "fill this in" && FIELD_WORDS[apiField]) return { field, message: FIELD_WORDS[apiField] };
  if (words) return { field, message: `${named(field)}: ${words}.`, words };
  return { field, message: FIELD_WORDS[apiField] ?? error.message };
}

/** `{ field, message }` (and `words`, to follow a label) for an error of the API (ApiError), of Cognito (AuthError), or any Error. */
export function explain(error) {
  if (error?.type !== undefined) return explainCognito(error);
  if (error?.status !== undefined) return explainApi(error);
  return { field: null, message: sentence(error?.message) };
}

/** The plain words for Cognito's error `type` (its `__type`), given Cognito's own text `detail`. */
export function cognitoWords(type, detail) {
  return explainCognito({ type, detail }).message;
}

// -- marking the field ------------------------------------------------------------------
let made = 0;

function labelOf(control) {
  const label = control.labels?.[0];
  if (!label) return control.name;
  const own = [...label.childNodes].filter((node) => node.nodeType === Node.TEXT_NODE).map((node) => node.textContent);
  return own.join(" ").replace(/\s+/g, " ").trim() || control.name;
}

function clearControl(control) {
  const note = control.dataset.errorId && document.getElementById(control.dataset.errorId);
  note?.remove();
  const before = control.dataset.describedBefore;
  if (before) control.setAttribute("aria-describedby", before);
  else control.removeAttribute("aria-describedby");
  control.removeAttribute("aria-invalid");
  delete control.dataset.errorId;
  delete control.dataset.describedBefore;
}

/** Take back what showFieldError marked in `form`. */
export function clearFieldErrors(form) {
  for (const control of form.querySelectorAll("[data-error-id]")) clearControl(control);
}

function controlOf(form, field) {
  const control = field ? form.elements.namedItem(field) : null;
  return control instanceof HTMLElement && control.type !== "hidden" && !control.hidden ? control : null;
}

/** The plain words for `error` in `form`: named by the control's own label where the words need a name. */
export function fieldWords(form, error) {
  const { field, message, words } = explain(error);
  const control = controlOf(form, field);
  return control && words ? `${labelOf(control)}: ${words}.` : message;
}

/**
 * Mark the control of `form` that `error` is about: aria-invalid, the plain
 * words in an element beside it (aria-describedby), and the focus. Returns the
 * words, or null when no control of `form` is named by the error.
 */
export function showFieldError(form, error) {
  clearFieldErrors(form);
  const control = controlOf(form, explain(error).field);
  if (!control) return null;
  const words = fieldWords(form, error);
  const note = document.createElement("p");
  note.className = "field-error";
  note.id = `field-error-${++made}`;
  note.textContent = words;
  (control.closest("label") ?? control).after(note);
  const before = control.getAttribute("aria-describedby");
  if (before) control.dataset.describedBefore = before;
  control.dataset.errorId = note.id;
  control.setAttribute("aria-describedby", before ? `${note.id} ${before}` : note.id);
  control.setAttribute("aria-invalid", "true");
  control.addEventListener("input", () => clearControl(control), { once: true });
  control.focus({ preventScroll: true });
  control.scrollIntoView({ block: "center" }); // the field and its words, whatever the status line scrolled to
  return words;
}
