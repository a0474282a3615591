// A cell's party groups (tổ đảng): each with its leader, deputy and size; for the cell's officers the forms
// to create, rename, name the leader and deputy, dissolve (after a confirmation), and to move a member.
// Everything shown comes from the REST API, as text; the API decides every change.
import { api, el, errorText, say, setBusy, t } from "./common.js";
import { $, can, orgName, unit } from "./unit.js";

let groupsChanged = async () => {};

/** Whether this page lists groups: a cell, to those who read its register. */
export function showsGroups() {
  return unit.kind === "cell" && can("read-members");
}

/** The cell's active groups (GET /api/v1/orgs/{id}/groups), or null where the page lists none. */
export function fetchGroups() {
  return showsGroups() ? api("GET", `/api/v1/orgs/${unit.id}/groups`) : Promise.resolve(null);
}

/** Disables the buttons of `box` while `work` runs. */
async function busy(box, work) {
  const buttons = [...box.querySelectorAll("button")];
  for (const button of buttons) button.disabled = true;
  box.setAttribute("aria-busy", "true");
  try {
    await work();
  } finally {
    for (const button of buttons) button.disabled = false;
    box.removeAttribute("aria-busy");
  }
}

function field(id, text, control) {
  return el("div", { class: "field" }, el("label", { for: id }, text), control);
}

function fact(name, value) {
  return el("div", {}, el("dt", {}, name), el("dd", {}, value));
}

/** A select of the group's members for an office; "" = nobody. */
function officerSelect(id, group, names, holder) {
  const select = el("select", { id }, el("option", { value: "" }, t("no_officer")));
  for (const memberId of group.member_ids) {
    select.append(el("option", { value: memberId, selected: holder?.member_id === memberId }, names.get(memberId) ?? `#${memberId}`));
  }
  return select;
}

function editForm(group, names) {
  const prefix = `group-${group.id}`;
  const name = el("input", { id: `${prefix}-name`, type: "text", value: group.name, maxlength: 200, required: true, autocomplete: "off" });
  const leader = officerSelect(`${prefix}-leader`, group, names, group.leader);
  const deputy = officerSelect(`${prefix}-deputy`, group, names, group.deputy);
  const error = el("p", { class: "message error", role: "alert" });
  const form = el(
    "form",
    { class: "stacked group-form", method: "post", novalidate: true },
    field(`${prefix}-name`, t("group_name"), name),
    field(`${prefix}-leader`, t("group_leader"), leader),
    field(`${prefix}-deputy`, t("group_deputy"), deputy),
    error,
    el("button", { type: "submit" }, t("group_save", { name: group.name })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(error, "");
    const body = {
      name: name.value.trim(),
      leader_id: leader.value ? Number(leader.value) : null,
      deputy_id: deputy.value ? Number(deputy.value) : null,
    };
    await busy(form, async () => {
      try {
        const saved = await api("PATCH", `/api/v1/groups/${group.id}`, { json: body });
        await groupsChanged(t("group_saved", { name: saved.name }));
      } catch (failure) {
        say(error, errorText(failure));
        name.focus();
      }
    });
  });
  return form;
}

/** Dissolving asks first, in the page: what happens to the members and the record is said before. */
function dissolveControls(group) {
  const error = el("p", { class: "message error", role: "alert" });
  const ask = el("button", { type: "button", class: "danger", "aria-expanded": "false" }, t("group_dissolve", { name: group.name }));
  const yes = el("button", { type: "button", class: "danger" }, t("group_dissolve_yes", { name: group.name }));
  const no = el("button", { type: "button", class: "cancel" }, t("group_dissolve_no"));
  const confirm = el("div", { class: "confirm", role: "group", hidden: true }, el("p", {}, t("group_dissolve_confirm", { name: group.name })), yes, " ", no);
  const box = el("div", { class: "dissolve" }, ask, confirm, error);
  const show = (open) => {
    confirm.hidden = !open;
    ask.hidden = open;
    ask.setAttribute("aria-expanded", String(open));
    (open ? no : ask).focus();
  };
  ask.addEventListener("click", () => show(true));
  no.addEventListener("click", () => show(false));
  yes.addEventListener("click", async () => {
    say(error, "");
    await busy(box, async () => {
      try {
        await api("POST", `/api/v1/groups/${group.id}/dissolve`, { json: {} });
        await groupsChanged(t("group_dissolved", { name: group.name }));
      } catch (failure) {
        say(error, errorText(failure));
      }
    });
  });
  return box;
}

