// One unit's page: pilot status and eligibility explained, and the auditors' reads of the unit; the
// register, its party groups and the applications have their own modules. Everything shown comes from the REST API, as text.
import { api, el, errorText, formatDay, formatTime, say, setBusy, t } from "./common.js";
import { loadApplicationsAndFlags, wireApplications } from "./applications.js";
import { wireGroups } from "./groups.js";
import { loadMembers, wireRegister } from "./register.js";
import { $, can, loadTree, unit } from "./unit.js";
import { startMeetings } from "./unit-meetings.js";

function approvalText(status) {
  if (!status || !status.approved) return t("pilot_not_approved");
  return t("pilot_approved", { decision_no: status.decision_no, valid_to: formatDay(status.valid_to) });
}

async function loadPilot() {
  try {
    const { pilot } = await api("GET", `/api/v1/orgs/${unit.id}`);
    say($("pilot-online"), approvalText(pilot.online));
    say($("pilot-group"), approvalText(pilot.group));
    // A flag matters only while the approval it is about still holds (the API keeps it after a revocation).
    const flagged = pilot.online.approved && pilot.flags && pilot.flags.length > 0;
    say($("pilot-flags"), flagged ? t("pilot_flagged") : "");
    say($("pilot-error"), "");
  } catch (error) {
    say($("pilot-error"), errorText(error));
  }
  setBusy($("pilot"), false);
}

function showDecision(card, decision, yesKey, noKey) {
  const field = (name) => card.querySelector(`[data-field=${name}]`);
  const badge = decision.outcome ? `✓ ${t(yesKey)}` : `✗ ${t(noKey)}`;
  field("outcome").replaceChildren(el("span", { class: decision.outcome ? "badge ok" : "badge no" }, badge));
  say(field("explanation"), decision.explanation);
  const counts = field("counts");
  counts.replaceChildren();
  for (const [name, value] of Object.entries(decision.counts || {})) {
    counts.append(el("div", {}, el("dt", {}, t(`count_${name}`)), el("dd", {}, String(value))));
  }
  counts.append(el("div", {}, el("dt", {}, t("rule")), el("dd", {}, decision.rule)));
  if (decision.rule_set) counts.append(el("div", {}, el("dt", {}, t("rule_set")), el("dd", {}, decision.rule_set)));
  say(field("error"), "");
}

async function loadDecision(id, path, yesKey, noKey) {
  const card = $(id);
  try {
    showDecision(card, await api("GET", path), yesKey, noKey);
  } catch (error) {
    say(card.querySelector("[data-field=outcome]"), "");
    say(card.querySelector("[data-field=error]"), errorText(error));
  }
  setBusy(card, false);
}

function loadEligibility() {
  if (!can("read-eligibility")) return Promise.resolve();
  return Promise.all([
    loadDecision("eligibility", `/api/v1/orgs/${unit.id}/eligibility`, "outcome_yes", "outcome_no"),
    loadDecision("group-eligibility", `/api/v1/orgs/${unit.id}/group-eligibility`, "group_yes", "group_no"),
  ]);
}

/** One row of a table whose cells carry their column's name (the phone layout shows it). */
function row(table, values) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  return el(
    "tr",
    {},
    ...values.map((value, index) => el("td", { "data-label": names[index] }, value)),
  );
}

/** The latest reads of this unit's records by auditors (GET /api/v1/orgs/{id}/access-log), newest first. */
async function loadAccessLog() {
  if (!can("read-access-log")) return;
  const section = $("access-log-section");
  const rows = $("access-log");
  section.hidden = false;
  try {
    const { entries } = await api("GET", `/api/v1/orgs/${unit.id}/access-log`);
    const table = $("access-log-table");
    rows.replaceChildren(
      ...entries.map((entry) =>
        // In words ("các biểu quyết của buổi sinh hoạt «…» ngày 15/12/2026"), then the request itself.
        row(table, [
          formatTime(entry.at),
          entry.actor.name,
          el("span", {}, el("span", { class: "read-what" }, entry.what), " ", el("code", {}, `${entry.method} ${entry.path}`)),
        ]),
      ),
    );
    $("access-log-empty").hidden = entries.length > 0;
    say($("access-log-error"), "");
  } catch (error) {
    say($("access-log-error"), errorText(error));
  }
  setBusy(rows, false);
}

async function start() {
  const registerChanged = () => Promise.all([loadMembers(), loadEligibility(), loadPilot()]);
  wireRegister(registerChanged);
  wireGroups(registerChanged);
  wireApplications(loadPilot);
  try {
    await loadTree();
  } catch (error) {
    say($("pilot-error"), errorText(error));
  }
  await Promise.all([
    loadPilot(),
    loadEligibility(),
    loadMembers(),
    loadApplicationsAndFlags(),
    loadAccessLog(),
    startMeetings(),
  ]);
  unit.root.dataset.ready = "true";
}

start();
