// The minutes beside the room (docs/api.md "Minutes"): the facts the system records, read-only, and one
// textarea per written field for the chair and the minute-taker. Saving never loses an acknowledged edit
// and never overwrites what is being typed:
// - `shadow` = {version, fields} is the server state the texts are based on; a field is dirty when its
//   textarea differs from shadow.fields[name];
// - one PUT in flight at a time, with only the dirty fields and an edit_id; a network failure resends the
//   same body with the same edit_id (the server answers a retried edit_id with its first answer);
// - an answer or a push updates a textarea only when it still holds the text the update is based on;
//   text typed meanwhile is rebased onto the server's text when the two changes do not overlap, else it
//   is kept in view next to the server's text (never dropped).
import { api, ApiError, el, errorText, formatTime, say } from "./common.js";
import { $, t } from "./room-panels.js";
import { countsText, outcomeText } from "./room-votes.js";

const DEBOUNCE_MS = 400;
const MAX_WAIT_MS = 2000; // a long stretch of typing is still saved every 2 s
const FIXED_FIELDS = ["number", "opening", "guests"];

const state = {
  meetingId: null,
  editor: false,
  status: null,
  locked: false,
  shadow: null, // {version, fields}
  document: null,
  inflight: null, // the PUT body being sent
  timer: null,
  dirtySince: null,
  retryDelay: 1000,
};

const areas = new Map(); // field name -> textarea

function fieldOrder(fields) {
  const items = Object.keys(fields)
    .filter((name) => name.startsWith("item:"))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const rest = Object.keys(fields).filter((name) => !FIXED_FIELDS.includes(name) && !name.startsWith("item:") && name !== "conclusions");
  return [...FIXED_FIELDS.filter((name) => name in fields), ...items, ...rest, ...(fields.conclusions !== undefined ? ["conclusions"] : [])];
}

function fieldLabel(name) {
  if (name.startsWith("item:")) {
    const index = Number(name.slice(5));
    const item = state.document && (state.document.agenda || []).find((entry) => entry.index === index);
    return t("field_item", { number: index + 1, title: item ? item.title : "" });
  }
  const key = `field_${name}`;
  const text = t(key);
  return text === key ? name : text;
}

const dirty = (name) => state.shadow && areas.has(name) && areas.get(name).value !== (state.shadow.fields[name] ?? "");
const anyDirty = () => [...areas.keys()].some(dirty);

/** Replace a textarea's text, keeping the caret where it was relative to the text around it. */
function setText(area, text) {
  if (area.value === text) return;
  const old = area.value;
  const focused = document.activeElement === area;
  const start = area.selectionStart;
  const end = area.selectionEnd;
  let prefix = 0;
  while (prefix < old.length && prefix < text.length && old[prefix] === text[prefix]) prefix += 1;
  area.value = text;
  if (focused) {
    const shift = text.length - old.length;
    area.setSelectionRange(start > prefix ? start + shift : start, end > prefix ? end + shift : end);
  }
}

/** The single changed region between two texts: [start, end) in `base` becomes `middle`. */
function region(base, changed) {
  let start = 0;
  while (start < base.length && start < changed.length && base[start] === changed[start]) start += 1;
  let tail = 0;
  while (
    tail < base.length - start &&
    tail < changed.length - start &&
    base[base.length - 1 - tail] === changed[changed.length - 1 - tail]
  ) {
    tail += 1;
  }
  return { start, end: base.length - tail, middle: changed.slice(start, changed.length - tail) };
}

/** Mine and theirs both changed `base`: both changes when they touch different places, else null. */
export function rebase(base, mine, theirs) {
  if (mine === base) return theirs;
  if (theirs === base || theirs === mine) return mine;
  const a = region(base, mine);
  const b = region(base, theirs);
  if (a.end < b.start || (a.end === b.start && a.start < a.end)) {
    return base.slice(0, a.start) + a.middle + base.slice(a.end, b.start) + b.middle + base.slice(b.end);
  }
  if (b.end < a.start || (b.end === a.start && b.start < b.end)) {
    return base.slice(0, b.start) + b.middle + base.slice(b.end, a.start) + a.middle + base.slice(a.end);
  }
  return null;
}

