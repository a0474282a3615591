// One meeting: its start in the viewer's zone, and its agenda (an editor for the unit's leaders while the
// meeting is scheduled). The API decides every change; its refusals are shown as it words them.
import { api, el, errorText, formatTime, lang, say, setBusy, showFieldErrors, t as pageText } from "./common.js";
import { excuseBlock, ownExcuse } from "./excuse.js";
import { wireChanges } from "./meeting-changes.js";
import { wireSession } from "./meeting-session.js";
import "./meeting-attendance.js";
import "./meeting-votes.js";

const $ = (id) => document.getElementById(id);
const node = $("page-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return pageText(key, params);
  return String(messages[key]).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const itemTypes = messages.item_types || {};
const typeName = (value) => itemTypes[value] || String(value);

const root = $("meeting");
const meetingId = Number(root.dataset.meetingId);
const orgId = Number(root.dataset.orgId);
const editable = root.hasAttribute("data-can-edit-agenda");
let currentTemplate = root.dataset.templateId ? Number(root.dataset.templateId) : null;

let items = []; // [{title, item_type, notes}] as the editor holds them
let barred = new Set(); // indexes the API refused
const templates = new Map();

function showStart() {
  const start = $("meeting-start");
  if (start && start.dataset.startsAt) say(start, formatTime(start.dataset.startsAt));
}

function showReadOnly(list) {
  const view = $("agenda-view");
  view.replaceChildren(
    ...list.map((item) =>
      el(
        "li",
        {},
        el("span", { class: "item-title" }, item.title),
        " ",
        el("span", { class: "kind" }, typeName(item.item_type)),
        item.notes ? el("span", { class: "notes" }, item.notes) : null,
      ),
    ),
  );
  $("agenda-empty").hidden = list.length > 0;
  setBusy(view, false);
}

function typeSelect(id, value) {
  const select = el("select", { id, name: "item_type" });
  for (const [type, name] of Object.entries(itemTypes)) {
    select.append(el("option", { value: type, selected: type === value }, name));
  }
  if (!(value in itemTypes)) select.append(el("option", { value, selected: true }, value));
  return select;
}

function row(item, index) {
  const number = index + 1;
  const prefix = `item-${index}`;
  const title = el("input", {
    id: `${prefix}-title`,
    name: "title",
    type: "text",
    required: true,
    maxlength: 500,
    autocomplete: "off",
    value: item.title,
    "data-field": `items.${index}.title`,
  });
  title.addEventListener("input", () => (items[index].title = title.value));
  const type = typeSelect(`${prefix}-type`, item.item_type);
  type.dataset.field = `items.${index}.item_type`;
  type.addEventListener("change", () => {
    items[index].item_type = type.value;
    barred.delete(index);
    type.removeAttribute("aria-invalid");
  });
  if (barred.has(index)) type.setAttribute("aria-invalid", "true");
  const notes = el("textarea", {
    id: `${prefix}-notes`,
    name: "notes",
    rows: 2,
    maxlength: 2000,
    "data-field": `items.${index}.notes`,
  });
  notes.value = item.notes || "";
  notes.addEventListener("input", () => (items[index].notes = notes.value));
  const button = (action, text, disabled) =>
    el("button", { type: "button", class: "secondary small", "data-action": action, "data-index": index, disabled }, text);
  return el(
    "li",
    { class: barred.has(index) ? "agenda-item barred" : "agenda-item", "data-index": index },
    el(
      "fieldset",
      {},
      el("legend", {}, t("item_legend", { number })),
      el("div", { class: "field" }, el("label", { for: title.id }, t("item_title")), title),
      el("div", { class: "field" }, el("label", { for: type.id }, t("item_type")), type),
      el("div", { class: "field" }, el("label", { for: notes.id }, t("item_notes")), notes),
      el(
        "div",
        { class: "item-actions" },
        button("up", "↑", index === 0),
        button("down", "↓", index === items.length - 1),
        button("remove", "✕", false),
      ),
    ),
  );
}

function labelButtons() {
  for (const button of $("agenda-items").querySelectorAll("button[data-action]")) {
    const number = Number(button.dataset.index) + 1;
    const key = { up: "move_up", down: "move_down", remove: "remove" }[button.dataset.action];
    button.setAttribute("aria-label", t(key, { number }));
    button.title = t(key, { number });
  }
}

function renderEditor(focus) {
  const list = $("agenda-items");
  list.replaceChildren(...items.map(row));
  labelButtons();
  $("agenda-empty").hidden = items.length > 0;
  setBusy(list, false);
  if (focus) {
    const target = list.querySelector(focus);
    if (target && !target.disabled) target.focus();
    else list.querySelector(`#item-${Math.max(0, Math.min(items.length - 1, 0))}-title`)?.focus();
  }
}

function fromApi(list) {
  return list.map((item) => ({ title: item.title, item_type: item.item_type, notes: item.notes || "" }));
}

async function loadAgenda() {
  const body = await api("GET", `/api/v1/meetings/${meetingId}/agenda`);
  return fromApi(body.items);
}

function templateName(template) {
  const name = (template.name && (template.name[lang] || template.name.vi)) || template.code || `#${template.id}`;
  return template.builtin ? t("builtin", { name }) : name;
}

async function loadTemplates() {
  const select = $("template");
  const body = await api("GET", `/api/v1/agenda-templates?org=${orgId}`);
  templates.clear();
  select.replaceChildren();
  for (const template of body.templates) {
    templates.set(template.id, template);
    select.append(el("option", { value: template.id, selected: template.id === currentTemplate }, templateName(template)));
  }
  $("apply-template").disabled = body.templates.length === 0;
  if (body.templates.length === 0) select.append(el("option", { value: "" }, t("no_templates")));
}

function refusal(error) {
  barred = new Set();
  for (const entry of (error.details && error.details.barred_items) || []) barred.add(entry.index);
  const lines = [errorText(error)];
  for (const index of [...barred].sort((a, b) => a - b)) {
    lines.push(t("barred_item", { number: index + 1, type: typeName(items[index]?.item_type) }));
  }
  return lines.join(" ");
}

function itemFieldNames(error) {
  const names = {};
  const columns = { title: "item_title", item_type: "item_type", notes: "item_notes" };
  for (const field of Object.keys((error.details && error.details.fields) || {})) {
    const match = /^items\.(\d+)\.(title|item_type|notes)$/.exec(field);
    if (match) names[field] = `${t("item_legend", { number: Number(match[1]) + 1 })} — ${t(columns[match[2]])}`;
  }
  return names;
}

function busy(on) {
  for (const id of ["apply-template", "save-agenda", "add-item"]) {
    const button = $(id);
    if (button) button.disabled = on;
  }
}

function wireEditor() {
  const list = $("agenda-items");
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const index = Number(button.dataset.index);
    const action = button.dataset.action;
    barred = new Set();
    if (action === "remove") {
      items.splice(index, 1);
      renderEditor(`button[data-action=remove][data-index="${Math.min(index, items.length - 1)}"]`);
      if (items.length === 0) $("add-item").focus();
      return;
    }
    const to = action === "up" ? index - 1 : index + 1;
    if (to < 0 || to >= items.length) return;
    [items[index], items[to]] = [items[to], items[index]];
    renderEditor(`button[data-action=${action}][data-index="${to}"]`);
  });

  $("add-item").addEventListener("click", () => {
    items.push({ title: "", item_type: "ordinary", notes: "" });
    renderEditor(`#item-${items.length - 1}-title`);
  });

  $("agenda-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say($("agenda-error"), "");
    say($("agenda-status"), "");
    busy(true);
    try {
      const body = await api("PUT", `/api/v1/meetings/${meetingId}/agenda`, {
        json: { items: items.map((item) => ({ title: item.title.trim(), item_type: item.item_type, notes: item.notes })) },
      });
      barred = new Set();
      items = fromApi(body.items);
      renderEditor();
      say($("agenda-status"), t("agenda_saved", { count: items.length }));
    } catch (error) {
      const text = refusal(error); // marks the barred items first
      renderEditor();
      // A field refused (too long, empty): named as the editor names it ("Item 2 — Title"), marked, focused.
      const details = error.details || {};
      const byField = details.fields && !details.barred_items;
      if (!(byField && showFieldErrors($("agenda-form"), error, $("agenda-error"), itemFieldNames(error)))) {
        say($("agenda-error"), text);
      }
    }
    busy(false);
  });

  $("template-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say($("agenda-error"), "");
    say($("agenda-status"), "");
    const id = Number($("template").value);
    const template = templates.get(id);
    if (!template) return;
    busy(true);
    try {
      if (id === currentTemplate) {
        // PATCH with the template already named changes nothing: put its items back explicitly.
        await api("PUT", `/api/v1/meetings/${meetingId}/agenda`, {
          json: {
            items: template.items.map((item) => ({
              title: item.title.vi,
              item_type: item.item_type,
              notes: (item.notes && item.notes.vi) || "",
            })),
          },
        });
      } else {
        await api("PATCH", `/api/v1/meetings/${meetingId}`, { json: { agenda_template_id: id } });
        currentTemplate = id;
      }
      barred = new Set();
      items = await loadAgenda();
      renderEditor();
      say($("agenda-status"), t("template_applied", { count: items.length }));
    } catch (error) {
      say($("agenda-error"), errorText(error));
    }
    busy(false);
  });
}

