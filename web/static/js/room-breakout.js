// Breakout into groups (docs/api.md "Breakout"): the chair splits the open meeting into its party groups
// for a set time, broadcasts to every group, moves members and brings everyone back; each group sees its
// name, its members, the time left and the chair's messages, and writes its notes. Which peers this
// device connects to during the split is the server's answer (`breakout` push, `peers`): room.js
// reconciles the mesh with it.
import { api, el, errorText, say } from "./common.js";
import { $, t } from "./room-panels.js";

const state = {
  meetingId: null,
  selfId: null,
  isChair: false,
  view: null, // the last `breakout` view, or null when not split
  names: new Map(), // member id -> name, from the presence pushes
  participants: [], // every summoned member, as the last presence push lists them
  savedNotes: "", // the group's notes as last saved (ours or another member's)
  version: 0,
  dirty: false,
  timer: null,
  deadline: 0,
};

const myGroup = () => (state.view && state.view.active ? state.view.groups.find((g) => g.index === state.view.mine) : null);

function draw() {
  const view = state.view && state.view.active ? state.view : null;
  $("breakout-panel").hidden = !view;
  $("breakout-start-form").hidden = Boolean(view);
  $("breakout-running").hidden = !view;
  $("room").dataset.breakout = view ? String(view.mine) : "";
  if (!view) {
    window.clearInterval(state.timer);
    state.timer = null;
    return;
  }
  const group = myGroup();
  say($("breakout-group"), group ? t("breakout_your_group", { name: group.name }) : t("breakout_no_group"));
  $("breakout-members").replaceChildren(
    ...(group ? group.member_ids : []).map((id) => el("li", {}, state.names.get(id) || `#${id}`)),
  );
  drawMessages(view.messages || []);
  drawMoveChoices(view);
  drawTimer();
  if (!state.timer) state.timer = window.setInterval(drawTimer, 1000);
}

function drawTimer() {
  const view = state.view;
  if (!view || !view.active) return;
  const left = Math.max(0, Math.round((state.deadline - performance.now()) / 1000));
  const text =
    left > 0
      ? t("breakout_time_left", { minutes: Math.floor(left / 60), seconds: String(left % 60).padStart(2, "0") })
      : t("breakout_time_up");
  say($("breakout-timer"), text);
  $("breakout-timer").dataset.left = String(left);
}

function drawMessages(messages) {
  $("breakout-messages").replaceChildren(...messages.map((m) => el("li", {}, m.text)));
}

function drawMoveChoices(view) {
  if (!state.isChair) return;
  const members = $("breakout-move-member");
  const chosen = members.value;
  const everyone = view.groups.flatMap((g) => g.member_ids);
  members.replaceChildren(...everyone.map((id) => el("option", { value: id }, state.names.get(id) || `#${id}`)));
  if (chosen) members.value = chosen;
  const groups = $("breakout-move-group");
  const target = groups.value;
  groups.replaceChildren(...view.groups.map((g) => el("option", { value: g.index }, g.name)));
  if (target) groups.value = target;
}

/** The group's notes: replaced by a newer saved text unless this member is typing over it. */
function showNotes(text, version) {
  state.savedNotes = text;
  state.version = version;
  if (!state.dirty) $("breakout-notes").value = text;
  const other = $("breakout-notes-other");
  other.hidden = !state.dirty || text === $("breakout-notes").value;
  say(other, state.dirty ? t("breakout_notes_newer", { text }) : "");
}

function setView(view) {
  const before = myGroup();
  state.view = view && view.active ? view : null;
  // Counted from the seconds the server says are left, not from this device's clock.
  if (state.view) state.deadline = performance.now() + state.view.remaining_seconds * 1000;
  const group = myGroup();
  if (!group) {
    state.dirty = false;
    say($("breakout-notes-status"), "");
  } else if (!before || before.index !== group.index) {
    state.dirty = false;
    showNotes(group.notes, group.notes_version);
  }
  if (view && !view.active && view.ended) say($("breakout-announce"), t("breakout_back"));
  else if (group) say($("breakout-announce"), t("breakout_started", { name: group.name }));
  draw();
}

