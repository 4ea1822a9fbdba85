// Project statistics: success rate and status counts, a 30-day duration trend, and the
// average time per stage beside the spec's typical timings.

import { h, mount } from "./dom.js";
import { api } from "./api.js";
import { duration, number } from "./format.js";
import { empty, pageHeader } from "./ui.js";

export const title = () => "Project stats";

// The spec's "Timing Analysis" table: typical [low, high] seconds per stage.
const TYPICAL = {
  initializing: [0.5, 0.5], connecting: [0.8, 0.8], creating_network: [0.3, 0.3], configuring_dns: [1.2, 1.2],
  creating_database: [3.5, 3.5], cloning_platform_repos: [5, 10], cloning_org_repos: [5, 10], cloning_repo: [4, 8],
  pulling_image: [10, 30], generating_config: [0.5, 0.5], starting_container: [3.2, 3.2],
  installing_dependencies: [8, 15], initializing_database: [60, 120], verifying_dns: [10, 180],
  configuring_traefik: [0.5, 0.5], health_check: [5, 15],
};

export async function render(main, { id }) {
  const [project, stats, trends, recent] = await Promise.all([
    api(`/projects/${id}`),
    api(`/deployments/project/${id}/stats`),
    api(`/deployments/project/${id}/trends`, { query: { days: 30 } }),
    api("/deployments", { query: { project_id: id, limit: 500 } }),
  ]);
  document.title = `${project.name} stats · paasportal`;
  const since = Date.now() - 30 * 86400e3;
  const points = recent
    .filter((d) => d.duration_seconds !== null && d.completed_at && Date.parse(d.created_at) >= since && (d.status === "success" || d.status === "failed"))
    .map((d) => ({ t: Date.parse(d.created_at), v: d.duration_seconds, failed: d.status === "failed", id: d.id }))
    .sort((a, b) => a.t - b.t);

  const counts = Object.entries(stats.status_counts);
  mount(main,
    pageHeader(`${project.name}`, "Deployment statistics",
      h("a.btn", { href: `/deployments?project_id=${id}` }, "All deployments")),
    h("div.stat-cards",
      statCard("Success rate", h("span#stats-success-rate", `${stats.success_rate.toFixed(1)}%`)),
      statCard("Deployments", number(stats.total_deployments)),
      statCard("Average (30 d)", duration(trends.avg_duration)),
      statCard("p95 (30 d)", duration(trends.p95_duration)),
      statCard("Fastest / slowest", `${duration(trends.fastest)} / ${duration(trends.slowest)}`)),
    h("section.card.section-gap",
      h("div.card-head", h("h2", "Status counts")),
      h("div.card-body#stats-counts",
        counts.length === 0 ? h("span.muted", "No deployments yet.") : h("div.filters", counts.map(([s, n]) => h("span", { class: `badge badge-${s}`, dataset: { status: s } }, `${s}: ${number(n)}`))))),
    h("section.card.section-gap",
      h("div.card-head", h("h2", "Duration, last 30 days"), h("div.legend", h("span", "succeeded"), h("span.fail-legend", "failed"))),
      h("div.card-body", points.length === 0 ? empty("No finished deployments in the last 30 days") : chart(points))),
    h("section.card.section-gap",
      h("div.card-head", h("h2", "Average time per stage (30 days)"), h("div.legend", h("span", "measured"), h("span.typical", "typical (spec)"))),
      trends.stages.length === 0 ? empty("No stage timings yet") : stageTable(trends.stages)));
}

function statCard(label, value) {
  return h("div.card.stat", h("div.value", value), h("div.label", label));
}

/** An SVG line chart of durations over time; failed runs as red dots. */
function chart(points) {
  const W = 900, H = 240, L = 52, R = 12, T = 12, B = 28;
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const vmax = Math.max(...points.map((p) => p.v)) * 1.1 || 1;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / vmax) * (H - T - B);
  const svg = h("svg#trend-chart.chart", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `Deployment durations over the last 30 days, ${points.length} deployments`, preserveAspectRatio: "none" });
  for (let i = 0; i <= 4; i++) {
    const v = (vmax / 4) * i;
    svg.append(h("line.grid", { x1: L, x2: W - R, y1: y(v), y2: y(v) }), h("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, duration(v)));
  }
  svg.append(h("line.axis", { x1: L, x2: W - R, y1: H - B, y2: H - B }));
  const days = [t0, (t0 + t1) / 2, t1];
  for (const t of days) svg.append(h("text", { x: x(t), y: H - 8, "text-anchor": "middle" }, new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" })));
  const ok = points.filter((p) => !p.failed);
  if (ok.length > 1) svg.append(h("polyline.line", { points: ok.map((p) => `${x(p.t)},${y(p.v)}`).join(" ") }));
  for (const p of points) {
    svg.append(h(`circle.${p.failed ? "dot-fail" : "dot"}`, { cx: x(p.t), cy: y(p.v), r: 3.5 },
      h("title", `${new Date(p.t).toLocaleString()}: ${duration(p.v)}${p.failed ? " (failed)" : ""}`)));
  }
  return svg;
}

function stageTable(stages) {
  const max = Math.max(...stages.map((s) => Math.max(s.avg_duration_seconds, TYPICAL[s.id]?.[1] ?? 0)), 0.001);
  return h("div.table-wrap", h("table#stage-times",
    h("thead", h("tr", ["Stage", "Average", "Typical", "Runs", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", stages.map((s) => {
      const typ = TYPICAL[s.id];
      const bar = h("div.hbar");
      bar.style.width = `${(s.avg_duration_seconds / max) * 100}%`;
      const tbar = h("div.hbar.typical");
      if (typ) tbar.style.width = `${(typ[1] / max) * 100}%`;
      return h("tr", { dataset: { stage: s.id } },
        h("td", s.name),
        h("td", duration(s.avg_duration_seconds)),
        h("td.muted", typ ? (typ[0] === typ[1] ? duration(typ[0]) : `${duration(typ[0])}–${duration(typ[1])}`) : "—"),
        h("td", number(s.runs)),
        h("td.bar-cell", bar, typ ? tbar : null));
    }))));
}
