// The vote panel for everyone (docs/api.md "Votes"): the open vote's question and three buttons that send
// the `ballot` socket event, the ballots counted so far, and the decision when the vote closes.
import { api, el, errorText, say } from "./common.js";
import { $, t } from "./room-panels.js";
import { flagPane, showPane } from "./room-stage.js";

const ACK_TIMEOUT_MS = 10000;
const state = { socket: null, selfId: null, vote: null, listeners: new Set(), choices: new Map() };

/** The vote shown (open, or the last one closed), or null. */
export function shownVote() {
  return state.vote;
}

/** Called with the shown vote whenever it changes (the chair's panel follows it). */
export function onVoteChange(listener) {
  state.listeners.add(listener);
}

export function outcomeText(outcome) {
  return outcome === true || outcome === "passed" ? t("outcome_passed") : t("outcome_failed");
}

export function countsText(counts = {}) {
  return t("vote_counts", {
    for: counts.for ?? 0,
    against: counts.against ?? 0,
    abstain: counts.abstain ?? 0,
    base: counts.voting_base ?? "?",
    needed: counts.needed ?? "?",
  });
}

/** This tab's own ballot, kept so that a reload still names it (the server keeps ballots secret). */
function rememberChoice(voteId, choice) {
  state.choices.set(voteId, choice);
  try {
    window.sessionStorage.setItem(`cellmeet.vote.${voteId}`, choice);
  } catch {
    // Storage refused: only this page's view names the choice.
  }
}

function recalledChoice(voteId) {
  if (state.choices.has(voteId)) return state.choices.get(voteId);
  try {
    const choice = window.sessionStorage.getItem(`cellmeet.vote.${voteId}`);
    if (choice) state.choices.set(voteId, choice);
    return choice;
  } catch {
    return null;
  }
}

function setVote(vote) {
  const previous = state.vote;
  if (!vote) {
    state.vote = null;
  } else if (previous && previous.id === vote.id && previous.status === "closed" && vote.status === "open") {
    return; // a late `vote-progress` after the close
  } else {
    if (!previous || previous.id !== vote.id) {
      say($("vote-message"), "");
      say($("vote-error"), "");
    }
    state.vote = vote;
  }
  draw();
  for (const listener of state.listeners) listener(state.vote);
}

function draw() {
  const vote = state.vote;
  const panel = $("vote-panel");
  panel.dataset.state = vote ? vote.status : "none";
  $("vote-none").hidden = Boolean(vote);
  $("vote-current").hidden = !vote;
  if (!vote) return;
  panel.dataset.voteId = String(vote.id);
  const kind = t(`vote_kind_${vote.kind}`);
  say($("vote-state"), `${vote.status === "open" ? t("vote_open") : t("vote_closed")} · ${kind}`);
  say($("vote-question"), vote.question);
  // How the vote is taken (issue 30): a show of hands or paper ballot takes no ballot in the room.
  const ballots = !vote.mode || vote.mode === "electronic";
  panel.dataset.mode = vote.mode || "electronic";
  say($("vote-mode"), vote.mode_text ? t("vote_mode", { mode: vote.mode_text }) : "");
  $("vote-counted-hint").hidden = ballots || vote.status !== "open";
  const voted = (vote.voted || []).includes(state.selfId);
  const mine = voted ? recalledChoice(vote.id) : null;
  for (const button of panel.querySelectorAll("[data-choice]")) {
    button.hidden = vote.status !== "open" || !ballots;
    button.disabled = voted;
    if (mine) button.setAttribute("aria-pressed", button.dataset.choice === mine ? "true" : "false");
    else button.removeAttribute("aria-pressed");
  }
  // The confirmation names the choice: "You voted: For".
  const line = $("vote-mine");
  line.hidden = !mine;
  say(line, mine ? t("vote_mine", { choice: t(`vote_choice_${mine}`) }) : "");
  if (voted && vote.status === "open" && !$("vote-message").textContent) say($("vote-message"), t("vote_already"));
  say($("vote-progress"), ballots ? t("vote_ballots", { ballots: (vote.counts && vote.counts.ballots) || 0 }) : "");
  const box = $("vote-result");
  const result = vote.status === "closed" ? vote.result : null;
  box.hidden = !result;
  if (!result) {
    $("reserve-form").hidden = true;
    return;
  }
  const field = (name) => box.querySelector(`[data-field=${name}]`);
  const passed = result.outcome === true || result.outcome === "passed";
  box.dataset.outcome = passed ? "passed" : "failed";
  field("outcome").replaceChildren(
    el("span", { class: passed ? "badge ok" : "badge no" }, `${passed ? "✓" : "✗"} ${outcomeText(result.outcome)}`),
  );
  say(field("counts"), countsText(result.counts));
  say(field("explanation"), result.explanation);
  say(field("rule"), t("rule_id", { rule: result.rule_set ? `${result.rule} · ${result.rule_set}` : result.rule }));
  drawReserve(vote, result);
}