function groupItem(group, names) {
  const title = `group-${group.id}-title`;
  const holder = (officer) => (officer ? officer.full_name : t("no_officer"));
  const article = el(
    "article",
    { class: "card", "data-group-id": group.id, "aria-labelledby": title },
    el("h3", { id: title }, group.name),
    el(
      "dl",
      { class: "facts" },
      fact(t("group_leader"), holder(group.leader)),
      fact(t("group_deputy"), holder(group.deputy)),
      fact(t("group_members"), String(group.member_count)),
    ),
  );
  if (can("write-members")) article.append(editForm(group, names), dissolveControls(group));
  return el("li", {}, article);
}

/** Offers the active groups in the add-member form, keeping what was chosen. */
function fillAddMemberChoice(groups) {
  const select = $("member-group");
  if (!select) return;
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, t("no_groups")));
  for (const group of groups) select.append(el("option", { value: group.id }, group.name));
  select.value = groups.some((group) => String(group.id) === chosen) ? chosen : "";
}

/** Shows the listing; `members` are the register's rows (for the names of the officers' choices). */
export function showGroups(listing, members) {
  const list = $("groups");
  if (!list || !listing) return;
  const names = new Map(members.map((member) => [member.id, member.full_name]));
  list.replaceChildren(...listing.groups.map((group) => groupItem(group, names)));
  $("groups-empty").hidden = listing.groups.length > 0;
  say($("groups-error"), "");
  setBusy(list, false);
  fillAddMemberChoice(listing.groups);
}

export function showGroupsError(error) {
  say($("groups-error"), errorText(error));
  setBusy($("groups"), false);
}

/** The member's group in the register table: a choice for the officers of a cell, else its name. */
export function memberGroupCell(member, groups) {
  if (!groups || !can("write-members")) {
    if (!member.group_id) return t("reason_none");
    return groups?.find((group) => group.id === member.group_id)?.name ?? orgName(member.group_id);
  }
  const select = el(
    "select",
    { "aria-label": t("group_of", { name: member.full_name }), "data-member-id": member.id },
    el("option", { value: "" }, t("no_groups")),
    ...groups.map((group) => el("option", { value: group.id, selected: group.id === member.group_id }, group.name)),
  );
  select.addEventListener("change", async () => {
    const groupId = select.value ? Number(select.value) : null;
    select.disabled = true;
    say($("members-error"), "");
    try {
      await api("PATCH", `/api/v1/members/${member.id}`, { json: { group_id: groupId } });
      const group = groups.find((candidate) => candidate.id === groupId);
      const text = group ? t("member_group_set", { name: member.full_name, group: group.name }) : t("member_group_cleared", { name: member.full_name });
      await groupsChanged(text, "members-status");
    } catch (failure) {
      select.value = member.group_id ? String(member.group_id) : "";
      say($("members-error"), errorText(failure));
    } finally {
      select.disabled = false;
    }
  });
  return select;
}

/** Wires the create form; `registerChanged` reloads the register, its groups and what depends on them. */
export function wireGroups(registerChanged) {
  groupsChanged = async (message, statusId = "groups-status") => {
    for (const id of ["groups-status", "members-status"]) say($(id), "");
    await registerChanged();
    say($(statusId), message);
  };
  const form = $("add-group");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("add-group-error");
    const name = $("group-name");
    say(error, "");
    await busy(form, async () => {
      try {
        const group = await api("POST", `/api/v1/orgs/${unit.id}/groups`, { json: { name: name.value.trim() } });
        form.reset();
        await groupsChanged(t("group_created", { name: group.name }));
      } catch (failure) {
        say(error, errorText(failure));
        name.focus();
      }
    });
  });
}
