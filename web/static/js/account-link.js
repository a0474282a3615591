// The page of a one-time account link (/activate, /reset): the person chooses a password, then logs in.
// The token stays in this page's address only; it is sent once, in the body, to the API.
import { api, errorText, say, t as pageText } from "./common.js";

const $ = (id) => document.getElementById(id);
const node = $("page-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return pageText(key, params);
  return String(messages[key]).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const form = $("link-form");
const password = $("link-password");
const again = $("link-password-again");
const error = $("link-error");
const submit = form.querySelector("button[type=submit]");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(error, "");
  password.removeAttribute("aria-invalid");
  if (!password.value || !again.value) {
    say(error, t("password_missing"));
    (password.value ? again : password).focus();
    return;
  }
  if (password.value !== again.value) {
    say(error, t("password_mismatch"));
    again.value = "";
    again.focus();
    return;
  }
  const token = new URLSearchParams(window.location.search).get("token") || "";
  submit.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    // `login: true`: no session's CSRF token is needed (the link acts, not a session), and a refusal
    // stays on this page.
    const done = await api("POST", "/api/v1/auth/account-link", {
      json: { token, password: password.value },
      login: true,
    });
    form.hidden = true;
    $("link-done").hidden = false;
    say($("link-done-text"), t("done", { username: done.username }));
    $("link-login").focus();
  } catch (failure) {
    say(error, errorText(failure));
    if (failure && failure.status === 422) password.setAttribute("aria-invalid", "true");
    password.focus();
  } finally {
    submit.disabled = false;
    form.removeAttribute("aria-busy");
  }
});
