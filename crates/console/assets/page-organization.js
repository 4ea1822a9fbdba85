// One organization: its projects (create, rename) and members with roles.

import { h, mount } from "./dom.js";
import { api, canManageOrg, orgRole, isAdmin } from "./api.js";
import { membersCard } from "./members.js";
import { field, formError, pageHeader } from "./ui.js";

export const title = () => "Organization";

export async function render(main, { id }) {
  const [org, projects] = await Promise.all([
    api(`/organizations/${id}`),
    api("/projects", { query: { organization_id: id, limit: 500 } }),
  ]);
  document.title = `${org.name} · paasportal`;
  const manage = canManageOrg(id);
  const owner = isAdmin() || orgRole(id) === "owner";
  const list = h("ul.env-list", projects.map((p) => projectItem(p)));
  const name = h("input", { name: "name", required: true, placeholder: "MyProject" });
  const error = h("p.form-error", { role: "alert", hidden: true });
  const form = h("form#project-form.form-grid.card-body", field("New project", name), h("div", h("button.btn.btn-primary", { type: "submit" }, "Create project")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const p = await api("/projects", { method: "POST", body: { organization_id: id, name: name.value.trim() } });
      list.append(projectItem(p));
      name.value = "";
      formError(error, null);
    } catch (err) { formError(error, err); }
  });
  mount(main,
    pageHeader(org.name, "Organization"),
    h("section.card",
      h("div.card-head", h("h2", "Projects")),
      projects.length ? list : h("p.muted.pad", "No projects yet."),
      manage ? form : null, h("div.card-body", error)),
    await membersCard(`/organizations/${id}`,
      [["member", "Member"], ["admin", "Admin"], ...(owner ? [["owner", "Owner"]] : [])], { editable: manage }));
}

function projectItem(p) {
  return h("li.environment", { dataset: { projectId: p.id } },
    h("div.env-main", h("a", { href: `/projects/${p.id}` }, h("strong", p.name))),
    h("a.small", { href: `/deployments?project_id=${p.id}` }, "Deployments"),
    h("a.small", { href: `/projects/${p.id}/stats` }, "Stats"));
}
