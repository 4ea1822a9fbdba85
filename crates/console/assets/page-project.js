// One project: its environments, members with roles, and links to its history and stats.

import { h, mount } from "./dom.js";
import { api, canDeploy } from "./api.js";
import { membersCard } from "./members.js";
import { badge, pageHeader } from "./ui.js";

export const title = () => "Project";

export async function render(main, { id }) {
  const [project, envs] = await Promise.all([
    api(`/projects/${id}`),
    api("/environments", { query: { project_id: id, limit: 500 } }),
  ]);
  document.title = `${project.name} · paasportal`;
  const manage = canDeploy(project.organization_id, id);
  mount(main,
    pageHeader(project.name, "Project",
      h("a.btn", { href: `/deployments?project_id=${id}` }, "Deployments"),
      h("a.btn", { href: `/projects/${id}/stats` }, "Stats"),
      manage ? h("a.btn.btn-primary", { href: "/admin/environments" }, "Manage environments") : null),
    h("section.card",
      h("div.card-head", h("h2", "Environments")),
      envs.length ? h("ul.env-list", envs.map((e) => h("li.environment", { dataset: { envId: e.id } },
        h("div.env-main", h("strong", e.name), h("span.muted.small", `${e.subdomain}.${e.apps_domain} · ${e.branch} · Odoo ${e.odoo_version}`)),
        badge(e.status),
        h("a.small", { href: `/deployments?environment_id=${e.id}` }, "History")))) : h("p.muted.pad", "No environments yet.")),
    await membersCard(`/projects/${id}`, [["viewer", "Viewer"], ["member", "Member"], ["admin", "Admin"]], { editable: manage }));
}