// The meeting's status as it changes: by this page's own opening or closing, or by anyone (polled).
const STATUS_POLL_MS = 15000;
const session = wireSession({ onChange: showStatus });

function showStatus(meeting) {
  const shown = $("meeting-state");
  const changed = shown.dataset.status !== meeting.status;
  shown.dataset.status = meeting.status;
  say(shown, (messages.statuses || {})[meeting.status] || meeting.status);
  session.show(meeting.status);
  if (changed && meeting.status !== "scheduled") {
    const changes = $("meeting-changes");
    if (changes) changes.hidden = true;
    // Open or closed: the agenda is fixed now, and a closed meeting has no room to go to.
    for (const form of document.querySelectorAll("#agenda-form, #template-form")) form.hidden = true;
    if (meeting.status !== "open") for (const link of document.querySelectorAll("[data-live-only]")) link.hidden = true;
  }
}

wireChanges({
  onChange(meeting) {
    const start = $("meeting-start");
    start.dataset.startsAt = meeting.starts_at;
    showStart();
    showStatus(meeting);
  },
});

function followStatus() {
  setInterval(async () => {
    if (document.hidden) return;
    try {
      showStatus(await api("GET", `/api/v1/meetings/${meetingId}`));
    } catch {
      // The next poll tries again; the page keeps what it showed.
    }
  }, STATUS_POLL_MS);
}

