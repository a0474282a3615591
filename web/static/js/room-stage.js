// The room as one stage (issue 19): on a phone one panel at a time behind a row of tabs (none open at
// first, so the first screen is the stage itself; an opened vote opens its panel), "you have the floor"
// when the chair gives it to this member, and the flag that makes a reload rejoin without a click.
import { $ } from "./room-panels.js";

const state = { selfId: null };

/** Open one panel (or none: ""); a second tap on the open tab closes it. */
export function showPane(name) {
  const stage = $("in-room");
  stage.dataset.pane = name || "";
  for (const tab of document.querySelectorAll("[data-pane-tab]")) {
    tab.setAttribute("aria-selected", tab.dataset.paneTab === name ? "true" : "false");
  }
}

/** Mark a tab as wanting attention (an open vote) until it is opened. */
export function flagPane(name, on) {
  const tab = document.querySelector(`[data-pane-tab="${name}"]`);
  if (tab) tab.dataset.flag = on ? "true" : "false";
}

function drawFloor() {
  const holder = Number($("floor").dataset.memberId || "0");
  const mine = Boolean(state.selfId) && holder === state.selfId;
  const notice = $("floor-you");
  if (notice.hidden === mine) notice.hidden = !mine;
  $("in-room").dataset.floorMine = mine ? "true" : "false";
}

/* ---- rejoin after a reload: a flag per meeting, in this tab only ---- */

const flagKey = (meetingId) => `cellmeet.room.${meetingId}.joined`;

export function rememberJoined(meetingId, joined) {
  try {
    if (joined) window.sessionStorage.setItem(flagKey(meetingId), "1");
    else window.sessionStorage.removeItem(flagKey(meetingId));
  } catch {
    // Storage refused (private mode): a reload asks for the click again.
  }
}

export function hadJoined(meetingId) {
  try {
    return window.sessionStorage.getItem(flagKey(meetingId)) === "1";
  } catch {
    return false;
  }
}

export function listen(socket) {
  // The floor push carries the member given the floor; room-chair.js writes it on #floor as well.
  socket.on("floor", (floor) => {
    $("floor").dataset.memberId = floor && floor.member_id ? String(floor.member_id) : "";
    drawFloor();
  });
}

export function joined(reply) {
  state.selfId = reply.self.member_id;
  const chairTab = $("tab-chair");
  if (!reply.self.is_chair && reply.self.member_id !== reply.state.meeting.chair_id && !$("session-panel")) {
    chairTab.hidden = true;
  } else {
    chairTab.hidden = false;
  }
  drawFloor();
}

function start() {
  for (const tab of document.querySelectorAll("[data-pane-tab]")) {
    tab.addEventListener("click", () => {
      const name = tab.dataset.paneTab;
      showPane($("in-room").dataset.pane === name ? "" : name);
      flagPane(name, false);
    });
  }
  // A late joiner learns who speaks from the REST API (room-chair.js): follow #floor, whoever wrote it.
  new MutationObserver(drawFloor).observe($("floor"), { attributes: true, attributeFilter: ["data-member-id"] });
}

start();
