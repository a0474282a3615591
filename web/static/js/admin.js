// The operator's page (/admin): every account, accounts made in one step from a unit's register with a
// one-time activation link each, disable/enable, password and two-step resets, roles, register links.
// The API decides and words every refusal (server/api/accounts_routes.py); links are shown once.
import { api, el, errorText, formatTime, label, say, setBusy, t as pageText } from "./common.js";

const $ = (id) => document.getElementById(id);
const node = $("page-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return pageText(key, params);
  return String(messages[key]).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

let accounts = [];
let orgs = [];

function absolute(path) {
  return new URL(path, window.location.origin).href;
}

function done(text) {
  say($("admin-error"), "");
  say($("admin-done"), text);
}

function failed(failure, target = $("admin-error")) {
  say($("admin-done"), "");
  say(target, errorText(failure));
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = t("copied");
  } catch {
    // No clipboard (an insecure origin, a refusal): select the text so it can be copied by hand.
    const code = button.parentElement.querySelector("code");
    if (code) window.getSelection().selectAllChildren(code);
  }
}

function copyButton(url, username) {
  const button = el("button", { type: "button", class: "secondary", "aria-label": t("copy_label", { username }) }, t("copy"));
  button.addEventListener("click", () => copy(url, button));
  return button;
}

function showLink(text, path) {
  const url = absolute(path);
  $("link-shown").hidden = false;
  say($("link-shown-text"), text);
  say($("link-shown-url"), url);
  const old = $("link-shown-copy");
  const fresh = old.cloneNode(true);
  fresh.textContent = t("copy");
  fresh.addEventListener("click", () => copy(url, fresh));
  old.replaceWith(fresh);
}

function stateText(account) {
  const parts = [t(account.disabled ? "disabled" : "enabled")];
  if (!account.activated) parts.push(t(account.activation_pending ? "pending" : "not_activated"));
  if (account.totp_enabled) parts.push(t("totp"));
  return parts.join(", ");
}

async function act(button, call) {
  button.disabled = true;
  try {
    await call();
  } catch (failure) {
    failed(failure);
  } finally {
    button.disabled = false;
  }
}

function actions(account) {
  const box = el("div", { class: "button-row", role: "group", "aria-label": t("account_actions", { username: account.username }) });
  const toggle = el("button", { type: "button", class: "secondary", "data-action": account.disabled ? "enable" : "disable" }, t(account.disabled ? "enable" : "disable"));
  toggle.addEventListener("click", () =>
    act(toggle, async () => {
      const answer = await api("POST", `/api/v1/users/${account.id}/${account.disabled ? "enable" : "disable"}`);
      done(t(answer.disabled ? "disabled_now" : "enabled_now", { username: account.username }));
      await loadAccounts();
    }),
  );
  const reset = el("button", { type: "button", class: "secondary", "data-action": "reset-password" }, t("reset_password"));
  reset.addEventListener("click", () =>
    act(reset, async () => {
      const answer = await api("POST", `/api/v1/users/${account.id}/password-reset`);
      done("");
      showLink(t("reset_link", { username: account.username, time: formatTime(answer.expires_at) }), answer.link);
      await loadAccounts();
    }),
  );
  box.append(toggle, " ", reset);
  if (account.totp_enabled) {
    const totp = el("button", { type: "button", class: "secondary", "data-action": "reset-totp" }, t("reset_totp"));
    totp.addEventListener("click", () =>
      act(totp, async () => {
        await api("POST", `/api/v1/users/${account.id}/totp-reset`);
        done(t("totp_reset_now", { username: account.username }));
        await loadAccounts();
      }),
    );
    box.append(" ", totp);
  }
  if (account.member) {
    const unlink = el("button", { type: "button", class: "secondary", "data-action": "unlink" }, t("unlink"));
    unlink.addEventListener("click", () =>
      act(unlink, async () => {
        await api("PUT", `/api/v1/users/${account.id}/member`, { json: { member_id: null } });
        done(t("unlinked", { username: account.username }));
        await loadAccounts();
      }),
    );
    box.append(" ", unlink);
  }
  return box;
}

function showAccounts() {
  const body = $("accounts");
  body.replaceChildren();
  if (accounts.length === 0) body.append(el("tr", {}, el("td", { colspan: "6" }, t("accounts_none"))));
  for (const account of accounts) {
    const grants = account.grants.length
      ? account.grants.map((g) => t("role_at", { role: label("role", g.role), unit: g.org_name })).join("; ")
      : t("no_grant");
    body.append(
      el(
        "tr",
        { "data-username": account.username },
        el("th", { scope: "row" }, account.username),
        el("td", {}, account.full_name),
        el("td", { class: "account-state" }, stateText(account)),
        el("td", {}, account.member ? account.member.org_name : t("no_member")),
        el("td", {}, grants),
        el("td", {}, actions(account)),
      ),
    );
  }
  setBusy(body, false);
  for (const select of document.querySelectorAll("[data-user-select]")) {
    const chosen = select.value;
    select.replaceChildren(...accounts.map((a) => el("option", { value: String(a.id) }, `${a.username} (${a.full_name})`)));
    if (chosen) select.value = chosen;
  }
}

async function loadAccounts() {
  const answer = await api("GET", "/api/v1/users");
  accounts = answer.accounts;
  showAccounts();
}

