// A meeting's attendance on its page (issue 30, R-ATT-4): each summoned member's status and, for one heard
// through another member's radio or phone, by whom. The unit's leaders record such a relay; the API checks
// it (the member and the relayer summoned, the relayer present, the times inside the meeting) and words any
// refusal.
import { api, el, errorText, say, setBusy, t as pageText } from "./common.js";

const $ = (id) => document.getElementById(id);
const node = $("page-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return pageText(key, params);
  return String(messages[key]).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const section = $("attendance-section");
const meetingId = Number(($("meeting") || {}).dataset?.meetingId);
const state = { members: [], meeting: null };

// A datetime-local value ("YYYY-MM-DDTHH:MM:SS", the viewer's zone) of an instant, to the second.
function localValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function relayText(member) {
  const names = new Map(state.members.map((m) => [m.member_id, m.full_name]));
  return (member.relays || [])
    .map((relay) =>
      t("relayed_line", {
        channel: (messages.channels || {})[relay.channel] || relay.channel,
        name: names.get(relay.relayed_by) || "",
      }),
    )
    .join("; ");
}

function draw() {
  $("attendance-list").replaceChildren(
    ...state.members.map((member) =>
      el(
        "li",
        { "data-member-id": member.member_id, "data-status": member.status, "data-relayed": String(Boolean(member.relayed)) },
        el("span", { class: "name" }, member.full_name),
        " — ",
        el("span", { class: "status" }, (messages.attendance_statuses || {})[member.status] || member.status),
        member.relayed ? el("span", { class: "relayed" }, ` (${relayText(member)})`) : null,
      ),
    ),
  );
  const form = $("relay-form");
  // Each list starts with its empty "choose a member" option (a required select needs one), then the members.
  if (form && $("relay-member").options.length <= 1) {
    for (const id of ["relay-member", "relay-by"]) {
      const placeholder = $(id).options[0];
      $(id).replaceChildren(placeholder, ...state.members.map((m) => el("option", { value: m.member_id }, m.full_name)));
    }
    $("relay-member").selectedIndex = state.members.length ? 1 : 0;
    if (state.members.length > 1) $("relay-by").selectedIndex = 2;
  }
}

function fillTimes() {
  const meeting = state.meeting;
  if (!meeting || !$("relay-from") || $("relay-from").value) return;
  // From the opening (the next whole second) to the close, or to the planned end while in session.
  const opened = new Date(Math.ceil(Date.parse(meeting.opened_at) / 1000) * 1000);
  const until = new Date(Math.floor(Date.parse(meeting.closed_at || meeting.ends_at) / 1000) * 1000);
  $("relay-from").value = localValue(opened);
  $("relay-to").value = localValue(until);
}

async function load() {
  setBusy($("attendance-list"), true);
  try {
    const [attendance, meeting] = await Promise.all([
      api("GET", `/api/v1/meetings/${meetingId}/attendance`),
      state.meeting ? Promise.resolve(state.meeting) : api("GET", `/api/v1/meetings/${meetingId}`),
    ]);
    state.members = attendance.members || [];
    state.meeting = meeting;
    draw();
    fillTimes();
  } catch (error) {
    say($("attendance-error"), errorText(error));
  } finally {
    setBusy($("attendance-list"), false);
  }
}

async function record(event) {
  event.preventDefault();
  say($("attendance-error"), "");
  say($("attendance-status"), "");
  const instant = (id) => {
    const value = $(id).value;
    return value ? new Date(value).toISOString() : "";
  };
  const json = {
    member_id: Number($("relay-member").value),
    relayed_by: Number($("relay-by").value),
    channel: $("relay-channel").value,
    from: instant("relay-from"),
    to: instant("relay-to"),
  };
  $("relay-save").disabled = true;
  try {
    await api("POST", `/api/v1/meetings/${meetingId}/relays`, { json });
    say($("attendance-status"), t("relay_saved"));
    await load();
  } catch (error) {
    say($("attendance-error"), errorText(error));
  } finally {
    $("relay-save").disabled = false;
  }
}

if (section) {
  if ($("relay-form")) $("relay-form").addEventListener("submit", record);
  load();
}