/** Keep the user's text in view beside the server's (never silently dropped). */
function keepUnsaved(name, text) {
  const area = areas.get(name);
  if (!area) return;
  const wrapper = area.closest(".minutes-field");
  let box = wrapper.querySelector(".unsaved");
  if (!box) {
    const id = `unsaved-${name.replace(/\W/g, "-")}`;
    const dismiss = el("button", { type: "button", class: "outline small" }, t("minutes_dismiss"));
    box = el(
      "details",
      { class: "unsaved", open: true },
      el("summary", {}, t("minutes_yours")),
      el("label", { for: id, class: "visually-hidden" }, `${t("minutes_yours")}: ${fieldLabel(name)}`),
      el("textarea", { id, readonly: true, rows: 4 }),
      dismiss,
    );
    dismiss.addEventListener("click", () => box.remove());
    wrapper.append(box);
  }
  box.querySelector("textarea").value = text;
}

function showSave(text, kind = "") {
  const line = $("minutes-save");
  line.dataset.kind = kind;
  say(line, text);
}

function ensureAreas(fields) {
  const form = $("minutes-fields");
  // The server lists only the fields written so far: the others come from the agenda.
  const every = { number: "", opening: "", guests: "", conclusions: "" };
  for (const item of (state.document && state.document.agenda) || []) every[`item:${item.index}`] = "";
  const wanted = fieldOrder({ ...every, ...fields });
  const missing = wanted.filter((name) => !areas.has(name));
  for (const name of missing) {
    const id = `minutes-field-${name.replace(/\W/g, "-")}`;
    const area = el("textarea", { id, name, rows: name === "number" ? 1 : 4, "data-field": name, spellcheck: "true" });
    area.value = (state.shadow && state.shadow.fields[name]) ?? "";
    area.addEventListener("input", () => edited());
    el("div", { class: "minutes-field", "data-field": name }, el("label", { for: id }, fieldLabel(name)), area);
    areas.set(name, area);
  }
  if (missing.length) {
    // Put every field in order; an existing textarea is moved, never recreated (its text stays), and
    // the one being typed in gets its focus and caret back.
    const focused = document.activeElement;
    const [start, end] = focused ? [focused.selectionStart, focused.selectionEnd] : [0, 0];
    for (const name of wanted) form.append(areas.get(name).closest(".minutes-field"));
    if (focused && focused.isConnected && focused !== document.activeElement && focused.tagName === "TEXTAREA") {
      focused.focus();
      focused.setSelectionRange(start, end);
    }
  }
  for (const [name, area] of areas) {
    area.readOnly = !state.editor || state.locked;
    const label = area.closest(".minutes-field").querySelector("label");
    say(label, fieldLabel(name));
  }
}

function edited() {
  if (!state.editor || state.locked) return;
  showSave(t("minutes_unsaved"), "dirty");
  if (state.dirtySince === null) state.dirtySince = Date.now();
  clearTimeout(state.timer);
  const waited = Date.now() - state.dirtySince;
  state.timer = setTimeout(flush, Math.max(0, Math.min(DEBOUNCE_MS, MAX_WAIT_MS - waited)));
}

function newEditId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function flush() {
  clearTimeout(state.timer);
  state.timer = null;
  if (state.inflight || state.locked || !state.shadow) return;
  const fields = {};
  for (const name of areas.keys()) if (dirty(name)) fields[name] = areas.get(name).value;
  state.dirtySince = null;
  if (Object.keys(fields).length === 0) return;
  state.inflight = { version: state.shadow.version, fields, edit_id: newEditId() };
  showSave(t("minutes_saving"), "saving");
  send();
}

