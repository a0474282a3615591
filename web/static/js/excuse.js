// A member's excuse (xin vắng) for a meeting: the form that sends the reason, and what was sent. The
// home page and the meeting page both use it; the API decides who may send one and until when.
import { api, el, errorText, formatTime, say, t } from "./common.js";

let serial = 0;

/** The member's own excuse, or null (GET /api/v1/meetings/{id}/excuses lists one's own only). */
export async function ownExcuse(meetingId, memberId) {
  const { excuses } = await api("GET", `/api/v1/meetings/${meetingId}/excuses`);
  return excuses.find((excuse) => excuse.member_id === memberId) || null;
}

/** The excuse's state and a form to send (or change) it; `onSent(excuse)` after it is saved. */
export function excuseBlock(meetingId, existing, onSent = () => {}) {
  serial += 1;
  const id = `excuse-reason-${meetingId}-${serial}`;
  const state = el("p", { class: "excuse-state", role: "status" });
  const error = el("p", { class: "message error", role: "alert" });
  const reason = el("textarea", { id, rows: 2, maxlength: 1000 });
  const send = el("button", { type: "submit", class: "secondary" }, t("excuse_send"));
  const form = el(
    "form",
    { class: "stacked excuse-form", novalidate: true, "data-meeting-id": meetingId },
    el("div", { class: "field" }, el("label", { for: id }, t("excuse_reason")), reason),
    send,
    error,
  );
  const show = (excuse) => {
    say(state, excuse ? t("excuse_sent", { reason: excuse.reason, time: formatTime(excuse.created_at) }) : "");
    say(send, excuse ? t("excuse_change") : t("excuse_send"));
  };
  show(existing);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(error, "");
    if (!reason.value.trim()) {
      say(error, t("excuse_missing"));
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    send.disabled = true;
    try {
      const excuse = await api("POST", `/api/v1/meetings/${meetingId}/excuses`, { json: { reason: reason.value.trim() } });
      reason.removeAttribute("aria-invalid");
      reason.value = "";
      show(excuse);
      onSent(excuse);
    } catch (failure) {
      say(error, errorText(failure));
    } finally {
      send.disabled = false;
    }
  });
  const details = el(
    "details",
    { class: "excuse" },
    el("summary", {}, t("excuse_title")),
    form,
  );
  return el("div", { class: "excuse-block" }, state, details);
}
