// Repositories at each scope: platform (every environment), organization, project.

import { h } from "./dom.js";
import { api, canDeploy, canManageOrg, isAdmin } from "./api.js";
import { crudPage } from "./crud.js";

export const title = () => "Repositories";

export async function render(main) {
  const [orgs, projects] = await Promise.all([
    api("/organizations", { query: { limit: 500 } }),
    api("/projects", { query: { limit: 500 } }),
  ]);
  const orgName = new Map(orgs.map((o) => [o.id, o.name]));
  const projectName = new Map(projects.map((p) => [p.id, p.name]));
  const scopeOf = (inputs) => {
    const scope = inputs.get("scope")?.value;
    inputs.get("organization_id")?.closest(".field")?.toggleAttribute("hidden", scope !== "organization");
    inputs.get("project_id")?.closest(".field")?.toggleAttribute("hidden", scope !== "project");
    inputs.get("is_primary")?.closest(".field")?.toggleAttribute("hidden", scope !== "project");
  };
  const mayEdit = (r) => r.scope === "platform" ? isAdmin()
    : r.scope === "organization" ? canManageOrg(r.organization_id)
      : canDeploy(projects.find((p) => p.id === r.project_id)?.organization_id, r.project_id);
  await crudPage(main, {
    thing: "repository",
    title: "Repositories",
    subtitle: "Addon repositories cloned into every environment of their scope. Tokens are write-only.",
    path: "/repositories",
    label: (r) => r.name,
    canEdit: mayEdit,
    columns: [
      { label: "Name", value: (r) => h("strong", r.name) },
      { label: "Scope", value: (r) => (r.scope === "platform" ? "platform" : r.scope === "organization" ? `org: ${orgName.get(r.organization_id) ?? "—"}` : `project: ${projectName.get(r.project_id) ?? "—"}${r.is_primary ? " (primary)" : ""}`) },
      { label: "URL", value: (r) => h("code", r.url) },
      { label: "Branch", value: (r) => r.branch },
      { label: "Token", value: (r) => (r.has_token ? "set" : "—") },
    ],
    fields: [
      { name: "scope", label: "Scope", type: "select", edit: false, options: [...(isAdmin() ? [["platform", "Platform"]] : []), ["organization", "Organization"], ["project", "Project"]], onChange: scopeOf },
      { name: "organization_id", label: "Organization", type: "select", edit: false, options: orgs.filter((o) => canManageOrg(o.id)).map((o) => [o.id, o.name]) },
      { name: "project_id", label: "Project", type: "select", edit: false, options: projects.filter((p) => canDeploy(p.organization_id, p.id)).map((p) => [p.id, p.name]) },
      { name: "name", label: "Name", required: true },
      { name: "url", label: "Git URL", required: true, placeholder: "https://github.com/org/addons.git" },
      { name: "branch", label: "Branch", required: true, default: "main" },
      { name: "token", label: "Access token", type: "password", writeOnly: true, hint: "For private repositories." },
      { name: "is_primary", label: "Primary repository of the project", type: "checkbox", edit: false },
    ],
    prepare: (body) => {
      if (body.scope && body.scope !== "organization") delete body.organization_id;
      if (body.scope && body.scope !== "project") { delete body.project_id; delete body.is_primary; }
      return body;
    },
  });
}
