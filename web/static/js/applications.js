// Pilot applications of the unit and the units below: apply, decide (an approver above), revoke, flags.
import { api, el, errorText, formatDay, formatTime, label, say, setBusy, t, todayIn } from "./common.js";
import { submitting } from "./register.js";
import { $, can, orgName, orgZone, unit } from "./unit.js";

// Status of every application listed, to leave out flags of approvals that have since ended.
const statusOf = new Map();
let pilotChanged = async () => {};

/** An approver decides only for units strictly below the grant (the server's approver_org_above). */
function canDecide(application) {
  return can("decide-here") || (can("decide-below") && application.org_id !== unit.id);
}

function fact(name, ...value) {
  return el("div", {}, el("dt", {}, name), el("dd", {}, ...value));
}

function field(id, text, input) {
  return el("div", { class: "field" }, el("label", { for: id }, text), input);
}

function dateInput(id, value, describedBy) {
  return el("input", { id, type: "date", value, "aria-describedby": describedBy });
}

function decisionForm(application) {
  const id = application.id;
  const prefix = `decision-${id}`;
  const zone = orgZone(application.org_id);
  const today = todayIn(zone);
  const radio = (value, text, checked) =>
    el("label", { class: "choice" }, el("input", { type: "radio", name: `${prefix}-approved`, value, checked }), " ", text);
  const error = el("p", { class: "message error", role: "alert" });
  const form = el(
    "form",
    { class: "stacked decision-form", method: "post", novalidate: true },
    el(
      "fieldset",
      {},
      el("legend", {}, t("decision_legend", { id })),
      el("div", { class: "choices" }, radio("true", t("approve"), true), radio("false", t("reject"), false)),
      field(`${prefix}-no`, t("decision_no"), el("input", { id: `${prefix}-no`, type: "text", maxlength: 60, required: true })),
      field(`${prefix}-on`, t("decided_on"), dateInput(`${prefix}-on`, today, null)),
      el("p", { class: "hint", id: `${prefix}-hint` }, t("dates_hint", { zone })),
      field(`${prefix}-from`, t("valid_from"), dateInput(`${prefix}-from`, today, `${prefix}-hint`)),
      field(`${prefix}-to`, t("valid_to"), dateInput(`${prefix}-to`, null, `${prefix}-hint`)),
    ),
    error,
    el("button", { type: "submit" }, t("record_decision", { id })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(error, "");
    const body = {
      approved: form.querySelector(`input[name="${prefix}-approved"]:checked`)?.value === "true",
      decision_no: $(`${prefix}-no`).value.trim(),
      decided_on: $(`${prefix}-on`).value || null,
      valid_from: $(`${prefix}-from`).value || null,
      valid_to: $(`${prefix}-to`).value || null,
    };
    await submitting(form, async () => {
      try {
        const decided = await api("POST", `/api/v1/pilot-applications/${id}/decision`, { json: body });
        const status = label("application_status", decided.status);
        await applicationsChanged(id, t("decision_recorded", { id, status }));
      } catch (failure) {
        say(error, errorText(failure));
      }
    });
  });
  return form;
}

function revokeForm(application) {
  const id = application.id;
  const error = el("p", { class: "message error", role: "alert" });
  const reason = el("textarea", { id: `revoke-${id}-reason`, rows: 2, maxlength: 1000, required: true });
  const form = el(
    "form",
    { class: "stacked revoke-form", method: "post", novalidate: true },
    el("fieldset", {}, el("legend", {}, t("revoke_legend", { id })), field(`revoke-${id}-reason`, t("revoke_reason"), reason)),
    error,
    el("button", { type: "submit", class: "danger" }, t("revoke_button", { id })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(error, "");
    await submitting(form, async () => {
      try {
        await api("POST", `/api/v1/pilot-applications/${id}/revoke`, { json: { reason: reason.value.trim() } });
        await applicationsChanged(id, t("revoked", { id }));
      } catch (failure) {
        say(error, errorText(failure));
      }
    });
  });
  return form;
}

