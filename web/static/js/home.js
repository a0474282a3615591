// The home page: the caller's roles and the organisation tree they may see, as nested lists.
import { api, el, errorText, label, say, setBusy, t } from "./common.js";
import { loadMyMeetings, loadNotices, t as homeText } from "./home-meetings.js";

function childrenByParent(orgs) {
  const ids = new Set(orgs.map((org) => org.id));
  const children = new Map();
  const roots = [];
  for (const org of orgs) {
    if (org.parent_id !== null && ids.has(org.parent_id)) {
      if (!children.has(org.parent_id)) children.set(org.parent_id, []);
      children.get(org.parent_id).push(org);
    } else {
      roots.push(org);
    }
  }
  return { roots, children };
}

function branch(orgs, children) {
  const list = el("ul");
  for (const org of orgs) {
    const item = el(
      "li",
      {},
      el("a", { href: `/orgs/${org.id}` }, org.name),
      " ",
      el("span", { class: "kind" }, label("org_kind", org.kind)),
    );
    if (children.has(org.id)) item.append(branch(children.get(org.id), children));
    list.append(item);
  }
  return list;
}

function showTree(orgs) {
  const tree = document.getElementById("tree");
  tree.replaceChildren();
  if (orgs.length === 0) {
    tree.append(el("p", {}, t("tree_empty")));
  } else {
    const { roots, children } = childrenByParent(orgs);
    tree.append(branch(roots, children));
  }
  setBusy(tree, false);
}

function showRoles(me, orgs) {
  const roles = document.getElementById("roles");
  roles.replaceChildren();
  const memberUnit = me.member ? orgs.find((org) => org.id === me.member.org_id) : null;
  if (memberUnit) {
    const unit = el("a", { href: `/orgs/${memberUnit.id}` }, memberUnit.name);
    const [before, after] = homeText("member_of", { unit: "\u0000" }).split("\u0000");
    roles.append(el("p", {}, before, unit, after ?? ""));
  }
  if (!me.grants || me.grants.length === 0) {
    if (memberUnit) {
      setBusy(roles, false);
      return;
    }
    roles.append(el("p", {}, t("roles_none")));
  } else {
    const list = el("ul");
    for (const grant of me.grants) {
      const unit = el("a", { href: `/orgs/${grant.org_id}` }, grant.org_name);
      const [before, after] = t("role_at", { role: label("role", grant.role), unit: "\u0000" }).split("\u0000");
      list.append(el("li", {}, before, unit, after ?? ""));
    }
    roles.append(list);
  }
  setBusy(roles, false);
}

function fail(containerId, errorId, reason) {
  const container = document.getElementById(containerId);
  container.replaceChildren();
  setBusy(container, false);
  say(document.getElementById(errorId), errorText(reason));
}

async function load() {
  const [orgs, me] = await Promise.allSettled([api("GET", "/api/v1/orgs"), api("GET", "/api/v1/auth/me")]);
  if (orgs.status === "fulfilled") showTree(orgs.value.orgs);
  else fail("tree", "tree-error", orgs.reason);
  if (me.status === "fulfilled") {
    showRoles(me.value, orgs.status === "fulfilled" ? orgs.value.orgs : []);
    await Promise.all([loadNotices(), loadMyMeetings(me.value)]);
  } else fail("roles", "tree-error", me.reason);
  document.getElementById("tree").dataset.ready = "true";
}

load();
