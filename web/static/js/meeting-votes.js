// A meeting's votes on its page (issue 30): each with how it is taken, its state and, once closed, its
// result as the API words it. In session the unit's leaders open a vote (a show of hands first in person)
// and enter the counts of a show of hands or a paper ballot; the API checks them and words any refusal.
import { api, el, errorText, say, setBusy, t as pageText } from "./common.js";

const $ = (id) => document.getElementById(id);
const node = $("page-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return pageText(key, params);
  return String(messages[key]).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const section = $("votes-section");
const meetingId = Number(($("meeting") || {}).dataset?.meetingId);
const state = { votes: [] };

function openCounted() {
  return state.votes.find((vote) => vote.status === "open" && vote.mode && vote.mode !== "electronic") || null;
}

function draw() {
  const list = $("votes-list");
  list.replaceChildren(
    ...state.votes.map((vote) =>
      el(
        "li",
        { "data-vote-id": vote.id, "data-mode": vote.mode || "electronic", "data-status": vote.status },
        el("p", { class: "question" }, vote.question),
        el("p", { class: "vote-mode" }, t("vote_mode", { mode: vote.mode_text || vote.mode || "" })),
        el("p", { class: "vote-state" }, vote.status === "open" ? t("vote_open") : t("vote_closed")),
        vote.result ? el("p", { class: "explanation" }, vote.result.explanation) : null,
      ),
    ),
  );
  $("votes-empty").hidden = state.votes.length > 0;
  const form = $("meeting-counts-form");
  if (form) {
    const counted = openCounted();
    if (form.hidden === Boolean(counted)) {
      form.hidden = !counted;
      for (const id of ["meeting-counts-for", "meeting-counts-against", "meeting-counts-abstain", "meeting-counts-by"]) {
        $(id).value = "";
      }
    }
    $("meeting-vote-open").disabled = state.votes.some((vote) => vote.status === "open");
  }
}

async function load() {
  setBusy($("votes-list"), true);
  try {
    const listed = await api("GET", `/api/v1/meetings/${meetingId}/votes`);
    state.votes = listed.votes || [];
    draw();
  } catch (error) {
    say($("votes-error"), errorText(error));
  } finally {
    setBusy($("votes-list"), false);
  }
}

async function submit(button, call, done) {
  say($("votes-error"), "");
  say($("votes-status"), "");
  button.disabled = true;
  try {
    await call();
    say($("votes-status"), done);
    await load();
  } catch (error) {
    say($("votes-error"), errorText(error));
  } finally {
    button.disabled = false;
    draw();
  }
}

function openVote(event) {
  event.preventDefault();
  const question = $("meeting-vote-question").value.trim();
  if (!question) {
    $("meeting-vote-question").focus();
    return;
  }
  const json = { question, mode: $("meeting-vote-mode").value };
  submit($("meeting-vote-open"), async () => {
    await api("POST", `/api/v1/meetings/${meetingId}/votes`, { json });
    $("meeting-vote-question").value = "";
  }, t("vote_opened_msg"));
}

function enterCounts(event) {
  event.preventDefault();
  const vote = openCounted();
  if (!vote) return;
  // Sent as typed: the API checks the counts (R-VOTE-2, R-VOTE-4) and says what is wrong.
  const number = (id) => {
    const raw = $(id).value.trim();
    return raw === "" ? 0 : Number(raw);
  };
  const names = $("meeting-counts-by")
    .value.split(",")
    .map((name) => name.trim())
    .filter((name) => name);
  const json = {
    for: number("meeting-counts-for"),
    against: number("meeting-counts-against"),
    abstain: number("meeting-counts-abstain"),
  };
  if (names.length) json.counted_by = names;
  submit($("meeting-counts-save"), () => api("POST", `/api/v1/votes/${vote.id}/counts`, { json }), t("counts_saved"));
}

if (section) {
  if ($("meeting-vote-form")) {
    $("meeting-vote-form").addEventListener("submit", openVote);
    $("meeting-counts-form").addEventListener("submit", enterCounts);
  }
  load();
}