/**
 * After the close, a member who did not vote for may reserve their opinion (R-VOTE-4). The room knows
 * this page's own ballot; after a reload it offers the form when anyone voted otherwise, and the
 * server decides.
 */
function drawReserve(vote, result) {
  const form = $("reserve-form");
  const counts = result.counts || {};
  const mine = state.choices.get(vote.id);
  const voted = (vote.voted || []).includes(state.selfId);
  const others = (counts.against || 0) + (counts.abstain || 0) > 0;
  const offered = mine ? mine !== "for" : voted && others;
  if (form.hidden === offered) {
    form.hidden = !offered;
    if (offered) {
      say($("reserve-message"), "");
      say($("reserve-error"), "");
      const recorded = (vote.reserved_opinions || []).find((opinion) => opinion.member_id === state.selfId);
      $("reserve-text").value = recorded ? recorded.opinion : "";
    }
  }
}

async function reserve(event) {
  event.preventDefault();
  const vote = state.vote;
  const text = $("reserve-text").value.trim();
  say($("reserve-message"), "");
  say($("reserve-error"), "");
  if (!text) {
    say($("reserve-error"), t("reserve_empty"));
    $("reserve-text").focus();
    return;
  }
  $("reserve-save").disabled = true;
  try {
    await api("POST", `/api/v1/votes/${vote.id}/reserved-opinions`, { json: { opinion: text } });
    say($("reserve-message"), t("reserve_saved"));
  } catch (error) {
    say($("reserve-error"), errorText(error));
  } finally {
    $("reserve-save").disabled = false;
  }
}

async function cast(choice, button) {
  const vote = state.vote;
  if (!vote || vote.status !== "open" || !state.socket) return;
  const buttons = [...$("vote-panel").querySelectorAll("[data-choice]")];
  for (const other of buttons) other.disabled = true;
  say($("vote-error"), "");
  say($("vote-message"), "");
  let reply;
  try {
    reply = await state.socket.timeout(ACK_TIMEOUT_MS).emitWithAck("ballot", { vote_id: vote.id, choice });
  } catch {
    // No answer: the ballot may or may not be counted; the server refuses a second one (already_voted).
    say($("vote-error"), t("reconnecting"));
    for (const other of buttons) other.disabled = false;
    return;
  }
  if (reply.ok) {
    rememberChoice(vote.id, choice);
    say($("vote-message"), t("vote_sent"));
    button.setAttribute("aria-pressed", "true");
    const counted = reply.vote || { ...vote, voted: [...(vote.voted || []), state.selfId] };
    if (reply.vote || state.vote === vote) setVote(counted);
    return;
  }
  const { message, rule } = reply.error;
  say($("vote-error"), rule && !message.includes(rule) ? `${message} (${rule})` : message);
  const refusedForGood = reply.error.details && reply.error.details.reason;
  for (const other of buttons) other.disabled = Boolean(refusedForGood);
}

export function listen(socket) {
  socket.on("vote-opened", (vote) => {
    for (const button of $("vote-panel").querySelectorAll("[data-choice]")) button.removeAttribute("aria-pressed");
    setVote(vote);
    // On a phone the vote's panel opens by itself: a member should not miss it.
    showPane("vote");
    flagPane("vote", false);
  });
  socket.on("vote-progress", (vote) => {
    if (!state.vote || state.vote.id === vote.id) setVote(vote);
  });
  socket.on("vote-closed", setVote);
}

export async function joined(reply, { meetingId, socket }) {
  state.socket = socket;
  state.selfId = reply.self.member_id;
  try {
    const listed = await api("GET", `/api/v1/meetings/${meetingId}/votes`);
    const all = listed.votes || listed.items || (Array.isArray(listed) ? listed : []);
    const open = all.find((vote) => vote.status === "open");
    setVote(open || all[all.length - 1] || null);
    if (open && !(open.voted || []).includes(state.selfId)) showPane("vote");
  } catch (error) {
    say($("vote-error"), errorText(error));
  }
}

function start() {
  $("reserve-form").addEventListener("submit", reserve);
  for (const button of $("vote-panel").querySelectorAll("[data-choice]")) {
    button.addEventListener("click", () => cast(button.dataset.choice, button));
  }
}

start();
