// Home: organizations → projects → environments, each environment with its status, its
// latest deployment (live) and Deploy where the user may deploy.

import { h, mount } from "./dom.js";
import { api, canDeploy, canManageOrg, isAdmin } from "./api.js";
import { subscribe } from "./stream.js";
import { navigate } from "./router.js";
import { ago, duration, since } from "./format.js";
import { badge, empty, pageHeader } from "./ui.js";
import { toast } from "./toasts.js";

export const title = () => "Environments";

export async function render(main) {
  mount(main, pageHeader("Environments", "Every environment you can see, by organization and project."), h("div.loading", "Loading…"));
  const orgs = await api("/organizations", { query: { limit: 500 } });
  const [projects, envs] = await Promise.all([
    api("/projects", { query: { limit: 500 } }),
    api("/environments", { query: { limit: 500 } }),
  ]);
  const latest = new Map(await Promise.all(envs.map(async (e) => [e.id, await api(`/deployments/environment/${e.id}/latest`).catch(() => null)])));
  const envRows = new Map(); // environment id → {row, env, project}

  const body = orgs.length === 0
    ? empty("No organizations yet", isAdmin() ? "Create an organization, a project, register a server and an environment to deploy." : "Ask an administrator to add you to a project.",
      isAdmin() ? h("a.btn.btn-primary", { href: "/admin/environments" }, "Set up an environment") : null)
    : orgs.map((org) => {
      const ps = projects.filter((p) => p.organization_id === org.id);
      return h("section.org.card", { dataset: { orgId: org.id }, "aria-labelledby": `org-${org.id}` },
        h("div.org-head",
          h("h2", { id: `org-${org.id}` }, org.name),
          canManageOrg(org.id) ? h("a.btn.btn-ghost.btn-small", { href: `/organizations/${org.id}` }, "Members") : null),
        ps.length === 0 ? h("p.muted.pad", "No projects in this organization.") : ps.map((p) => {
          const es = envs.filter((e) => e.project_id === p.id);
          return h("div.project", { dataset: { projectId: p.id } },
            h("div.project-head",
              h("h3", p.name),
              h("div.project-links",
                h("a", { href: `/deployments?project_id=${p.id}` }, "Deployments"),
                h("a", { href: `/projects/${p.id}/stats` }, "Stats"),
                canDeploy(org.id, p.id) ? h("a", { href: `/projects/${p.id}` }, "Settings") : null)),
            es.length === 0 ? h("p.muted.pad", "No environments.") : h("ul.env-list", { role: "list" }, es.map((e) => {
              const row = envRow(org, p, e, latest.get(e.id));
              envRows.set(e.id, { row, env: e, org, project: p });
              return row;
            })));
        }));
    });
  mount(main, pageHeader("Environments", "Every environment you can see, by organization and project.",
    isAdmin() ? h("button.btn#new-organization", { type: "button", onclick: newOrganization }, "New organization") : null), body);

  // Live: environment status and the latest deployment's progress.
  const offStatus = subscribe("environment_status", (d) => {
    const r = envRows.get(d.environment_id);
    if (!r) return;
    r.env.status = d.status;
    r.row.querySelector(".env-status").replaceWith(badge(d.status, ".env-status"));
  });
  const offProgress = subscribe("deployment_progress", (d) => {
    const r = envRows.get(d.environment_id);
    if (!r) return;
    const lat = { has_deployment: true, deployment_id: d.deployment_id, status: d.status, progress_percent: d.progress_percent, started_at: d.timestamp, message: d.message };
    const fresh = envRow(r.org, r.project, r.env, lat);
    r.row.replaceWith(fresh);
    r.row = fresh;
  });
  return () => { offStatus(); offProgress(); };
}

function envRow(org, project, env, latest) {
  const may = canDeploy(org.id, project.id);
  const deploy = may ? h("button.btn.btn-primary.btn-small.deploy-btn", {
    type: "button",
    onclick: async (ev) => {
      ev.currentTarget.disabled = true;
      try {
        const d = await api("/deployments", { method: "POST", body: { environment_id: env.id } });
        navigate(`/deployments/${d.id}`);
      } catch (err) {
        ev.target.disabled = false;
        toast({ status: "failed", title: `Could not deploy ${env.name}`, body: err.message });
      }
    },
  }, "Deploy") : null;
  let last = h("span.muted", "Never deployed");
  if (latest?.has_deployment) {
    const running = latest.status === "running" || latest.status === "pending";
    last = h("a.latest", { href: `/deployments/${latest.deployment_id}` },
      badge(latest.status),
      latest.version ? h("span.muted", ` v${latest.version}`) : null,
      running && latest.progress_percent !== undefined ? h("span.mini-progress", { role: "progressbar", "aria-valuenow": latest.progress_percent, "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": "Progress" }, h("span", { style: null }))
        : h("span.muted", ` ${ago(latest.completed_at || latest.started_at)}`),
      !running && latest.started_at && latest.completed_at ? h("span.muted", ` · ${duration(since(latest.started_at, latest.completed_at))}`) : null);
    const bar = last.querySelector(".mini-progress span");
    if (bar) bar.style.width = `${latest.progress_percent}%`;
  }
  return h("li.environment", { dataset: { envId: env.id } },
    h("div.env-main",
      h("div.env-name", h("strong", env.name), h("span.muted.small", ` ${env.branch} · Odoo ${env.odoo_version}`)),
      h("a.env-host.small", { href: `http://${env.subdomain}.${env.apps_domain}`, rel: "noopener", target: "_blank" }, `${env.subdomain}.${env.apps_domain}`)),
    badge(env.status, ".env-status"),
    h("div.env-latest", last),
    h("div.env-actions", deploy));
}

async function newOrganization() {
  const name = window.prompt("Name of the new organization");
  if (!name) return;
  try {
    const org = await api("/organizations", { method: "POST", body: { name } });
    navigate(`/organizations/${org.id}`);
  } catch (e) {
    toast({ status: "failed", title: "Could not create the organization", body: e.message });
  }
}