async function send() {
  const body = state.inflight;
  let reply;
  try {
    reply = await api("PUT", `/api/v1/meetings/${state.meetingId}/minutes`, { json: body });
  } catch (error) {
    const retry = !(error instanceof ApiError) || error.status === 0 || error.status >= 500 || error.status === 429;
    if (retry) {
      // The same body with the same edit_id: applied at most once, whatever happened to the first answer.
      showSave(t("minutes_retrying"), "retrying");
      setTimeout(send, state.retryDelay);
      state.retryDelay = Math.min(state.retryDelay * 2, 5000);
      return;
    }
    state.inflight = null;
    state.retryDelay = 1000;
    refused(error, body);
    return;
  }
  state.inflight = null;
  state.retryDelay = 1000;
  accept(reply, body.fields);
  showSave(t("minutes_saved", { version: state.shadow.version }), "saved");
  afterward();
}

/** A saved edit: move to the server's version; text typed meanwhile is kept (rebased onto it). */
function accept(reply, sent) {
  ensureAreas(reply.fields);
  for (const [name, area] of areas) {
    if (!(name in reply.fields)) continue;
    const base = name in sent ? sent[name] : state.shadow.fields[name] ?? "";
    const server = reply.fields[name] ?? "";
    if (area.value === base) setText(area, server);
    else if (server !== base) {
      const merged = rebase(base, area.value, server);
      if (merged === null) {
        keepUnsaved(name, area.value);
        setText(area, server);
        say($("minutes-error"), t("minutes_conflict", { field: fieldLabel(name) }));
      } else setText(area, merged);
    }
  }
  state.shadow = { version: reply.version, fields: { ...reply.fields } };
  if (reply.status) setStatus(reply.status);
  if (reply.document) drawFacts(reply.document);
}

function refused(error, body) {
  if (error.code === "conflict") {
    const current = error.details || {};
    const fields = current.fields || {};
    for (const name of Object.keys(body.fields)) {
      const area = areas.get(name);
      if (!area) continue;
      keepUnsaved(name, area.value);
      setText(area, fields[name] ?? "");
    }
    for (const [name, area] of areas) {
      if (!(name in body.fields) && name in fields && !dirty(name)) setText(area, fields[name]);
    }
    state.shadow = { version: current.version, fields: { ...state.shadow.fields, ...fields } };
    const names = Object.keys(body.fields).map(fieldLabel).join(", ");
    say($("minutes-error"), t("minutes_conflict", { field: names }));
    showSave(t("minutes_saved", { version: state.shadow.version }), "conflict");
    afterward();
    return;
  }
  if (error.code === "minutes_locked") {
    lock();
    return;
  }
  say($("minutes-error"), errorText(error));
  showSave(t("minutes_unsaved"), "error");
}

/** After an answer: what was typed meanwhile goes in the next PUT. */
function afterward() {
  if (anyDirty() && !state.timer) {
    state.dirtySince = state.dirtySince ?? Date.now();
    state.timer = setTimeout(flush, DEBOUNCE_MS);
  }
}

function lock() {
  state.locked = true;
  clearTimeout(state.timer);
  for (const [name, area] of areas) {
    if (dirty(name)) keepUnsaved(name, area.value);
    area.readOnly = true;
  }
  say($("minutes-note"), t("minutes_locked"));
  $("minutes-panel").dataset.mode = "locked";
}

function setStatus(status) {
  state.status = status;
  const node = $("minutes-status");
  node.dataset.status = status;
  say(node, t(`minutes_status_${status}`));
  if (status !== "draft" && !state.locked) lock();
}

