// The invitation, a new time and a cancellation on the meeting page (scheduled meetings, for whoever
// may change them). The API decides (a past time, a closed meeting) and tells the members.
import { api, el, errorText, formatTime, instantInZone, say, showFieldErrors } from "./common.js";

const $ = (id) => document.getElementById(id);
const node = $("changes-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  const text = Object.prototype.hasOwnProperty.call(messages, key) ? String(messages[key]) : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** `onChange(meeting)` after a new time or a cancellation. */
export function wireChanges({ onChange = () => {} } = {}) {
  const root = $("meeting-changes");
  if (!root) return;
  const meetingId = Number(root.dataset.meetingId);
  const zone = root.dataset.timezone;
  const error = $("changes-error");

  function clear() {
    say(error, "");
    say($("changes-done"), "");
    $("changes-warnings").replaceChildren();
  }

  async function send(button, form, path, body, done) {
    clear();
    button.disabled = true;
    try {
      const answer = await api("POST", `/api/v1/meetings/${meetingId}/${path}`, { json: body });
      if (form) for (const marked of form.querySelectorAll("[aria-invalid=true]")) marked.removeAttribute("aria-invalid");
      say($("changes-done"), done(answer));
      for (const warning of answer.warnings || []) {
        $("changes-warnings").append(el("p", {}, t("warning", { message: warning.message })));
      }
      return answer;
    } catch (failure) {
      if (form) showFieldErrors(form, failure, error);
      else say(error, errorText(failure));
      return null;
    } finally {
      button.disabled = false;
    }
  }

  $("send-invitation").addEventListener("click", (event) =>
    send(event.currentTarget, null, "invitations", {}, (sent) => {
      const told = sent.again
        ? t("invitation_again", { count: sent.sent, before: sent.times_sent_before })
        : t("invitation_sent", { count: sent.sent });
      // `mailed` is in the answer only when the server sends e-mail (CELLMEET_SMTP_URL).
      return "mailed" in sent ? `${told} ${t("invitation_mailed", { count: sent.sent, mailed: sent.mailed })}` : told;
    }),
  );

  const reasonOf = (id) => {
    const field = $(id);
    if (field.value.trim()) return field.value.trim();
    clear();
    say(error, t("reason_missing"));
    field.setAttribute("aria-invalid", "true");
    field.focus();
    return null;
  };

  $("reschedule-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (!$("reschedule-date").value || !$("reschedule-time").value) {
      clear();
      say(error, t("date_missing"));
      $("reschedule-date").focus();
      return;
    }
    const reason = reasonOf("reschedule-reason");
    if (!reason) return;
    const body = { starts_at: instantInZone($("reschedule-date").value, $("reschedule-time").value, zone), reason };
    if ($("reschedule-duration").value) body.duration_minutes = Number($("reschedule-duration").value);
    const moved = await send($("reschedule-submit"), form, "reschedule", body, (meeting) =>
      t("rescheduled", { time: formatTime(meeting.starts_at) }),
    );
    if (moved) {
      form.reset();
      onChange(moved);
    }
  });

  $("cancel-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!reasonOf("cancel-reason")) return;
    say($("cancel-confirm-text"), t("cancel_confirm"));
    $("cancel-confirm").hidden = false;
    $("cancel-yes").focus();
  });
  $("cancel-no").addEventListener("click", () => {
    $("cancel-confirm").hidden = true;
    $("cancel-submit").focus();
  });
  $("cancel-yes").addEventListener("click", async (event) => {
    const reason = reasonOf("cancel-reason");
    if (!reason) return;
    const cancelled = await send(event.currentTarget, $("cancel-form"), "cancel", { reason }, () => t("cancelled"));
    $("cancel-confirm").hidden = true;
    if (cancelled) {
      for (const part of root.querySelectorAll("form, #send-invitation")) part.hidden = true;
      onChange(cancelled);
    }
  });
}
