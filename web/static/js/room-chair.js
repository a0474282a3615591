// The chair's controls (docs/api.md "Running the meeting" and "Votes"): the current agenda item, the floor,
// opening and closing a vote. Everyone sees the current item (the `agenda` push) and who has the floor.
import { api, el, errorText, say } from "./common.js";
import { $, showAgenda, t } from "./room-panels.js";
import { onVoteChange, shownVote } from "./room-votes.js";

const state = {
  meetingId: null,
  selfId: null,
  isChair: false,
  agenda: { items: [], current: null },
  hands: [],
  participants: [],
  floor: null,
};

function setAgenda(agenda) {
  state.agenda = { items: agenda.items || [], current: typeof agenda.current === "number" ? agenda.current : null };
  showAgenda(state.agenda);
  drawAgendaButtons();
}

function setFloor(floor) {
  state.floor = floor && floor.member_id ? floor : null;
  say($("floor"), state.floor ? t("floor_now", { name: state.floor.full_name }) : t("floor_none"));
  $("floor").dataset.memberId = state.floor ? String(state.floor.member_id) : "";
  $("floor-end").disabled = !state.floor;
}

function drawAgendaButtons() {
  const { items, current } = state.agenda;
  $("chair-agenda").replaceChildren(
    ...items.map((item, index) => {
      const button = el(
        "button",
        { type: "button", class: "outline small", "aria-pressed": current === index ? "true" : "false" },
        t("start_item", { number: index + 1, title: item.title }),
      );
      button.addEventListener("click", () => moveTo(index));
      return button;
    }),
  );
  const next = current === null ? 0 : current + 1;
  $("chair-next").disabled = next >= items.length;
}

function drawFloorChoices() {
  const first = state.hands[0];
  const button = $("floor-first");
  button.hidden = !first;
  if (first) {
    say(button, t("floor_give_first", { name: first.full_name }));
    button.dataset.memberId = String(first.member_id);
  }
  const select = $("floor-member");
  const chosen = select.value;
  select.replaceChildren(
    ...state.participants.map((person) =>
      el("option", { value: person.member_id }, person.online || person.on_site ? person.full_name : `${person.full_name} (${t("offline")})`),
    ),
  );
  if (chosen && state.participants.some((person) => String(person.member_id) === chosen)) select.value = chosen;
}

function drawVoteControls(vote) {
  const close = $("vote-close");
  const open = vote && vote.status === "open";
  // A show of hands or a paper ballot is closed by entering its counts (POST /votes/{id}/counts).
  const counted = open && vote.mode && vote.mode !== "electronic";
  close.hidden = !open || counted;
  if (open) say(close, t("vote_close", { question: vote.question }));
  const form = $("counts-form");
  if (form.hidden === Boolean(counted)) {
    form.hidden = !counted;
    if (counted) {
      for (const id of ["counts-for", "counts-against", "counts-abstain", "counts-by"]) $(id).value = "";
      form.dataset.mode = vote.mode;
    }
  }
  $("vote-open").disabled = Boolean(open);
}

async function enterCounts(event) {
  event.preventDefault();
  const vote = shownVote();
  if (!vote || vote.status !== "open") return;
  // Sent as typed: the server checks the counts (R-VOTE-2, R-VOTE-4) and says in words what is wrong.
  const number = (id) => {
    const raw = $(id).value.trim();
    return raw === "" ? 0 : Number(raw);
  };
  const names = $("counts-by")
    .value.split(",")
    .map((name) => name.trim())
    .filter((name) => name);
  const json = { for: number("counts-for"), against: number("counts-against"), abstain: number("counts-abstain") };
  if (names.length) json.counted_by = names;
  const closed = await act($("counts-save"), () => api("POST", `/api/v1/votes/${vote.id}/counts`, { json }));
  if (closed) say($("chair-message"), t("counts_saved"));
}

async function act(button, call) {
  say($("chair-error"), "");
  say($("chair-message"), "");
  if (button) button.disabled = true;
  try {
    return await call();
  } catch (error) {
    say($("chair-error"), errorText(error));
    return null;
  } finally {
    if (button) button.disabled = false;
    drawAgendaButtons();
    drawVoteControls(shownVote());
    if (!state.floor) $("floor-end").disabled = true;
  }
}