async function saveNotes(event) {
  event.preventDefault();
  const group = myGroup();
  if (!group) return;
  const text = $("breakout-notes").value;
  const button = $("breakout-notes-save");
  button.disabled = true;
  say($("breakout-notes-status"), t("minutes_saving"));
  try {
    const saved = await api("PUT", `/api/v1/meetings/${state.meetingId}/breakout/groups/${group.index}/notes`, {
      json: { text, version: state.version },
    });
    state.dirty = false;
    showNotes(saved.notes, saved.notes_version);
    say($("breakout-notes-status"), t("minutes_saved", { version: saved.notes_version }));
  } catch (error) {
    if (error.code === "notes_conflict" && error.details) {
      // Keep what this member typed; show what was saved meanwhile, and save over it only when asked again.
      showNotes(error.details.notes, error.details.version);
    }
    say($("breakout-notes-status"), errorText(error));
  } finally {
    button.disabled = false;
  }
}

async function chairCall(button, method, path, json) {
  say($("breakout-error"), "");
  button.disabled = true;
  try {
    return await api(method, `/api/v1/meetings/${state.meetingId}/breakout${path}`, { json });
  } catch (error) {
    say($("breakout-error"), errorText(error));
    return null;
  } finally {
    button.disabled = false;
  }
}

/** Groups of about the same size, dealt in turn: those connected first, so each group has people in it. */
function evenGroups(count) {
  const people = [...state.participants].sort((a, b) => Number(b.online || b.on_site) - Number(a.online || a.on_site));
  const groups = Array.from({ length: Math.max(1, Math.min(count, people.length)) }, (_, index) => ({
    name: t("breakout_group_name", { number: index + 1 }),
    member_ids: [],
  }));
  people.forEach((person, index) => groups[index % groups.length].member_ids.push(person.member_id));
  return groups;
}

export function listen(socket) {
  socket.on("breakout", setView);
  socket.on("breakout-message", (message) => {
    if (!state.view) return;
    state.view.messages = [...(state.view.messages || []), message];
    drawMessages(state.view.messages);
    say($("breakout-announce"), t("breakout_message", { text: message.text }));
  });
  socket.on("breakout-notes", (notes) => {
    const group = myGroup();
    // Pushes of two saves may cross: an older version never replaces a newer one.
    if (group && group.index === notes.index && notes.notes_version > state.version) showNotes(notes.notes, notes.notes_version);
  });
  socket.on("presence", (presence) => {
    state.participants = presence.participants || [];
    for (const person of state.participants) state.names.set(person.member_id, person.full_name);
    if (state.view) draw();
  });
}

export function joined(reply, { meetingId }) {
  state.meetingId = meetingId;
  state.selfId = reply.self.member_id;
  state.isChair = Boolean(reply.self.is_chair);
  state.participants = (reply.state.presence && reply.state.presence.participants) || [];
  for (const person of state.participants) state.names.set(person.member_id, person.full_name);
  $("breakout-chair").hidden = !state.isChair;
  setView(reply.state.breakout);
}

function start() {
  $("breakout-notes").addEventListener("input", () => {
    state.dirty = true;
  });
  $("breakout-notes-form").addEventListener("submit", saveNotes);
  $("breakout-source").addEventListener("change", () => {
    $("breakout-count-field").hidden = $("breakout-source").value !== "ad_hoc";
  });
  $("breakout-start-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const minutes = Number($("breakout-minutes").value);
    const body = { source: $("breakout-source").value, minutes };
    if (body.source === "ad_hoc") body.groups = evenGroups(Number($("breakout-count").value));
    await chairCall($("breakout-start"), "POST", "", body);
  });
  $("breakout-broadcast-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("breakout-broadcast-text").value.trim();
    if (!text) return;
    if (await chairCall($("breakout-broadcast"), "POST", "/broadcast", { text })) $("breakout-broadcast-text").value = "";
  });
  $("breakout-move").addEventListener("click", (event) =>
    chairCall(event.currentTarget, "POST", "/move", {
      member_id: Number($("breakout-move-member").value),
      group_index: Number($("breakout-move-group").value),
    }),
  );
  $("breakout-end").addEventListener("click", (event) => chairCall(event.currentTarget, "POST", "/end", {}));
}

start();
