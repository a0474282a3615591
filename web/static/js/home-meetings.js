// The home page's notices (invitations, cancellations, new times) and a member's upcoming meetings.
import { api, el, errorText, formatTime, say } from "./common.js";

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

/** A linked member's coming meetings (their own unit's, its party groups' included). */
export async function loadMyMeetings(me) {
  if (!me.member) return;
  $("my-meetings-section").hidden = false;
  try {
    const { meetings } = await api("GET", `/api/v1/orgs/${me.member.org_id}/meetings`);
    const ahead = meetings.filter((m) => m.status === "scheduled" || m.status === "open");
    $("my-meetings").replaceChildren(
      ...(ahead.length
        ? ahead.map((m) => el("li", { "data-status": m.status }, el("a", { href: `/meetings/${m.id}` }, m.title), " — ", formatTime(m.starts_at)))
        : [el("li", {}, t("no_upcoming"))]),
    );
  } catch (error) {
    say($("home-error"), errorText(error));
  }
}