async function moveTo(index) {
  const agenda = await act(null, () => api("POST", `/api/v1/meetings/${state.meetingId}/agenda/current`, { json: { index } }));
  if (agenda) setAgenda(agenda);
}

async function giveFloor(memberId, button) {
  const floor = await act(button, () =>
    api("POST", `/api/v1/meetings/${state.meetingId}/floor`, { json: { member_id: memberId } }),
  );
  if (floor) setFloor(floor);
}

async function openVote(event) {
  event.preventDefault();
  const question = $("vote-question-input").value.trim();
  if (!question) {
    $("vote-question-input").focus();
    return;
  }
  const body = { question, kind: $("vote-kind").value, mode: $("vote-mode-input").value };
  const reason = $("vote-override").value.trim();
  if (!$("override-field").hidden && reason) body.override_reason = reason;
  say($("chair-error"), "");
  $("vote-open").disabled = true;
  try {
    await api("POST", `/api/v1/meetings/${state.meetingId}/votes`, { json: body });
    say($("chair-message"), t("vote_opened_msg"));
    $("vote-question-input").value = "";
    $("vote-override").value = "";
    $("override-field").hidden = true;
  } catch (error) {
    say($("chair-error"), errorText(error));
    if (error.code === "not_quorate") {
      $("override-field").hidden = false;
      say($("chair-message"), t("override_needed"));
      $("vote-override").focus();
    }
  } finally {
    drawVoteControls(shownVote());
  }
}

async function closeVote() {
  const vote = shownVote();
  if (!vote || vote.status !== "open") return;
  await act($("vote-close"), () => api("POST", `/api/v1/votes/${vote.id}/close`, { json: {} }));
}

export function listen(socket) {
  socket.on("agenda", setAgenda);
  socket.on("floor", setFloor);
  socket.on("hands", ({ hands }) => {
    state.hands = hands || [];
    drawFloorChoices();
  });
  socket.on("presence", (presence) => {
    state.participants = presence.participants || [];
    drawFloorChoices();
  });
}

export async function joined(reply, { meetingId }) {
  const { meeting, agenda, hands, presence } = reply.state;
  state.meetingId = meetingId;
  state.selfId = reply.self.member_id;
  state.isChair = Boolean(reply.self.is_chair) || reply.self.member_id === meeting.chair_id;
  state.hands = hands || [];
  state.participants = (presence && presence.participants) || [];
  $("chair-panel").hidden = !state.isChair;
  setAgenda({ items: agenda.items, current: agenda.current });
  setFloor(null);
  drawFloorChoices();
  drawVoteControls(shownVote());
  // The join answer does not say which item is current nor who speaks: ask the REST API.
  try {
    const [full, speeches] = await Promise.all([
      api("GET", `/api/v1/meetings/${meetingId}`),
      api("GET", `/api/v1/meetings/${meetingId}/speeches`),
    ]);
    if (typeof full.current_item === "number" && state.agenda.current === null) {
      setAgenda({ items: state.agenda.items, current: full.current_item });
    }
    const speaking = (speeches.speeches || []).filter((speech) => !speech.ended_at).pop();
    if (speaking && !state.floor) setFloor({ ...speaking, since: speaking.started_at });
  } catch {
    // Only the late joiner's view of the current item is missing; the next push brings it.
  }
}

function start() {
  $("chair-next").addEventListener("click", () => {
    const next = state.agenda.current === null ? 0 : state.agenda.current + 1;
    if (next < state.agenda.items.length) moveTo(next);
  });
  $("floor-first").addEventListener("click", (event) => giveFloor(Number(event.currentTarget.dataset.memberId), event.currentTarget));
  $("floor-give").addEventListener("click", (event) => {
    const chosen = $("floor-member").value;
    if (chosen) giveFloor(Number(chosen), event.currentTarget);
  });
  $("floor-end").addEventListener("click", (event) => giveFloor(null, event.currentTarget));
  $("vote-form").addEventListener("submit", openVote);
  $("vote-close").addEventListener("click", closeVote);
  $("counts-form").addEventListener("submit", enterCounts);
  onVoteChange(drawVoteControls);
}

start();