/** A member's own excuse (and the form), and for the unit's leaders every excuse received. */
async function loadExcuses() {
  const own = $("excuse-section");
  const list = $("excuses-list");
  try {
    if (own) {
      const memberId = Number(own.dataset.memberId);
      const mine = await ownExcuse(meetingId, memberId);
      $("excuse-own").replaceChildren(excuseBlock(meetingId, mine, () => loadExcuses()));
    }
    if (list) {
      const { excuses } = await api("GET", `/api/v1/meetings/${meetingId}/excuses`);
      list.replaceChildren(
        ...(excuses.length
          ? excuses.map((e) => el("li", {}, t("excuse_line", { name: e.full_name, reason: e.reason, time: formatTime(e.created_at) })))
          : [el("li", {}, t("excuses_none"))]),
      );
      setBusy(list, false);
    }
  } catch (error) {
    say($("excuses-error") || $("agenda-error"), errorText(error));
  }
}

async function start() {
  showStart();
  loadExcuses();
  followStatus();
  try {
    if (editable) {
      wireEditor();
      const [loaded] = await Promise.all([loadAgenda(), loadTemplates()]);
      items = loaded;
      renderEditor();
    } else {
      showReadOnly(await loadAgenda());
    }
  } catch (error) {
    say($("agenda-error"), errorText(error));
  }
  root.dataset.ready = "true";
}

start();
