// The room's panels, drawn from what the /room socket pushes: the meeting's status, the quorum banner,
// the participants with live attendance, the queue of raised hands and the agenda. Text only.
import { el, formatTime, label, say, t as pageText } from "./common.js";
import { icon, setButton } from "./room-icons.js";

const node = document.getElementById("room-messages");
const messages = node ? JSON.parse(node.textContent) : {};

/** A message of the room (falling back to the page's catalogue), with {name} placeholders filled. */
export function t(key, params = {}) {
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return pageText(key, params);
  return messages[key].replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export const $ = (id) => document.getElementById(id);

/** Why a browser call failed, as the browser says it. */
export function reason(error) {
  return (error && (error.message || error.name)) || t("unknown_reason");
}

export function showMeetingStatus(meeting) {
  const target = $("meeting-status");
  target.dataset.status = meeting.status;
  // The quorum badge turns red only when it matters: not quorate while the meeting is open.
  document.getElementById("room").dataset.meeting = meeting.status;
  if (meeting.status === "open") say(target, t("status_open", { time: formatTime(meeting.opened_at) }));
  else if (meeting.status === "closed") say(target, t("status_closed", { time: formatTime(meeting.closed_at) }));
  else say(target, t("status_scheduled"));
}

export function showQuorum(decision) {
  const banner = $("quorum-banner");
  const field = (name) => banner.querySelector(`[data-field=${name}]`);
  const counts = decision.counts || {};
  banner.dataset.outcome = decision.outcome ? "true" : "false";
  field("outcome").replaceChildren(
    el(
      "span",
      { class: decision.outcome ? "badge ok" : "badge no" },
      decision.outcome ? `✓ ${t("quorate")}` : `✗ ${t("not_quorate")}`,
    ),
  );
  say(
    field("counts"),
    t("quorum_counts", { present: counts.present_official, base: counts.voting_base, needed: counts.needed }),
  );
  say(field("short"), `${counts.present_official ?? "?"}/${counts.voting_base ?? "?"}`);
  say(field("explanation"), decision.explanation);
  say(field("rule"), t("rule_id", { rule: decision.rule_set ? `${decision.rule} · ${decision.rule_set}` : decision.rule }));
}

function whereabouts(participant) {
  if (participant.online && participant.on_site) return `${t("online")}, ${t("on_site")}`;
  if (participant.online) return t("online");
  if (participant.on_site) return t("on_site");
  return t("offline");
}

/** Everyone summoned, with whether they are connected or in the room and their attendance so far. */
export function showParticipants(presence, { selfId, chairId, hands, speaking, quality = new Map() }) {
  const list = $("participants");
  const raised = new Set(hands.map((hand) => hand.member_id));
  const people = presence.participants || [];
  list.replaceChildren(
    ...people.map((person) => {
      const name = person.member_id === selfId ? t("you", { name: person.full_name }) : person.full_name;
      const notes = [label("standing", person.standing), whereabouts(person), t(`attendance_${person.status}`)];
      if (person.member_id === chairId) notes.unshift(t("chair"));
      return el(
        "li",
        {
          "data-member-id": person.member_id,
          "data-online": person.online ? "true" : "false",
          "data-status": person.status,
          "data-speaking": speaking.has(person.member_id) ? "true" : "false",
          class: person.online || person.on_site ? "here" : "away",
        },
        el("span", { class: "name" }, name),
        raised.has(person.member_id) ? el("span", { class: "hand-mark" }, " ", icon("hand"), el("span", { class: "visually-hidden" }, t("hand_raised"))) : null,
        speaking.has(person.member_id) ? el("span", { class: "speaking-mark" }, t("speaking")) : null,
        quality.has(person.member_id)
          ? el("span", { class: "quality-mark", "data-quality": quality.get(person.member_id) }, t(`quality_${quality.get(person.member_id)}`))
          : null,
        el("span", { class: "notes" }, notes.join(" · ")),
      );
    }),
  );
  const here = people.filter((person) => person.online || person.on_site).length;
  say($("participants-count"), `(${here}/${people.length})`);
}

/** The speaking queue, in the order hands were raised; the chair may lower anyone's hand. */
export function showHands(hands, { selfId, isChair, lower }) {
  const list = $("hands");
  list.replaceChildren(
    ...hands.map((hand) => {
      const item = el(
        "li",
        { "data-member-id": hand.member_id },
        el("span", { class: "name" }, hand.member_id === selfId ? t("you", { name: hand.full_name }) : hand.full_name),
        el("span", { class: "notes" }, t("hand_raised_at", { time: formatTime(hand.raised_at) })),
      );
      if (isChair && hand.member_id !== selfId) {
        const button = el("button", { type: "button", class: "outline small" }, t("hand_lower_other", { name: hand.full_name }));
        button.addEventListener("click", () => lower(hand.member_id, button));
        item.append(" ", button);
      }
      return item;
    }),
  );
  $("hands-empty").hidden = hands.length > 0;
  const mine = hands.some((hand) => hand.member_id === selfId);
  const button = $("hand");
  button.setAttribute("aria-pressed", mine ? "true" : "false");
  setButton(button, "hand", mine ? t("hand_lower") : t("hand_raise"));
}

/** The current item when one has started, and the whole agenda either way. */
export function showAgenda(agenda) {
  const items = (agenda && agenda.items) || [];
  let current = agenda ? agenda.current : null;
  if (typeof current === "number") current = items[current] ? { ...items[current], index: current } : null;
  say($("agenda-current"), current ? current.title : items.length ? t("agenda_current_none") : t("agenda_empty"));
  $("agenda").replaceChildren(
    ...items.map((item, index) =>
      el("li", { "aria-current": current && current.index === index ? "step" : null }, item.title),
    ),
  );
}
