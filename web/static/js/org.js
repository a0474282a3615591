// One unit's page: pilot status and eligibility explained; the register and the applications have their
// own modules. Everything shown comes from the REST API, as text.
import { api, el, errorText, formatDay, say, setBusy, t } from "./common.js";
import { loadApplicationsAndFlags, wireApplications } from "./applications.js";
import { fillPartyGroups, loadMembers, wireRegister } from "./register.js";
import { $, can, loadTree, unit } from "./unit.js";

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

async function start() {
  wireRegister(() => Promise.all([loadMembers(), loadEligibility(), loadPilot()]));
  wireApplications(loadPilot);
  try {
    await loadTree();
    fillPartyGroups();
  } catch (error) {
    say($("pilot-error"), errorText(error));
  }
  await Promise.all([loadPilot(), loadEligibility(), loadMembers(), loadApplicationsAndFlags()]);
  unit.root.dataset.ready = "true";
}

start();
