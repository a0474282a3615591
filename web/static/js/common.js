// What every page script shares: the page's texts, the API client, dates with the zone named, logout.
// Data from the API only ever reaches the page as text nodes (never as HTML).

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

const messages = readJson("cm-messages");
export const labels = readJson("cm-labels");
export const lang = document.documentElement.lang === "en" ? "en" : "vi";
const locale = lang === "en" ? "en-GB" : "vi-VN";
// ICU names Vietnam's zone by its old alias; show the name the rest of the system uses.
const ZONE_NAMES = { "Asia/Saigon": "Asia/Ho_Chi_Minh" };
const resolvedZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
export const viewerZone = ZONE_NAMES[resolvedZone] || resolvedZone;

/** A message of the page's catalogue, with {name} placeholders filled. */
export function t(key, params = {}) {
  const text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The display name of an enumeration value (org kind, standing, ...), or the value itself. */
export function label(table, value) {
  const names = labels[table] || {};
  return Object.prototype.hasOwnProperty.call(names, value) ? names[value] : String(value);
}

/** A new element with attributes and children; strings become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function say(target, text) {
  if (target) target.textContent = text || "";
}

export function setBusy(node, busy) {
  if (node) node.setAttribute("aria-busy", busy ? "true" : "false");
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || t(status === 0 ? "network_error" : "unexpected_error"));
    this.status = status;
    this.code = error.code || null;
    this.rule = error.rule || null;
    this.details = error.details || {};
  }
}

/** The text to show for a failed call: the API's message, in the page's language. */
export function errorText(error) {
  if (!(error instanceof ApiError)) return t("unexpected_error");
  if (error.rule && !error.message.includes(error.rule)) return `${error.message} (${error.rule})`;
  return error.message;
}

function labelOf(input) {
  const label = input && input.labels && input.labels[0];
  return label ? label.textContent.trim() : null;
}

/**
 * Show a refusal in `target`; when it is about fields (422 details.fields), each field is named as the
 * page names it (its label, or `names[field]`), marked invalid, and the first one gets the focus. Inputs
 * say which API field they hold with `data-field` ("items.1.title").
 */
export function showFieldErrors(form, error, target, names = {}) {
  for (const marked of form.querySelectorAll("[aria-invalid=true]")) marked.removeAttribute("aria-invalid");
  const fields = error instanceof ApiError && error.details && error.details.fields;
  if (!fields || typeof fields !== "object" || Object.keys(fields).length === 0) {
    say(target, errorText(error));
    return false;
  }
  const parts = [];
  let first = null;
  for (const [name, about] of Object.entries(fields)) {
    const input = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    const named = names[name] || labelOf(input) || name;
    const why = about && typeof about === "object" && about.reason ? about.reason[lang] : null;
    parts.push(why ? `${named}: ${why}` : named);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      if (!first) first = input;
    }
  }
  say(target, t("fields_invalid", { fields: parts.join("; ") }));
  if (first) first.focus();
  return true;
}

export function goToLogin() {
  const here = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(here)}`);
}

let csrf = null;

function csrfToken() {
  // The session's token, as GET /api/v1/auth/me gives it; asked once per page.
  if (csrf === null) csrf = api("GET", "/api/v1/auth/me").then((me) => me.csrf_token);
  return csrf;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Call the REST API. `json` is sent as JSON; `body` with `contentType` as is (a file).
 * Resolves to the decoded JSON; rejects with an ApiError carrying the server's message.
 */
export async function api(method, path, { json, body, contentType, login = false } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": lang };
  let payload;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  } else if (body !== undefined) {
    headers["Content-Type"] = contentType;
    payload = body;
  }
  if (UNSAFE.has(method) && !login) headers["X-CSRF-Token"] = await csrfToken();
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new ApiError(0, null);
  }
  const isJson = (response.headers.get("Content-Type") || "").startsWith("application/json");
  const data = isJson ? await response.json().catch(() => null) : null;
  if (response.ok) return data;
  if (response.status === 401 && !login) goToLogin();
  throw new ApiError(response.status, data);
}

const timeFormat = new Intl.DateTimeFormat(locale, {
  timeZone: viewerZone,
  day: "2-digit",
  month: "2-digit",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const dayFormat = new Intl.DateTimeFormat(locale, {
  timeZone: "UTC",
  day: "2-digit",
  month: "2-digit",
  year: "numeric",
});

/** An instant in the viewer's time zone, the zone named. */
export function formatTime(iso) {
  if (!iso) return "";
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return String(iso);
  return t("time_in_zone", { time: timeFormat.format(instant), zone: viewerZone });
}

/** A calendar day ("2026-11-23") as the page's language writes it; no time zone shifts it. */
export function formatDay(isoDate) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate || "");
  if (!match) return isoDate ? String(isoDate) : "";
  return dayFormat.format(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))));
}

/** The instant (ISO, UTC) at which a clock in `zone` shows `date` (YYYY-MM-DD) `time` (HH:MM). */
export function instantInZone(date, time, zone) {
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const wanted = Date.UTC(y, m - 1, d, hh, mm);
  const offsetAt = (instant) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
      })
        .formatToParts(new Date(instant))
        .map((part) => [part.type, part.value]),
    );
    const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute));
    return wall - instant;
  };
  // Twice: the offset at the guess may differ from the offset at the answer (a daylight-saving change).
  let instant = wanted - offsetAt(wanted);
  instant = wanted - offsetAt(instant);
  return new Date(instant).toISOString();
}

/** Today's date (YYYY-MM-DD) in a given time zone. */
export function todayIn(zone) {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
      new Date(),
    );
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

function wireLogout() {
  const button = document.getElementById("logout");
  if (!button) return;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("POST", "/api/v1/auth/logout");
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) {
        say(document.getElementById("logout-error"), errorText(error));
        button.disabled = false;
        return;
      }
    }
    window.location.assign("/login");
  });
}

wireLogout();
