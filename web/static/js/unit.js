// The unit a page shows: its id, time zone, what the caller may do there, and the tree around it.
// The abilities were decided by the server from the caller's rights; the API still checks every call.
import { api, el } from "./common.js";

export const $ = (id) => document.getElementById(id);

const root = $("unit");
export const unit = {
  root,
  id: Number(root.dataset.orgId),
  kind: root.dataset.kind,
  zone: root.dataset.timezone,
};

export const can = (ability) => root.hasAttribute(`data-can-${ability}`);

const orgs = new Map();

/** Reads the visible tree (GET /api/v1/orgs) and writes the breadcrumbs. */
export async function loadTree() {
  const body = await api("GET", "/api/v1/orgs");
  orgs.clear();
  for (const org of body.orgs) orgs.set(org.id, org);
  const chain = [];
  for (let org = orgs.get(orgs.get(unit.id)?.parent_id); org; org = orgs.get(org.parent_id)) chain.unshift(org);
  const crumbs = $("breadcrumbs");
  for (const org of chain) crumbs.append(el("li", {}, el("a", { href: `/orgs/${org.id}` }, org.name)));
  crumbs.append(el("li", { "aria-current": "page" }, orgs.get(unit.id)?.name ?? ""));
}

export function orgName(id) {
  return orgs.get(id)?.name ?? `#${id}`;
}

/** The time zone of a unit in the tree; validity dates are calendar days there. */
export function orgZone(id) {
  return orgs.get(id)?.timezone || unit.zone;
}

export function partyGroups() {
  return [...orgs.values()].filter((org) => org.parent_id === unit.id && org.kind === "group");
}
