// A meeting's minutes as the document reads (GET .../minutes), with the chair's adoption, the signatures and
// the addenda, and a member's reserved opinions (R-VOTE-4) while the minutes are a draft. Everything from
// the API is shown as text; the API decides every action and words its refusals.
import { api, el, errorText, formatTime, say, setBusy, t as pageText } from "./common.js";

const $ = (id) => document.getElementById(id);
const node = $("page-messages");
const messages = node ? JSON.parse(node.textContent) : {};

function t(key, params = {}) {
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return pageText(key, params);
  return String(messages[key]).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const from = (table, value) => (messages[table] && messages[table][value]) || String(value ?? "");

const root = $("minutes-page");
const meetingId = Number(root.dataset.meetingId);
const can = (ability) => root.hasAttribute(`data-can-${ability}`);
const me = root.dataset.memberId ? Number(root.dataset.memberId) : null;

/** A local ISO time of the document ("2026-12-05T14:05:00+07:00") as "14:05 05/12/2026", its zone named. */
function localTime(iso, zone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
  if (!match) return iso ? String(iso) : "";
  const [, year, month, day, hour, minute] = match;
  return t("time_in_zone", { time: `${hour}:${minute} ${day}/${month}/${year}`, zone });
}

function fact(term, ...values) {
  return el("div", {}, el("dt", {}, term), el("dd", {}, ...values));
}

function names(list, format) {
  if (!list || list.length === 0) return t("none");
  return el("ul", { class: "names" }, ...list.map((entry) => el("li", {}, format(entry))));
}

function person(who) {
  if (!who || !who.full_name) return t("nobody");
  return who.position ? t("person", { name: who.full_name, position: who.position }) : who.full_name;
}

function paragraphs(text) {
  if (!text) return [el("p", { class: "hint" }, t("not_written"))];
  return text.split(/\n{2,}/).map((part) => el("p", { class: "written" }, part));
}

function section(id, title, ...children) {
  return el("section", { "aria-labelledby": id }, el("h2", { id }, title), ...children);
}

function renderFacts(doc) {
  const zone = doc.timezone;
  const list = el("dl", { class: "facts minutes-facts", id: "doc-facts" });
  list.append(fact(t("starts_at"), localTime(doc.starts_at, zone)));
  if (doc.opened_at) list.append(fact(t("opened_at"), localTime(doc.opened_at, zone)));
  if (doc.closed_at) list.append(fact(t("closed_at"), localTime(doc.closed_at, zone)));
  list.append(fact(t("place"), doc.place || "—"));
  list.append(fact(t("chair"), person(doc.chair)));
  list.append(fact(t("minute_taker"), person(doc.minute_taker)));
  const totals = doc.totals || {};
  list.append(fact(t("totals"), t("totals_text", totals)));
  const present = doc.present || {};
  list.append(
    fact(
      t("present"),
      el("span", { id: "doc-present-count" }, t("present_text", present)),
      names(present.names, (name) => name),
    ),
  );
  list.append(
    fact(
      t("absent_excused"),
      names(doc.absent_excused, (entry) => (entry.reason ? `${entry.full_name}: ${entry.reason}` : entry.full_name)),
    ),
  );
  list.append(fact(t("absent_unexcused"), names(doc.absent_unexcused, (entry) => entry.full_name)));
  if (doc.quorum_override_reason) list.append(fact(t("override"), doc.quorum_override_reason));
  return list;
}

function duration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  return { minutes: Math.floor(total / 60), seconds: total % 60 };
}

function renderAgenda(doc, fields) {
  const items = (doc.agenda || []).map((item) => {
    const id = `doc-item-${item.index}`;
    const speakers = item.speakers || [];
    return el(
      "li",
      { class: "minutes-item", "aria-labelledby": id },
      el("h3", { id }, t("item_heading", { number: item.index + 1, title: item.title })),
      el("p", { class: "kind" }, from("item_types", item.item_type)),
      speakers.length
        ? el(
            "p",
            { class: "speakers" },
            `${t("speakers")}: `,
            speakers.map((s) => t("speaker", { name: s.full_name, ...duration(s.seconds) })).join("; "),
          )
        : el("p", { class: "hint" }, t("no_speakers")),
      el("div", { class: "substance", role: "group", "aria-label": t("substance") }, ...paragraphs(fields[`item:${item.index}`])),
    );
  });
  return el("ol", { class: "minutes-agenda", id: "doc-agenda" }, ...items);
}