function fillOrgs() {
  const depth = new Map();
  const byId = new Map(orgs.map((o) => [o.id, o]));
  const level = (org) => {
    if (depth.has(org.id)) return depth.get(org.id);
    const parent = org.parent_id !== null ? byId.get(org.parent_id) : null;
    const value = parent ? level(parent) + 1 : 0;
    depth.set(org.id, value);
    return value;
  };
  for (const select of document.querySelectorAll("[data-org-select]")) {
    select.replaceChildren(
      ...orgs.map((o) => el("option", { value: String(o.id) }, `${"\u2003".repeat(level(o))}${o.name} (${label("org_kind", o.kind)})`)),
    );
  }
}

// --- accounts from the register --------------------------------------------------------------------

async function candidatesOf(orgId) {
  return (await api("GET", `/api/v1/users/register-candidates?org=${encodeURIComponent(orgId)}`)).candidates;
}

$("candidates-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const orgId = $("bulk-org").value;
  say($("bulk-error"), "");
  if (!orgId) return say($("bulk-error"), t("choose_unit"));
  try {
    const found = await candidatesOf(orgId);
    const list = $("candidates");
    list.replaceChildren();
    $("bulk-all").checked = false;
    $("bulk-form").hidden = false;
    $("bulk-form").dataset.org = orgId;
    if (found.length === 0) {
      list.append(el("li", {}, t("candidates_none")));
      $("bulk-create").disabled = true;
      return;
    }
    $("bulk-create").disabled = false;
    for (const row of found) {
      const id = `candidate-${row.member_id}`;
      list.append(
        el(
          "li",
          {},
          el("input", { type: "checkbox", id, value: String(row.member_id), name: "member" }),
          " ",
          el("label", { for: id }, `${row.full_name} — ${row.org_name}`),
        ),
      );
    }
  } catch (failure) {
    failed(failure, $("bulk-error"));
  }
});

$("bulk-all").addEventListener("change", () => {
  for (const box of $("candidates").querySelectorAll("input[type=checkbox]")) box.checked = $("bulk-all").checked;
});

$("bulk-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ids = [...$("candidates").querySelectorAll("input[type=checkbox]:checked")].map((box) => Number(box.value));
  say($("bulk-error"), "");
  if (ids.length === 0) return say($("bulk-error"), t("choose_members"));
  const button = $("bulk-create");
  button.disabled = true;
  try {
    const answer = await api("POST", "/api/v1/users/from-register", {
      json: { org_id: Number($("bulk-form").dataset.org), member_ids: ids },
    });
    const rows = $("created");
    rows.replaceChildren();
    for (const account of answer.accounts) {
      const url = absolute(account.activation_link);
      rows.append(
        el(
          "tr",
          { "data-username": account.username },
          el("td", {}, account.full_name),
          el("td", {}, account.username),
          el("td", {}, el("code", { class: "activation-link" }, url), " ", copyButton(url, account.username)),
        ),
      );
    }
    $("bulk-result").hidden = false;
    say($("bulk-result-text"), t("created", { count: answer.accounts.length }));
    $("bulk-form").hidden = true;
    await loadAccounts();
  } catch (failure) {
    failed(failure, $("bulk-error"));
  } finally {
    button.disabled = false;
  }
});

// --- a role ----------------------------------------------------------------------------------------

$("grant-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say($("grant-error"), "");
  const userId = Number($("grant-user").value);
  const orgId = Number($("grant-org").value);
  const role = $("grant-role").value;
  if (!userId) return say($("grant-error"), t("choose_account"));
  if (!orgId) return say($("grant-error"), t("choose_unit"));
  try {
    await api("POST", `/api/v1/orgs/${orgId}/grants`, { json: { user_id: userId, role } });
    const account = accounts.find((a) => a.id === userId);
    const unit = orgs.find((o) => o.id === orgId);
    done(t("granted", { role: label("role", role), username: account ? account.username : userId, unit: unit ? unit.name : orgId }));
    await loadAccounts();
  } catch (failure) {
    failed(failure, $("grant-error"));
  }
});

// --- a register entry ------------------------------------------------------------------------------

$("member-org-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say($("member-error"), "");
  try {
    const found = await candidatesOf($("member-org").value);
    const select = $("member-entry");
    select.replaceChildren(...found.map((row) => el("option", { value: String(row.member_id) }, `${row.full_name} — ${row.org_name}`)));
    $("member-form").hidden = false;
    if (found.length === 0) say($("member-error"), t("candidates_none"));
  } catch (failure) {
    failed(failure, $("member-error"));
  }
});

$("member-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say($("member-error"), "");
  const userId = Number($("member-user").value);
  const entry = $("member-entry");
  if (!userId) return say($("member-error"), t("choose_account"));
  if (!entry.value) return say($("member-error"), t("choose_entry"));
  try {
    await api("PUT", `/api/v1/users/${userId}/member`, { json: { member_id: Number(entry.value) } });
    const account = accounts.find((a) => a.id === userId);
    done(t("linked", { username: account ? account.username : userId, name: entry.selectedOptions[0].textContent }));
    $("member-form").hidden = true;
    await loadAccounts();
  } catch (failure) {
    failed(failure, $("member-error"));
  }
});

async function load() {
  try {
    const [list, tree] = await Promise.all([api("GET", "/api/v1/users"), api("GET", "/api/v1/orgs")]);
    accounts = list.accounts;
    orgs = tree.orgs;
    fillOrgs();
    showAccounts();
  } catch (failure) {
    failed(failure);
  }
  $("admin").dataset.ready = "true";
}

load();
