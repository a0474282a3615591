// The login form: posts to the API, shows its error in the page's language, then goes on.
import { api, errorText, say, t } from "./common.js";

const form = document.getElementById("login-form");
const username = document.getElementById("username");
const password = document.getElementById("password");
const otp = document.getElementById("otp");
const error = document.getElementById("login-error");
const submit = form.querySelector("button[type=submit]");

/** Only a path on this site; the server checked it already, the page checks again. */
function nextPath(value) {
  return /^\/(?![/\\])[^\\\s]*$/.test(value || "") ? value : "/";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(error, "");
  const body = { username: username.value.trim(), password: password.value };
  if (!body.username || !body.password) {
    say(error, t("login_missing"));
    (body.username ? password : username).focus();
    return;
  }
  if (otp.value.trim()) body.otp = otp.value.trim();
  submit.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    await api("POST", "/api/v1/auth/login", { json: body, login: true });
    window.location.assign(nextPath(form.dataset.next));
  } catch (failure) {
    say(error, errorText(failure));
    password.value = "";
    password.focus();
  } finally {
    submit.disabled = false;
    form.removeAttribute("aria-busy");
  }
});
