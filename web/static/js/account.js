// The account page: the e-mail address, change the password, turn two-step login on, and keep one's
// script tokens.
// The API decides everything and words its refusals; the page shows them next to the form.
import { api, el, errorText, formatTime, say, setBusy, t as pageText } from "./common.js";

const $ = (id) => document.getElementById(id);
const node = $("page-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return pageText(key, params);
  return String(messages[key]).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

let totpOn = false;

function showTotp(on) {
  totpOn = on;
  say($("totp-state"), t(on ? "totp_on" : "totp_off"));
  $("totp-setup").hidden = on;
  for (const field of document.querySelectorAll("[data-when-totp]")) field.hidden = !on;
}

/** Run a form's call with its button disabled; a refusal is shown in `errorNode` and focus goes back. */
async function submitting(form, errorNode, call) {
  const button = form.querySelector("button[type=submit]");
  say(errorNode, "");
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    await call();
  } catch (failure) {
    say(errorNode, errorText(failure));
    const field = failure && failure.details && failure.details.field;
    const input = field ? form.querySelector(`[data-field="${field}"]`) : null;
    if (input) input.focus();
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

// --- e-mail address --------------------------------------------------------------------------------

const emailForm = $("email-form");
emailForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("account-email");
  say($("email-done"), "");
  input.removeAttribute("aria-invalid");
  await submitting(emailForm, $("email-error"), async () => {
    try {
      const saved = await api("PATCH", "/api/v1/auth/me", { json: { email: input.value.trim() || null } });
      input.value = saved.user.email || "";
      say($("email-done"), t(saved.user.email ? "email_saved" : "email_removed"));
    } catch (failure) {
      if (failure && failure.status === 422) input.setAttribute("aria-invalid", "true");
      throw failure;
    }
  });
});

// --- password ---------------------------------------------------------------------------------------

const passwordForm = $("password-form");
$("new-password").dataset.field = "new_password";
$("current-password").dataset.field = "current_password";

passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const current = $("current-password");
  const fresh = $("new-password");
  const again = $("new-password-again");
  say($("password-done"), "");
  if (!current.value || !fresh.value) {
    say($("password-error"), t("password_missing"));
    (current.value ? fresh : current).focus();
    return;
  }
  if (fresh.value !== again.value) {
    say($("password-error"), t("password_mismatch"));
    again.focus();
    return;
  }
  await submitting(passwordForm, $("password-error"), async () => {
    const body = { current_password: current.value, new_password: fresh.value };
    if (totpOn && $("password-otp").value.trim()) body.otp = $("password-otp").value.trim();
    const done = await api("POST", "/api/v1/auth/password", { json: body });
    passwordForm.reset();
    say($("password-done"), t("password_changed", { count: done.sessions_ended }));
    await loadTokens(); // the password change revoked them
  });
  current.value = "";
});

// --- two-step login ---------------------------------------------------------------------------------

$("totp-start").addEventListener("click", async () => {
  say($("totp-error"), "");
  try {
    const started = await api("POST", "/api/v1/auth/totp", { json: {} });
    $("totp-secret").textContent = started.secret;
    $("totp-form").hidden = false;
    $("totp-code").focus();
  } catch (failure) {
    say($("totp-error"), errorText(failure));
  }
});

$("totp-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("totp-code").value.trim();
  if (!code) {
    say($("totp-error"), t("totp_code_missing"));
    $("totp-code").focus();
    return;
  }
  await submitting($("totp-form"), $("totp-error"), async () => {
    await api("POST", "/api/v1/auth/totp/confirm", { json: { otp: code } });
    $("totp-form").hidden = true;
    showTotp(true);
    say($("totp-state"), t("totp_confirmed"));
    await loadTokens();
  });
});

// --- script tokens ----------------------------------------------------------------------------------

function tokenState(token) {
  if (token.revoked_at) return t("token_revoked", { time: formatTime(token.revoked_at) });
  if (new Date(token.expires_at) <= new Date()) return t("token_expired", { time: formatTime(token.expires_at) });
  return t("token_active", { time: formatTime(token.expires_at) });
}

async function loadTokens() {
  const list = $("tokens");
  setBusy(list, true);
  try {
    const { tokens } = await api("GET", "/api/v1/auth/tokens");
    list.replaceChildren();
    if (tokens.length === 0) list.append(el("li", {}, t("tokens_none")));
    for (const token of tokens) {
      const item = el("li", { "data-token": token.id }, el("strong", {}, token.name), " — ", tokenState(token));
      if (!token.revoked_at) {
        const revoke = el("button", { type: "button", class: "secondary" }, t("token_revoke", { name: token.name }));
        revoke.addEventListener("click", async () => {
          revoke.disabled = true;
          say($("tokens-error"), "");
          try {
            await api("DELETE", `/api/v1/auth/tokens/${encodeURIComponent(token.id)}`);
            await loadTokens();
            say($("tokens-error"), "");
            say($("token-made"), t("token_revoked_now", { name: token.name }));
          } catch (failure) {
            say($("tokens-error"), errorText(failure));
            revoke.disabled = false;
          }
        });
        item.append(" ", revoke);
      }
      list.append(item);
    }
  } catch (failure) {
    say($("tokens-error"), errorText(failure));
  } finally {
    setBusy(list, false);
  }
}

const tokenForm = $("token-form");
tokenForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = $("token-password");
  $("token-made").replaceChildren();
  if (!password.value) {
    say($("token-error"), t("token_password_missing"));
    password.focus();
    return;
  }
  await submitting(tokenForm, $("token-error"), async () => {
    const body = { name: $("token-name").value.trim() || "script", password: password.value };
    const days = Number($("token-days").value);
    if (Number.isInteger(days)) body.days = days;
    if (totpOn && $("token-otp").value.trim()) body.otp = $("token-otp").value.trim();
    const made = await api("POST", "/api/v1/auth/tokens", { json: body });
    tokenForm.reset();
    $("token-made").replaceChildren(
      el("p", { class: "message success" }, t("token_made", { name: made.name })),
      el("p", {}, el("code", { id: "token-value" }, made.token)),
    );
    await loadTokens();
  });
  password.value = "";
});

async function start() {
  try {
    const me = await api("GET", "/api/v1/auth/me");
    showTotp(Boolean(me.user && me.user.totp_enabled));
    $("account-email").value = (me.user && me.user.email) || "";
  } catch (failure) {
    say($("totp-error"), errorText(failure));
  }
  await loadTokens();
  $("account").dataset.ready = "true";
}

start();