function renderVotes(doc) {
  const votes = doc.votes || [];
  if (votes.length === 0) return el("p", { class: "hint" }, t("no_votes"));
  return el(
    "ol",
    { class: "minutes-votes", id: "doc-votes" },
    ...votes.map((vote) => {
      const passed = vote.outcome === "passed";
      const reserved = vote.reserved_opinions || [];
      return el(
        "li",
        { "data-vote-id": vote.id },
        el("p", { class: "question" }, vote.question),
        el(
          "dl",
          { class: "facts" },
          fact(t("vote_kind"), from("vote_kinds", vote.kind)),
          fact(t("method"), vote.method),
          vote.mode ? fact(t("vote_mode"), from("vote_modes", vote.mode)) : null,
          (vote.counted_by || []).length ? fact(t("counted_by"), vote.counted_by.join(", ")) : null,
          vote.override_reason ? fact(t("vote_override"), vote.override_reason) : null,
        ),
        el("p", { class: "vote-counts" }, t("vote_counts", vote.counts || {})),
        el(
          "p",
          { class: "outcome" },
          el("span", { class: passed ? "badge ok" : "badge no" }, passed ? `✓ ${t("outcome_passed")}` : `✗ ${t("outcome_failed")}`),
          " ",
          vote.rule ? `(${vote.rule})` : "",
        ),
        vote.explanation ? el("p", { class: "explanation" }, vote.explanation) : null,
        reserved.length
          ? el(
              "div",
              { class: "reserved" },
              el("p", {}, `${t("reserved")}:`),
              names(reserved, (o) => t("reserved_item", { name: o.full_name, opinion: o.opinion })),
            )
          : null,
      );
    }),
  );
}

function renderSignatures(body) {
  const doc = body.document || {};
  const signed = new Map((body.signatures || []).map((s) => [s.role, s]));
  const line = (role, who) => {
    const signature = signed.get(role);
    return el(
      "div",
      { class: "signature", "data-role": role },
      el("dt", {}, t(role)),
      el(
        "dd",
        {},
        signature
          ? t("signed", { name: signature.full_name, time: formatTime(signature.signed_at) })
          : `${(who && who.full_name) || t("nobody")} — ${t("unsigned")}`,
      ),
    );
  };
  return el("dl", { class: "facts signatures", id: "doc-signatures" }, line("chair", doc.chair), line("minute_taker", doc.minute_taker));
}

function renderAddenda(addenda) {
  return el(
    "ol",
    { class: "addenda", id: "doc-addenda" },
    ...addenda.map((addendum) =>
      el(
        "li",
        {},
        el("p", { class: "written" }, addendum.text),
        el("p", { class: "hint" }, t("addendum_by", { name: addendum.full_name, time: formatTime(addendum.created_at) })),
        el("p", { class: "hint" }, "SHA-256: ", el("code", {}, addendum.hash)),
      ),
    ),
  );
}

function renderStatus(body) {
  const status = $("minutes-status");
  status.dataset.status = body.status;
  if (body.status === "locked") say(status, t("status_locked", { time: formatTime(body.locked_at) }));
  else if (body.status === "adopted") say(status, t("status_adopted", { time: formatTime(body.adoption && body.adoption.adopted_at) }));
  else say(status, t("status_draft"));
  $("draft-mark").hidden = body.status !== "draft";
  $("minutes-hash").hidden = !body.hash;
  say($("minutes-hash-label"), `${t("hash")}:`);
  say($("minutes-hash-value"), body.hash || "");
}

function render(body) {
  const doc = body.document || {};
  const fields = body.fields || {};
  renderStatus(body);
  say($("doc-parent"), doc.unit && doc.unit.parent_name ? doc.unit.parent_name.toUpperCase() : "");
  say($("doc-unit"), doc.unit ? doc.unit.name.toUpperCase() : "");
  say($("doc-number"), doc.number || "");
  say($("doc-date-line"), doc.date_line || "");
  say($("doc-title"), doc.title || "");
  const parts = [renderFacts(doc)];
  if (fields.opening) parts.push(section("doc-opening-title", t("opening"), ...paragraphs(fields.opening)));
  if (fields.guests) parts.push(section("doc-guests-title", t("guests"), ...paragraphs(fields.guests)));
  parts.push(section("doc-agenda-title", t("agenda"), renderAgenda(doc, fields)));
  parts.push(section("doc-votes-title", t("votes"), renderVotes(doc)));
  parts.push(section("doc-conclusions-title", t("conclusions"), ...paragraphs(fields.conclusions)));
  parts.push(section("doc-signatures-title", t("signatures"), renderSignatures(body)));
  if ((body.addenda || []).length) parts.push(section("doc-addenda-title", t("addenda"), renderAddenda(body.addenda)));
  $("doc-body").replaceChildren(...parts);
  setBusy($("minutes-document"), false);
  showActions(body);
}

function signedByMe(body) {
  return me !== null && (body.signatures || []).some((signature) => signature.member_id === me);
}

