// The home page's notices (invitations, cancellations, new times) and a member's upcoming meetings.
import { api, el, errorText, formatTime, say, t as common } from "./common.js";
import { excuseBlock, ownExcuse } from "./excuse.js";

const $ = (id) => document.getElementById(id);
const node = $("home-messages");
const messages = node ? JSON.parse(node.textContent) : {};

export function t(key, params = {}) {
  const text = Object.prototype.hasOwnProperty.call(messages, key) ? String(messages[key]) : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function noticeItem(notice) {
  const { meeting, data } = notice;
  const when = formatTime((data && data.starts_at) || meeting.starts_at);
  const text = t(notice.kind, { title: meeting.title, time: when, reason: (data && data.reason) || "" });
  const item = el("li", { "data-kind": notice.kind }, el("a", { href: `/meetings/${meeting.id}` }, text));
  if (notice.ics_url && notice.kind !== "cancelled") {
    item.append(" · ", el("a", { href: notice.ics_url, download: "" }, t("add_to_calendar")));
  }
  return item;
}

export async function loadNotices() {
  try {
    const { notices } = await api("GET", "/api/v1/notices");
    $("notices").replaceChildren(...notices.map(noticeItem));
    $("notices-section").hidden = notices.length === 0;
  } catch (error) {
    say($("home-error"), errorText(error));
  }
}

const LIVE = new Set(["scheduled", "open"]);

function meetingEntry(meeting, memberId, excuse) {
  const item = el(
    "li",
    { "data-meeting-id": meeting.id, "data-status": meeting.status },
    el("a", { href: `/meetings/${meeting.id}` }, meeting.title),
    " — ",
    formatTime(meeting.starts_at),
    el("span", { class: "meeting-facts" }, ` · ${common(`status_${meeting.status}`)}`),
  );
  const links = [];
  if (LIVE.has(meeting.status) && meeting.mode !== "in_person") {
    links.push(el("a", { class: "button-link", href: `/meetings/${meeting.id}/room` }, common("join_room")));
  }
  if (meeting.status === "scheduled") {
    links.push(el("a", { href: `/api/v1/meetings/${meeting.id}/invite.ics`, download: "" }, t("add_to_calendar")));
  }
  if (meeting.status === "closed") links.push(el("a", { href: `/meetings/${meeting.id}/minutes` }, common("minutes_link")));
  if (links.length) item.append(el("p", { class: "meeting-links" }, ...links.flatMap((link, i) => (i ? [" · ", link] : [link]))));
  if (meeting.status === "scheduled" && memberId) item.append(excuseBlock(meeting.id, excuse));
  return item;
}

/** A linked member's meetings (their own unit's, its party groups' included): the coming ones with
 * the room, the calendar file and the excuse; the last ones held with their minutes. */
export async function loadMyMeetings(me) {
  if (!me.member) return;
  $("my-meetings-section").hidden = false;
  try {
    const { meetings } = await api("GET", `/api/v1/orgs/${me.member.org_id}/meetings`);
    const ahead = meetings.filter((m) => LIVE.has(m.status));
    const held = meetings.filter((m) => m.status === "closed").reverse().slice(0, 5);
    const excuses = await Promise.all(
      ahead.map((m) => (m.status === "scheduled" ? ownExcuse(m.id, me.member.id).catch(() => null) : null)),
    );
    $("my-meetings").replaceChildren(
      ...(ahead.length ? ahead.map((m, i) => meetingEntry(m, me.member.id, excuses[i])) : [el("li", {}, t("no_upcoming"))]),
    );
    $("my-past-meetings").replaceChildren(...held.map((m) => meetingEntry(m, null, null)));
    $("my-past-title").hidden = held.length === 0;
  } catch (error) {
    say($("home-error"), errorText(error));
  }
}
