// Opening and closing a meeting (the room's chair panel and the meeting page share it): open when
// quorate, or with a reason the minutes and the audit log keep; close after a confirmation that says
// what becomes final. The API decides and words every refusal.
import { api, errorText, say } from "./common.js";

const $ = (id) => document.getElementById(id);
const node = $("session-messages");
const messages = node ? JSON.parse(node.textContent) : {};
const t = (key) => messages[key] || key;

/**
 * Wire the controls of _session_controls.html. `onChange(meeting)` runs after this page opened or closed
 * the meeting; call `show(status)` whenever the meeting's status is known to have changed (a push).
 */
export function wireSession({ onChange = () => {} } = {}) {
  const root = $("session-controls");
  if (!root) return { show() {} };
  const meetingId = Number(root.dataset.meetingId);

  function show(status) {
    root.dataset.status = status;
    root.hidden = status !== "scheduled" && status !== "open";
    $("meeting-open").hidden = status !== "scheduled";
    $("meeting-close").hidden = status !== "open";
    if (status !== "scheduled") $("open-override").hidden = true;
    if (status !== "open") $("close-confirm").hidden = true;
  }

  async function call(button, path, json) {
    say($("session-error"), "");
    say($("session-message"), "");
    button.disabled = true;
    try {
      return await api("POST", `/api/v1/meetings/${meetingId}/${path}`, { json });
    } finally {
      button.disabled = false;
    }
  }

  async function open(button, body) {
    try {
      const meeting = await call(button, "open", body);
      show(meeting.status);
      say($("session-message"), t("opened"));
      onChange(meeting);
    } catch (error) {
      say($("session-error"), errorText(error));
      if (error.code === "not_quorate") {
        $("open-override").hidden = false;
        say($("session-message"), t("not_quorate_open"));
        $("open-override-reason").focus();
      }
    }
  }

  $("meeting-open").addEventListener("click", (event) => open(event.currentTarget, {}));
  $("open-override").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = $("open-override-reason").value.trim();
    if (!reason) {
      say($("session-error"), t("reason_missing"));
      $("open-override-reason").focus();
      return;
    }
    open($("meeting-open-anyway"), { override_reason: reason });
  });
  $("meeting-close").addEventListener("click", () => {
    say($("close-confirm-text"), t("close_confirm"));
    $("close-confirm").hidden = false;
    $("meeting-close-yes").focus();
  });
  $("meeting-close-no").addEventListener("click", () => {
    $("close-confirm").hidden = true;
    $("meeting-close").focus();
  });
  $("meeting-close-yes").addEventListener("click", async (event) => {
    try {
      const meeting = await call(event.currentTarget, "close", {});
      show(meeting.status);
      say($("session-message"), t("closed"));
      onChange(meeting);
    } catch (error) {
      say($("session-error"), errorText(error));
    }
  });
  show(root.dataset.status);
  return { show };
}