/** A push or a reload: facts always; texts only where nothing is being typed. */
function received(minutes) {
  if (minutes.document) drawFacts(minutes.document);
  if (minutes.status) setStatus(minutes.status);
  if (!minutes.fields || typeof minutes.version !== "number") return;
  if (!state.shadow) {
    state.shadow = { version: minutes.version, fields: { ...minutes.fields } };
    ensureAreas(minutes.fields);
    for (const [name, area] of areas) setText(area, minutes.fields[name] ?? "");
    return;
  }
  if (minutes.version <= state.shadow.version) return;
  ensureAreas(minutes.fields);
  const sending = state.inflight ? state.inflight.fields : {};
  if (!anyDirty() && !state.inflight) {
    for (const [name, area] of areas) setText(area, minutes.fields[name] ?? "");
    state.shadow = { version: minutes.version, fields: { ...minutes.fields } };
    return;
  }
  // A dirty field keeps its older base: the server merges it on the next PUT. A clean one follows.
  for (const [name, area] of areas) {
    if (name in sending || dirty(name) || !(name in minutes.fields)) continue;
    setText(area, minutes.fields[name]);
    state.shadow.fields[name] = minutes.fields[name];
  }
}

function names(list) {
  const joined = (list || []).map((person) => (person.reason ? `${person.full_name} (${person.reason})` : person.full_name));
  return joined.length ? joined.join(", ") : t("facts_none");
}

function drawFacts(document) {
  state.document = document;
  const present = document.present || {};
  const agenda = el(
    "ol",
    { class: "facts-agenda" },
    ...(document.agenda || []).map((item) => {
      const speakers = (item.speakers || []).map((s) => `${s.full_name} (${t("seconds", { seconds: s.seconds })})`);
      return el(
        "li",
        { "data-index": item.index },
        el("span", { class: "name" }, item.title),
        item.started_at ? el("span", { class: "notes" }, ` · ${formatTime(item.started_at)}`) : null,
        el("span", { class: "notes" }, speakers.length ? t("facts_speakers", { names: speakers.join(", ") }) : t("facts_no_speakers")),
      );
    }),
  );
  const votes = document.votes || [];
  const voteList = votes.length
    ? el(
        "ul",
        { class: "facts-votes" },
        ...votes.map((vote) =>
          el(
            "li",
            { "data-vote-id": vote.id, "data-outcome": vote.outcome || "" },
            el("span", { class: "name" }, t("facts_vote", { question: vote.question, outcome: vote.outcome ? outcomeText(vote.outcome) : t("vote_open") })),
            el("span", { class: "notes" }, vote.counts ? countsText(vote.counts) : ""),
            vote.rule ? el("span", { class: "notes" }, t("rule_id", { rule: vote.rule })) : null,
          ),
        ),
      )
    : el("p", {}, t("facts_no_votes"));
  $("minutes-facts").replaceChildren(
    el("p", { class: "facts-number" }, [document.number, document.date_line].filter(Boolean).join(" · ")),
    el(
      "p",
      { class: "facts-present" },
      t("facts_present", { total: present.total ?? 0, official: present.official ?? 0, probationary: present.probationary ?? 0 }),
    ),
    el("p", { class: "notes" }, names((present.names || []).map((name) => ({ full_name: name })))),
    el("p", {}, t("facts_absent_excused", { names: names(document.absent_excused) })),
    el("p", {}, t("facts_absent_unexcused", { names: names(document.absent_unexcused) })),
    agenda,
    voteList,
  );
  if (state.shadow) ensureAreas(state.shadow.fields);
}

export function listen(socket) {
  socket.on("minutes", received);
}

export async function joined(reply, { meetingId }) {
  const meeting = reply.state.meeting;
  state.meetingId = meetingId;
  const me = reply.self.member_id;
  state.editor = me === meeting.chair_id || me === meeting.minute_taker_id || Boolean(reply.self.is_chair);
  $("minutes-panel").dataset.mode = state.editor ? "edit" : "read";
  say($("minutes-note"), state.editor ? "" : t("minutes_readonly"));
  try {
    received(await api("GET", `/api/v1/meetings/${meetingId}/minutes`));
    ensureAreas(state.shadow ? state.shadow.fields : {});
  } catch (error) {
    say($("minutes-error"), errorText(error));
  }
}

window.addEventListener("beforeunload", (event) => {
  if (state.inflight || anyDirty()) event.preventDefault();
});
