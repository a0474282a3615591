// The unit's meetings on its page: upcoming and past (a cell's party groups' included), and for its
// leaders the form to schedule one, the date and time entered in the unit's zone. The API decides: a
// time in the past is refused, an online meeting after the approval ends is scheduled with a warning.
import { api, el, errorText, instantInZone, lang, say, setBusy, showFieldErrors } from "./common.js";
import { $, can, orgName, unit } from "./unit.js";

const node = $("meetings-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  const text = Object.prototype.hasOwnProperty.call(messages, key) ? String(messages[key]) : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const name = (table, value) => (messages[table] || {})[value] || String(value);
const locale = lang === "en" ? "en-GB" : "vi-VN";

/** An instant as the unit's clock shows it, the zone named. */
export function atUnitTime(iso, zone = unit.zone) {
  const instant = new Date(iso);
  const shown = new Intl.DateTimeFormat(locale, {
    timeZone: zone,
    weekday: "short",
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(instant);
  return t("at_unit_time", { time: shown, zone });
}

/** The instant (ISO, UTC) at which the unit's clock shows `date` `time`. */
export function unitInstant(date, time, zone = unit.zone) {
  return instantInZone(date, time, zone);
}

function meetingItem(meeting) {
  const facts = [name("kinds", meeting.kind), name("modes", meeting.mode), name("statuses", meeting.status)];
  if (meeting.org_id !== unit.id) facts.unshift(orgName(meeting.org_id));
  return el(
    "li",
    { "data-meeting-id": meeting.id, "data-status": meeting.status },
    el("a", { href: `/meetings/${meeting.id}` }, meeting.title),
    el("span", { class: "meeting-when" }, " — ", atUnitTime(meeting.starts_at, meeting.timezone)),
    el("span", { class: "meeting-facts" }, ` · ${facts.join(" · ")}`),
    meeting.cancel_reason ? el("span", { class: "meeting-note" }, ` (${meeting.cancel_reason})`) : null,
  );
}

export async function loadMeetings() {
  const upcoming = $("meetings-upcoming");
  const past = $("meetings-past");
  try {
    const { meetings } = await api("GET", `/api/v1/orgs/${unit.id}/meetings`);
    const ahead = meetings.filter((m) => m.status === "scheduled" || m.status === "open");
    const behind = meetings.filter((m) => !(m.status === "scheduled" || m.status === "open")).reverse();
    upcoming.replaceChildren(...(ahead.length ? ahead.map(meetingItem) : [el("li", {}, t("none_upcoming"))]));
    past.replaceChildren(...(behind.length ? behind.slice(0, 20).map(meetingItem) : [el("li", {}, t("none_past"))]));
    say($("meetings-error"), "");
  } catch (error) {
    say($("meetings-error"), errorText(error));
  }
  setBusy(upcoming, false);
  setBusy(past, false);
}

async function fillChoices() {
  const template = $("schedule-template");
  const chair = $("schedule-chair");
  const taker = $("schedule-minute-taker");
  template.replaceChildren(el("option", { value: "" }, t("no_template")));
  chair.replaceChildren(el("option", { value: "" }, t("not_named")));
  taker.replaceChildren(el("option", { value: "" }, t("not_named")));
  const [templates, members] = await Promise.allSettled([
    api("GET", `/api/v1/agenda-templates?org=${unit.id}`),
    api("GET", `/api/v1/orgs/${unit.id}/members`),
  ]);
  if (templates.status === "fulfilled") {
    for (const item of templates.value.templates) {
      const label = item.name[lang] || item.name.vi;
      template.append(el("option", { value: item.id }, item.builtin ? t("builtin", { name: label }) : label));
    }
  }
  if (members.status === "fulfilled") {
    const active = members.value.members.filter((m) => m.activity !== "suspended");
    for (const member of active) {
      chair.append(el("option", { value: member.id }, member.full_name));
      taker.append(el("option", { value: member.id }, member.full_name));
    }
  }
  // A list that could not be read is said, not left silently empty: the secretary would schedule
  // without the template or the chair they expected.
  const failed = [templates, members].find((result) => result.status === "rejected");
  if (failed) say($("schedule-error"), errorText(failed.reason));
}

function wireSchedule() {
  const form = $("schedule-form");
  if (!form) return;
  const names = Object.fromEntries(
    ["kind", "mode", "title", "starts_at", "duration_minutes", "agenda_template_id", "chair_id", "minute_taker_id", "place"].map(
      (field) => [field, t(`field_${field}`)],
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("schedule-error");
    say(error, "");
    say($("schedule-done"), "");
    $("schedule-warnings").replaceChildren();
    const title = $("schedule-title-input");
    if (!title.value.trim()) {
      say(error, t("title_missing"));
      title.setAttribute("aria-invalid", "true");
      title.focus();
      return;
    }
    if (!$("schedule-date").value || !$("schedule-time").value) {
      say(error, t("date_missing"));
      $("schedule-date").setAttribute("aria-invalid", "true");
      $("schedule-date").focus();
      return;
    }
    const number = (id) => ($(id).value ? Number($(id).value) : null);
    const body = {
      kind: $("schedule-kind").value,
      mode: $("schedule-mode").value,
      title: title.value.trim(),
      starts_at: unitInstant($("schedule-date").value, $("schedule-time").value),
      duration_minutes: number("schedule-duration"),
      agenda_template_id: number("schedule-template"),
      chair_id: number("schedule-chair"),
      minute_taker_id: number("schedule-minute-taker"),
      place: $("schedule-place").value.trim(),
    };
    const submit = $("schedule-submit");
    submit.disabled = true;
    try {
      const made = await api("POST", `/api/v1/orgs/${unit.id}/meetings`, { json: body });
      for (const marked of form.querySelectorAll("[aria-invalid=true]")) marked.removeAttribute("aria-invalid");
      $("schedule-done").replaceChildren(
        el("a", { href: `/meetings/${made.id}` }, t("scheduled_ok", { title: made.title, time: atUnitTime(made.starts_at, made.timezone) })),
      );
      for (const warning of made.warnings || []) {
        $("schedule-warnings").append(el("p", {}, t("warning", { message: warning.message })));
      }
      title.value = "";
      await loadMeetings();
    } catch (failure) {
      showFieldErrors(form, failure, error, names);
    } finally {
      submit.disabled = false;
    }
  });
}

export async function startMeetings() {
  if (!can("read-meetings")) return;
  wireSchedule();
  await Promise.all([loadMeetings(), can("schedule-meetings") ? fillChoices() : null]);
}