function applicationFacts(application) {
  const facts = el("dl", { class: "facts" });
  if (application.org_id !== unit.id) {
    facts.append(fact(t("unit"), el("a", { href: `/orgs/${application.org_id}` }, orgName(application.org_id))));
  }
  const status = label("application_status", application.status);
  facts.append(
    fact(t("status"), el("span", { class: `status status-${application.status}` }, status)),
    fact(t("applied_at"), formatTime(application.applied_at)),
  );
  if (application.eligibility) facts.append(fact(t("eligibility_when_applied"), application.eligibility.explanation));
  if (application.decision_no) {
    const decided = { decision_no: application.decision_no, decided_on: formatDay(application.decided_on) };
    facts.append(fact(t("decision"), t("decision_text", decided)));
  }
  if (application.valid_from && application.valid_to) {
    const range = t("valid_range", { from: formatDay(application.valid_from), to: formatDay(application.valid_to) });
    facts.append(fact(t("valid"), t("day_in_zone", { date: range, zone: orgZone(application.org_id) })));
  }
  if (application.revoked_at) {
    facts.append(fact(t("revoked_at"), formatTime(application.revoked_at)));
    facts.append(fact(t("revoke_reason"), application.revoke_reason || ""));
  }
  return facts;
}

function applicationItem(application) {
  const id = application.id;
  const title = t("application_title", { id, kind: label("application_kind", application.kind) });
  const article = el(
    "article",
    { class: "card application", "aria-labelledby": `application-${id}-title`, "data-application-id": id },
    el("h3", { id: `application-${id}-title`, tabindex: -1 }, title),
    applicationFacts(application),
  );
  if (application.status === "pending" && canDecide(application)) article.append(decisionForm(application));
  if (application.status === "approved" && canDecide(application)) article.append(revokeForm(application));
  return el("li", {}, article);
}

async function loadApplications() {
  const list = $("applications");
  try {
    const { applications } = await api("GET", `/api/v1/orgs/${unit.id}/pilot-applications`);
    statusOf.clear();
    for (const application of applications) statusOf.set(application.id, application.status);
    // Newest first: the one waiting for a decision is usually the one that matters.
    list.replaceChildren(...applications.slice().reverse().map(applicationItem));
    $("applications-empty").hidden = applications.length > 0;
    say($("applications-error"), "");
  } catch (error) {
    say($("applications-error"), errorText(error));
  }
  setBusy(list, false);
}

function flagItem(flag) {
  const text = t("flag_item", { unit: orgName(flag.org_id), time: formatTime(flag.raised_at), id: flag.application_id });
  const why = flag.decision && flag.decision.explanation;
  return el("li", {}, text, why ? el("span", { class: "hint block" }, why) : null);
}

async function loadFlags() {
  const list = $("flags");
  try {
    const body = await api("GET", `/api/v1/orgs/${unit.id}/eligibility-flags`);
    // The API keeps a flag after its approval is revoked; only flags of approvals that still hold matter.
    const flags = body.flags.filter((flag) => !["revoked", "rejected"].includes(statusOf.get(flag.application_id)));
    list.replaceChildren(...flags.map(flagItem));
    $("flags-empty").hidden = flags.length > 0;
    say($("flags-error"), "");
  } catch (error) {
    say($("flags-error"), errorText(error));
  }
  setBusy(list, false);
}

/** Applications first: the flags are filtered by their applications' status. */
export async function loadApplicationsAndFlags() {
  if (!can("read-applications")) return;
  await loadApplications();
  await loadFlags();
}

async function applicationsChanged(id, message) {
  say($("applications-status"), message);
  await Promise.all([loadApplicationsAndFlags(), pilotChanged()]);
  $(`application-${id}-title`)?.focus();
}

/** Wires the apply form; `onPilotChange` reloads the unit's pilot status after a decision. */
export function wireApplications(onPilotChange) {
  pilotChanged = onPilotChange;
  const form = $("apply");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("apply-error");
    say(error, "");
    say($("apply-status"), "");
    await submitting(form, async () => {
      try {
        const json = { kind: $("apply-kind").value };
        const application = await api("POST", `/api/v1/orgs/${unit.id}/pilot-applications`, { json });
        say($("apply-status"), t("applied", { id: application.id }));
        await loadApplicationsAndFlags();
      } catch (failure) {
        say(error, errorText(failure));
      }
    });
  });
}
