// The unit's register: the members table, the add-member form and the all-or-nothing file import.
import { api, ApiError, el, errorText, label, lang, say, setBusy, t } from "./common.js";
import { fetchGroups, memberGroupCell, showGroups, showGroupsError } from "./groups.js";
import { $, can, orgName, unit } from "./unit.js";

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** A table row: the first cell heads the row; each cell carries its column's name for the phone layout. */
function tableRow(table, values) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  const cells = values.map((value, index) =>
    index === 0
      ? el("th", { scope: "row", "data-label": names[index] }, value)
      : el("td", { "data-label": names[index] }, value),
  );
  return el("tr", {}, ...cells);
}

/** `groups`: the cell's active party groups (null outside a cell: the tree names a member's group). */
function memberRow(member, withUnit, groups) {
  const values = [
    member.full_name,
    label("standing", member.standing),
    label("activity", member.activity),
    member.remote_reason ? label("remote_reason", member.remote_reason) : t("reason_none"),
    memberGroupCell(member, groups),
  ];
  if (withUnit) values.push(orgName(member.org_id));
  return tableRow($("members-table"), values);
}

export async function loadMembers() {
  if (!can("read-members")) return;
  const rows = $("members");
  try {
    const [{ members }, listing] = await Promise.all([
      api("GET", `/api/v1/orgs/${unit.id}/members`),
      fetchGroups().catch((error) => {
        showGroupsError(error);
        return null;
      }),
    ]);
    const withUnit = unit.kind !== "cell";
    rows.replaceChildren(...members.map((member) => memberRow(member, withUnit, listing?.groups ?? null)));
    say($("members-count"), t("members_count", { count: members.length }));
    $("members-empty").hidden = members.length > 0;
    say($("members-error"), "");
    showGroups(listing, members);
  } catch (error) {
    say($("members-error"), errorText(error));
  }
  setBusy(rows, false);
}

/** Disables the form's buttons while `work` runs. */
export async function submitting(form, work) {
  const buttons = [...form.querySelectorAll("button")];
  for (const button of buttons) button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    await work();
  } finally {
    for (const button of buttons) button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

function wireAddMember(registerChanged) {
  const form = $("add-member");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("add-member-error");
    say(error, "");
    say($("add-member-status"), "");
    const value = (id) => $(id).value.trim();
    const body = {
      full_name: value("member-name"),
      standing: value("member-standing"),
      activity: value("member-activity"),
      remote_reason: value("member-reason") || null,
      group_id: value("member-group") ? Number(value("member-group")) : null,
    };
    if (value("member-external-id")) body.external_id = value("member-external-id");
    await submitting(form, async () => {
      try {
        const member = await api("POST", `/api/v1/orgs/${unit.id}/members`, { json: body });
        form.reset();
        say($("add-member-status"), t("member_added", { name: member.full_name }));
        await registerChanged();
      } catch (failure) {
        say(error, errorText(failure));
        $("member-name").focus();
      }
    });
  });
}

function importErrorRow(problem) {
  const column = problem.column ? t(`column_${problem.column}`) : t("reason_none");
  const line = problem.line ? String(problem.line) : t("whole_file");
  const message = lang === "en" ? problem.message_en : problem.message_vi;
  return tableRow($("import-errors-region").querySelector("table"), [line, column, message]);
}

function showImportErrors(problems) {
  $("import-errors").replaceChildren(...problems.map(importErrorRow));
  $("import-errors-region").hidden = problems.length === 0;
}

function wireImport(registerChanged) {
  const form = $("import");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("import-error");
    const input = $("import-file");
    say(error, "");
    say($("import-status"), "");
    showImportErrors([]);
    const file = input.files[0];
    const type = file ? { csv: "text/csv", xlsx: XLSX_TYPE }[file.name.split(".").pop().toLowerCase()] : null;
    if (!file || !type) {
      say(error, t(file ? "import_wrong_type" : "import_choose_file"));
      input.focus();
      return;
    }
    await submitting(form, async () => {
      try {
        let path = `/api/v1/orgs/${unit.id}/members/import?filename=${encodeURIComponent(file.name)}`;
        if ($("import-create-groups")?.checked) path += "&create_groups=true";
        const result = await api("POST", path, { body: file, contentType: type });
        form.reset();
        say($("import-status"), t("imported", { count: result.imported }));
        await registerChanged();
      } catch (failure) {
        say(error, errorText(failure));
        if (failure instanceof ApiError && Array.isArray(failure.details.errors)) showImportErrors(failure.details.errors);
      }
    });
  });
}

/** Wires the forms; `registerChanged` reloads what depends on the register. */
export function wireRegister(registerChanged) {
  wireAddMember(registerChanged);
  wireImport(registerChanged);
}
