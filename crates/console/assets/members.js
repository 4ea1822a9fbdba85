// Members of an organization or a project: list with roles, add, change the role, remove.

import { h, mount } from "./dom.js";
import { api, currentUser, isAdmin } from "./api.js";
import { confirmDialog, field, formError } from "./ui.js";

/** @param base "/organizations/{id}" or "/projects/{id}"; roles: [[value, label]] */
export async function membersCard(base, roles, { editable }) {
  const [members, users] = await Promise.all([
    api(`${base}/members`),
    isAdmin() ? api("/users", { query: { limit: 500 } }).catch(() => []) : Promise.resolve([]),
  ]);
  const byId = new Map(users.map((u) => [u.id, u]));
  const me = currentUser();
  const label = (id) => (id === me?.id ? `${me.email} (you)` : byId.get(id)?.email ?? id);
  const tbody = h("tbody");
  const error = h("p.form-error", { role: "alert", hidden: true });

  const paint = () => mount(tbody, members.map((m) => {
    const role = h("select", { "aria-label": `Role of ${label(m.user_id)}`, disabled: !editable },
      roles.map(([v, l]) => h("option", { value: v, selected: v === m.role }, l)));
    role.addEventListener("change", async () => {
      try {
        const saved = await api(`${base}/members/${m.user_id}`, { method: "PATCH", body: { role: role.value } });
        Object.assign(m, saved);
        formError(error, null);
      } catch (e) { formError(error, e); role.value = m.role; }
    });
    return h("tr.member-row", { dataset: { userId: m.user_id } },
      h("td", label(m.user_id)), h("td", role),
      h("td", editable ? h("button.btn.btn-ghost.btn-small", { type: "button", onclick: async () => {
        if (!confirmDialog(`Remove ${label(m.user_id)}?`)) return;
        try {
          await api(`${base}/members/${m.user_id}`, { method: "DELETE" });
          members.splice(members.indexOf(m), 1);
          paint();
        } catch (e) { formError(error, e); }
      } }, "Remove") : null));
  }));
  paint();

  let form = null;
  if (editable) {
    const candidates = users.filter((u) => !members.some((m) => m.user_id === u.id));
    const who = candidates.length
      ? h("select", { name: "user_id" }, candidates.map((u) => h("option", { value: u.id }, `${u.email} (${u.name})`)))
      : h("input", { name: "user_id", placeholder: "user id", required: true });
    const role = h("select", { name: "role" }, roles.map(([v, l]) => h("option", { value: v }, l)));
    form = h("form.member-form.form-grid.card-body", field("User", who), field("Role", role),
      h("div", h("button.btn.btn-primary", { type: "submit" }, "Add member")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const saved = await api(`${base}/members`, { method: "POST", body: { user_id: who.value.trim(), role: role.value } });
        members.push(saved);
        paint();
        formError(error, null);
      } catch (err) { formError(error, err); }
    });
  }
  return h("section.card.section-gap",
    h("div.card-head", h("h2", "Members")),
    h("div.table-wrap", h("table", h("thead", h("tr", h("th", "User"), h("th", "Role"), h("th", ""))), tbody)),
    form, h("div.card-body", error));
}