function showActions(body) {
  const adopt = $("adopt-section");
  if (adopt) {
    adopt.hidden = body.status !== "draft";
    if (!adopt.hidden) loadAdoptionVotes();
  }
  const sign = $("sign-section");
  if (sign) sign.hidden = body.status !== "adopted" || signedByMe(body);
  const addendum = $("addendum-section");
  if (addendum) addendum.hidden = body.status !== "locked";
  const reserve = $("reserve-section");
  if (reserve) {
    if (body.status === "draft") loadReserveForms();
    else {
      reserve.hidden = true;
      $("reserve-forms").replaceChildren();
    }
  }
}

/** The closed votes of the meeting on which this member cast a ballot and someone did not vote for: the
 * ones where the member may be in the minority. Only the server knows each member's choice (it is not
 * shown to anybody); it refuses a member who voted for, in its own words. */
function reservable(votes) {
  return votes.filter(
    (vote) =>
      vote.status === "closed" &&
      (vote.voted || []).includes(me) &&
      Number(vote.counts && vote.counts.against) + Number(vote.counts && vote.counts.abstain) > 0,
  );
}

function reserveForm(vote) {
  const id = `reserve-${vote.id}`;
  const mine = (vote.reserved_opinions || []).find((opinion) => opinion.member_id === me);
  const text = el("textarea", { id, name: "opinion", rows: 3, maxlength: 4000 });
  text.value = mine ? mine.opinion : "";
  const button = el("button", { type: "submit" }, t("reserve_save"));
  const error = el("p", { class: "message error", role: "alert" });
  const form = el(
    "form",
    { class: "stacked reserve-form", method: "post", novalidate: true, "data-vote-id": vote.id },
    el("div", { class: "field" }, el("label", { for: id }, t("reserve_label", { question: vote.question })), text),
    button,
    error,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const opinion = text.value.trim();
    if (!opinion) {
      say(error, t("reserve_empty"));
      text.focus();
      return;
    }
    act(
      button,
      error,
      async () => {
        await api("POST", `/api/v1/votes/${vote.id}/reserved-opinions`, { json: { opinion } });
        return api("GET", `/api/v1/meetings/${meetingId}/minutes`);
      },
      t("reserved_now"),
    );
  });
  return form;
}

async function loadReserveForms() {
  const section = $("reserve-section");
  try {
    const body = await api("GET", `/api/v1/meetings/${meetingId}/votes`);
    const votes = reservable(body.votes || []);
    $("reserve-forms").replaceChildren(...votes.map(reserveForm));
    section.hidden = votes.length === 0;
  } catch {
    section.hidden = true;
  }
}

async function loadAdoptionVotes() {
  const select = $("adopt-vote");
  try {
    const body = await api("GET", `/api/v1/meetings/${meetingId}/votes`);
    const passed = (body.votes || []).filter(
      (vote) => vote.kind === "minutes_adoption" && vote.status === "closed" && vote.result && vote.result.outcome === "passed",
    );
    select.replaceChildren(
      ...passed.map((vote) =>
        el(
          "option",
          { value: vote.id },
          t("adoption_vote", { question: vote.question, id: vote.id, for: vote.counts.for, against: vote.counts.against }),
        ),
      ),
    );
    $("adopt").disabled = passed.length === 0;
    say($("adopt-error"), passed.length === 0 ? t("no_adoption_vote") : "");
  } catch (error) {
    say($("adopt-error"), errorText(error));
  }
}

async function load() {
  try {
    render(await api("GET", `/api/v1/meetings/${meetingId}/minutes`));
    say($("minutes-error"), "");
  } catch (error) {
    say($("minutes-status"), "");
    say($("minutes-error"), errorText(error));
  }
}

async function act(button, errorNode, call, done) {
  say(errorNode, "");
  say($("action-status"), "");
  button.disabled = true;
  try {
    render(await call());
    say($("action-status"), done);
    return true;
  } catch (error) {
    say(errorNode, errorText(error));
    return false;
  } finally {
    button.disabled = false;
  }
}

function wire() {
  $("adopt-form")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const voteId = Number($("adopt-vote").value);
    act($("adopt"), $("adopt-error"), () => api("POST", `/api/v1/meetings/${meetingId}/minutes/adopt`, { json: { vote_id: voteId } }), t("adopted"));
  });
  $("sign")?.addEventListener("click", () => {
    act($("sign"), $("sign-error"), () => api("POST", `/api/v1/meetings/${meetingId}/minutes/sign`, { json: {} }), t("signed_now"));
  });
  $("addendum-form")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("addendum-text").value.trim();
    if (!text) {
      say($("addendum-error"), t("addendum_empty"));
      $("addendum-text").focus();
      return;
    }
    const ok = await act(
      $("add-addendum"),
      $("addendum-error"),
      () => api("POST", `/api/v1/meetings/${meetingId}/minutes/addenda`, { json: { text } }),
      t("addendum_added"),
    );
    if (ok) $("addendum-text").value = "";
  });
}

async function start() {
  wire();
  await load();
  root.dataset.ready = "true";
}

start();
