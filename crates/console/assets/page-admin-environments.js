// Environments: create and edit every setting the API has; reveal the Odoo admin
// password once; deploy.

import { h, mount } from "./dom.js";
import { api, canDeploy } from "./api.js";
import { crudPage } from "./crud.js";
import { navigate } from "./router.js";
import { badge } from "./ui.js";
import { toast } from "./toasts.js";

export const title = () => "Environments";

export async function render(main) {
  const [projects, servers, versions] = await Promise.all([
    api("/projects", { query: { limit: 500 } }),
    api("/servers", { query: { limit: 500 } }),
    api("/odoo-versions", { query: { limit: 500 } }),
  ]);
  const project = new Map(projects.map((p) => [p.id, p]));
  const serverName = new Map(servers.map((s) => [s.id, s.name]));
  const mayManage = (e) => {
    const p = project.get(e.project_id);
    return p ? canDeploy(p.organization_id, p.id) : false;
  };
  await crudPage(main, {
    thing: "environment",
    title: "Manage environments",
    subtitle: "Where each environment runs and with what. Changes apply on the next deployment.",
    path: "/environments",
    label: (e) => e.name,
    canCreate: projects.some((p) => canDeploy(p.organization_id, p.id)),
    canEdit: mayManage,
    columns: [
      { label: "Name", value: (e) => h("strong", e.name) },
      { label: "Project", value: (e) => project.get(e.project_id)?.name ?? "—" },
      { label: "Server", value: (e) => serverName.get(e.server_id) ?? "—" },
      { label: "Host", value: (e) => h("code", `${e.subdomain}.${e.apps_domain}`) },
      { label: "Odoo", value: (e) => e.odoo_version },
      { label: "Branch", value: (e) => e.branch },
      { label: "Resources", value: (e) => `${e.cpu_cores} CPU · ${e.ram_mb} MB · ${e.disk_gb} GB` },
      { label: "Status", value: (e) => badge(e.status) },
    ],
    extra: (e) => (mayManage(e) ? [
      h("button.btn.btn-small.btn-primary.deploy-btn", { type: "button", onclick: () => deploy(e) }, "Deploy"),
      h("button.btn.btn-ghost.btn-small.reveal-btn", { type: "button", onclick: (ev) => reveal(e, ev.currentTarget) }, "Admin password"),
    ] : null),
    fields: [
      { name: "project_id", label: "Project", type: "select", required: true, edit: false, options: projects.filter((p) => canDeploy(p.organization_id, p.id)).map((p) => [p.id, p.name]) },
      { name: "server_id", label: "Server", type: "select", required: true, edit: false, options: servers.map((s) => [s.id, `${s.name} (${s.ip})`]) },
      { name: "name", label: "Name", required: true, placeholder: "staging" },
      { name: "subdomain", label: "Subdomain", required: true, edit: false, placeholder: "staging-myproject" },
      { name: "branch", label: "Branch", required: true, default: "main" },
      { name: "odoo_version", label: "Odoo version", type: "select", required: true, options: versions.map((v) => [v.version, `${v.version} (${v.image})`]) },
      { name: "cpu_cores", label: "CPU cores", type: "number", step: "0.5", min: 0.5, default: 2, required: true },
      { name: "ram_mb", label: "Memory (MB)", type: "number", step: "256", min: 512, default: 4096, required: true },
      { name: "disk_gb", label: "Disk (GB)", type: "number", min: 1, default: 20, required: true },
      { name: "config_overrides", label: "odoo.conf overrides (JSON)", type: "json", placeholder: "{\"options\": {\"workers\": 4}}", hint: "Validated by the server; e.g. {\"options\": {\"workers\": 4}}." },
    ],
  });
}

async function deploy(env) {
  try {
    const d = await api("/deployments", { method: "POST", body: { environment_id: env.id } });
    navigate(`/deployments/${d.id}`);
  } catch (e) {
    toast({ status: "failed", title: `Could not deploy ${env.name}`, body: e.message });
  }
}

async function reveal(env, button) {
  if (!window.confirm(`Reveal the Odoo admin password of ${env.name}? It can be revealed once; note it down.`)) return;
  try {
    const out = await api(`/environments/${env.id}/admin-password/reveal`, { method: "POST" });
    const box = h("div.reveal", { role: "status" }, `${out.login} / ${out.password}`);
    mount(button.parentElement, box);
  } catch (e) {
    toast({ status: "failed", title: "Could not reveal the password", body: e.message });
  }
}
