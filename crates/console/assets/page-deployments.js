// The deployment history: filter by project and status, page through, open one.
// Live: rows of running deployments update from the stream, new deployments appear on page 1.

import { h, mount } from "./dom.js";
import { api, currentUser, isAdmin } from "./api.js";
import { subscribe } from "./stream.js";
import { navigate } from "./router.js";
import { ago, duration, shortSha, since } from "./format.js";
import { badge, empty, pageHeader, select } from "./ui.js";

export const title = () => "Deployments";
const PAGE = 25;

export async function render(main, _params, query) {
  const page = Math.max(1, Number(query.get("page")) || 1);
  const filters = {
    project_id: query.get("project_id") || "",
    status: query.get("status") || "",
    environment_id: query.get("environment_id") || "",
  };
  const [projects, envs, rows, users] = await Promise.all([
    api("/projects", { query: { limit: 500 } }),
    api("/environments", { query: { limit: 500 } }),
    api("/deployments", { query: { ...filters, skip: (page - 1) * PAGE, limit: PAGE + 1 } }),
    isAdmin() ? api("/users", { query: { limit: 500 } }).catch(() => []) : Promise.resolve([]),
  ]);
  const envName = new Map(envs.map((e) => [e.id, e.name]));
  const projectName = new Map(projects.map((p) => [p.id, p.name]));
  const userName = new Map(users.map((u) => [u.id, u.name || u.email]));
  const me = currentUser();
  const who = (id) => (!id ? "—" : id === me?.id ? "you" : userName.get(id) ?? "a user");
  const more = rows.length > PAGE;
  const list = rows.slice(0, PAGE);

  const go = (patch) => {
    const q = new URLSearchParams({ ...filters, page: String(page), ...patch });
    for (const [k, v] of [...q]) if (!v || (k === "page" && v === "1")) q.delete(k);
    const s = q.toString();
    navigate(`/deployments${s ? `?${s}` : ""}`);
  };
  const projectSel = select("project", [["", "All projects"], ...projects.map((p) => [p.id, p.name])], filters.project_id);
  projectSel.id = "filter-project";
  projectSel.setAttribute("aria-label", "Project");
  projectSel.addEventListener("change", () => go({ project_id: projectSel.value, page: "1" }));
  const statusSel = select("status", [["", "Any status"], ["pending", "Queued"], ["running", "Running"], ["success", "Succeeded"], ["failed", "Failed"], ["cancelled", "Cancelled"]], filters.status);
  statusSel.id = "filter-status";
  statusSel.setAttribute("aria-label", "Status");
  statusSel.addEventListener("change", () => go({ status: statusSel.value, page: "1" }));

  const rowFor = (d) => h("tr.deployment-row", {
    dataset: { deploymentId: d.id },
    tabindex: 0,
    onclick: (e) => { if (!e.target.closest("a")) navigate(`/deployments/${d.id}`); },
    onkeydown: (e) => { if (e.key === "Enter") navigate(`/deployments/${d.id}`); },
  },
  h("td", badge(d.status)),
  h("td", h("a", { href: `/deployments/${d.id}` }, envName.get(d.environment_id) ?? "environment"), h("div.muted.small", projectName.get(d.project_id) ?? "")),
  h("td", `v${d.version}`),
  h("td", d.trigger),
  h("td", who(d.triggered_by)),
  h("td", d.git_branch ?? "—"),
  h("td", h("code", { title: d.git_commit ?? "" }, shortSha(d.git_commit))),
  h("td", duration(d.duration_seconds ?? since(d.started_at, d.completed_at))),
  h("td", { title: d.created_at }, ago(d.created_at)),
  h("td.wrap.muted.small", d.error_message ? d.error_message.slice(0, 140) : ""));

  const tbody = h("tbody", list.map(rowFor));
  mount(main,
    pageHeader("Deployments", "Every deployment you can see, newest first."),
    h("div.filters", projectSel, statusSel,
      filters.environment_id ? h("span.step-chip", `Environment: ${envName.get(filters.environment_id) ?? "…"} `, h("button.chip-x", { type: "button", "aria-label": "All environments", onclick: () => go({ environment_id: "", page: "1" }) }, "×")) : null),
    h("section.card",
      list.length === 0 ? empty("No deployments", "Nothing matches these filters yet.") : h("div.table-wrap", h("table",
        h("thead", h("tr", ["Status", "Environment", "Version", "Trigger", "By", "Branch", "Commit", "Duration", "Created", "Error"].map((t) => h("th", { scope: "col" }, t)))),
        tbody)),
      h("div.pager",
        h("span.muted.small", `Page ${page}`),
        h("button.btn.btn-small#prev-page", { type: "button", disabled: page <= 1, onclick: () => go({ page: String(page - 1) }) }, "← Newer"),
        h("button.btn.btn-small#next-page", { type: "button", disabled: !more, onclick: () => go({ page: String(page + 1) }) }, "Older →"))));

  // Live rows: status changes in place; a new deployment appears on the first page.
  const known = new Map(list.map((d) => [d.id, d]));
  const off = subscribe("deployment_progress", async (ev) => {
    const d = known.get(ev.deployment_id);
    if (d) {
      if (d.status === ev.status) return;
      known.set(d.id, await api(`/deployments/${d.id}`).catch(() => ({ ...d, status: ev.status })));
    } else {
      if (page !== 1) return;
      if (filters.project_id && ev.project_id !== filters.project_id) return;
      if (filters.environment_id && ev.environment_id !== filters.environment_id) return;
      if (filters.status && ev.status !== filters.status) return;
      known.set(ev.deployment_id, null);
      const fresh = await api(`/deployments/${ev.deployment_id}`).catch(() => null);
      if (!fresh) return;
      known.set(fresh.id, fresh);
      tbody.prepend(rowFor(fresh));
      return;
    }
    const updated = known.get(ev.deployment_id);
    const old = tbody.querySelector(`tr[data-deployment-id="${ev.deployment_id}"]`);
    old?.replaceWith(rowFor(updated));
  });
  return off;
}
