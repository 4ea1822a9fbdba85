// One deployment: the spec's DeploymentProgress and its log. The header and the stage
// list come from `/progress`; every change after that arrives on the tab's stream (each
// log line is a `deployment_progress` event carrying status, stage and percent). When a
// line names a new stage, or the deployment ends, the stage list is read again once: the
// stream says *that* something changed, `/progress` says what every stage looks like.

import { h, mount } from "./dom.js";
import { api, canDeploy, currentUser, download } from "./api.js";
import { subscribe } from "./stream.js";
import { navigate } from "./router.js";
import { LogView } from "./logview.js";
import { STAGE_ICON, STATUS_LABEL, dateTime, duration, shortSha, since } from "./format.js";
import { badge, confirmDialog, errorPage } from "./ui.js";
import { toast } from "./toasts.js";

export const title = () => "Deployment";

const ACTIVE = new Set(["pending", "running"]);

export async function render(main, { id }) {
  // Listen before reading anything: a line committed while the first page is in flight
  // then reaches the viewer either in that page or from here (the viewer drops repeats).
  const early = [];
  let onLine = (d, seq) => early.push([d, seq]);
  const off = subscribe("deployment_progress", (d, seq) => {
    if (d.deployment_id === id) onLine(d, seq);
  });
  // `/progress` reads the stages' latest lines: the log's tail does not wait for it.
  const progressRead = api(`/deployments/${id}/progress`);
  progressRead.catch(() => {});
  let dep, env, project;
  let progress = { progress_percent: 0, steps: [], current_step: null };
  try {
    dep = await api(`/deployments/${id}`);
    [env, project] = await Promise.all([
      api(`/environments/${dep.environment_id}`).catch(() => null),
      api(`/projects/${dep.project_id}`).catch(() => null),
    ]);
  } catch (e) {
    off();
    mount(main, errorPage(e));
    return null;
  }
  document.title = `${env?.name ?? "Deployment"} v${dep.version} · paasportal`;
  const mayAct = project ? canDeploy(project.organization_id, project.id) : false;

  // ---- header
  const statusEl = h("span#deployment-status");
  const bar = h("div.progress-fill");
  const progressEl = h("div#progress.progress", { role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": "Deployment progress" }, bar);
  const pct = h("span.progress-pct");
  const total = h("span.total-duration");
  const actions = h("div.page-actions");
  const meta = h("dl.meta");
  const errorBox = h("div.error-slot");
  const stageList = h("ol.stages", { "aria-label": "Stages" });
  const stageToggle = h("button.btn.btn-ghost.btn-small.stages-toggle", { type: "button", "aria-expanded": "true" });
  const detail = h("div.line-detail", { hidden: true, "aria-live": "polite" });

  // ---- log toolbar
  const level = h("select#log-level", { "aria-label": "Level" },
    [["all", "All levels"], ["debug", "Debug"], ["info", "Info"], ["warning", "Warning"], ["error", "Error"]].map(([v, l]) => h("option", { value: v }, l)));
  const search = h("input#log-search", { type: "search", placeholder: "Search this log (Enter)", "aria-label": "Search the log", maxlength: 200 });
  const follow = h("input#follow", { type: "checkbox", checked: true });
  const jump = h("button.btn.btn-small.btn-primary#jump-live", { type: "button", hidden: true }, "↓ Jump to live");
  const stepChip = h("span.step-chip", { hidden: true });
  const viewerEl = h("div#log-viewer.log-viewer", { tabindex: 0, "aria-label": "Deployment log" });
  const downloads = h("div.downloads",
    ["json", "txt", "ndjson"].map((f) => h(`a#download-${f}.btn.btn-ghost.btn-small`, {
      href: `/api/v1/deployments/${id}/logs/export?format=${f}`,
      onclick: (e) => {
        e.preventDefault();
        download(`/deployments/${id}/logs/export?format=${f}`, `deployment-${id}.${f}`).catch((err) => toast({ status: "failed", title: "Download failed", body: err.message }));
      },
    }, f.toUpperCase())));

  mount(main,
    h("div.deployment-head",
      h("div.crumbs", h("a", { href: "/" }, project?.name ?? "Project"), " / ", h("span", env?.name ?? "environment"), " / ", h("a", { href: `/deployments?environment_id=${dep.environment_id}` }, "deployments")),
      h("div.title-row",
        h("h1", `${env?.name ?? "Deployment"} `, h("span.muted", `v${dep.version}`)),
        statusEl, actions),
      meta,
      h("div.progress-row", progressEl, pct, total)),
    errorBox,
    h("div.deployment-body",
      h("section.card.stages-card", { "aria-labelledby": "stages-h" },
        h("div.card-head", h("h2#stages-h", "Stages"), stageToggle),
        stageList),
      h("section.card.log-card", { "aria-labelledby": "log-h" },
        h("div.card-head.log-toolbar",
          h("h2#log-h", "Log"), stepChip, level, search,
          h("label.follow", follow, " Follow"), jump, downloads),
        viewerEl,
        detail)));

  const view = new LogView(viewerEl, {
    deploymentId: id,
    onFollow: (on) => { follow.checked = on; jump.hidden = on; },
    onSelect: (line) => showDetail(line),
  });

  function showDetail(line) {
    const link = `${location.origin}/deployments/${id}#L${line.seq}`;
    mount(detail,
      h("div.detail-head",
        h("strong", `${line.level.toUpperCase()} · ${dateTime(line.timestamp)}${line.step ? ` · ${line.step}` : ""}`),
        h("button.btn.btn-ghost.btn-small", { type: "button", onclick: () => navigator.clipboard?.writeText(link).then(() => toast({ status: "success", title: "Link copied" })) }, "Copy link"),
        h("button.btn.btn-ghost.btn-small", { type: "button", "aria-label": "Close", onclick: () => { detail.hidden = true; } }, "×")),
      h("pre.detail-msg", line.message),
      line.data && Object.keys(line.data).length ? h("pre.detail-data", JSON.stringify(line.data, null, 2)) : null);
    detail.hidden = false;
  }

  // ---- state → DOM
  let lastStep = progress.current_step;
  let shown = 0; // the highest percent shown while the deployment runs
  let refreshTimer = null;
  let refreshing = false;

  function paintHeader() {
    statusEl.replaceChildren(badge(dep.status));
    statusEl.dataset.status = dep.status;
    const p = progress.progress_percent;
    progressEl.setAttribute("aria-valuenow", p);
    progressEl.dataset.status = dep.status;
    bar.style.width = `${p}%`;
    pct.textContent = `${p}%`;
    const secs = dep.duration_seconds ?? since(dep.started_at, dep.completed_at);
    total.textContent = secs === null ? "" : `${ACTIVE.has(dep.status) ? "Running for" : "Took"} ${duration(secs)}`;
    const who = dep.triggered_by && dep.triggered_by === currentUser()?.id ? "you" : dep.triggered_by ? "a user" : "—";
    mount(meta,
      metaItem("Trigger", dep.trigger),
      metaItem("By", who),
      metaItem("Branch", dep.git_branch ?? env?.branch ?? "—"),
      metaItem("Commit", dep.git_commit ? h("code", { title: dep.git_commit }, shortSha(dep.git_commit)) : "—"),
      dep.git_message ? metaItem("Message", dep.git_message) : null,
      metaItem("Started", dateTime(dep.started_at ?? dep.created_at)),
      dep.image_tag ? metaItem("Image", h("code", dep.image_tag)) : null);
    mount(actions,
      mayAct && ACTIVE.has(dep.status) ? h("button.btn.btn-danger#cancel-btn", { type: "button", onclick: cancel }, "Cancel") : null,
      mayAct && !ACTIVE.has(dep.status) ? h("button.btn.btn-primary#redeploy-btn", { type: "button", onclick: redeploy }, "Redeploy") : null);
  }

  function paintStages() {
    const active = ACTIVE.has(dep.status);
    mount(stageList, progress.steps.map((s) => {
      const status = s.status;
      const secs = s.duration_seconds ?? (status === "running" ? since(s.started_at, null) : null);
      return h("li.stage", { dataset: { stage: s.id, status }, class: view.filter.step === s.id ? "selected" : "" },
        h("button.stage-toggle", {
          type: "button",
          "aria-pressed": view.filter.step === s.id ? "true" : "false",
          title: s.description,
          onclick: () => filterStep(view.filter.step === s.id ? "" : s.id),
        },
        h("span.stage-icon", { "aria-label": STATUS_LABEL[status] ?? status }, STAGE_ICON[status] ?? "○"),
        h("span.stage-name", s.name),
        h("span.stage-duration", secs !== null && secs !== undefined ? duration(secs) : ""),
        s.latest_message ? h("span.stage-msg", s.latest_message) : null));
    }));
    // Completed deployments collapsed by default, active ones expanded.
    if (stageToggle.dataset.user !== "1") setStagesOpen(active);
  }

  function setStagesOpen(open) {
    stageList.hidden = !open;
    stageToggle.setAttribute("aria-expanded", String(open));
    const done = progress.steps.filter((s) => s.status === "completed").length;
    stageToggle.textContent = open ? "Collapse" : `Show all ${progress.steps.length} (${done} completed)`;
  }
  stageToggle.addEventListener("click", () => {
    stageToggle.dataset.user = "1";
    setStagesOpen(stageList.hidden);
  });

  async function paintError() {
    if (dep.status !== "failed") {
      errorBox.replaceChildren();
      return;
    }
    let line = null;
    try {
      const errs = await api(`/deployments/${id}/logs`, { query: { level: "error", tail: true, limit: 20 } });
      line = [...errs.logs].reverse().find((l) => l.data?.error_code) ?? errs.logs[errs.logs.length - 1] ?? null;
    } catch { /* the summary alone still helps */ }
    const data = line?.data ?? {};
    const hints = data.troubleshooting ?? data.hints ?? [];
    mount(errorBox, h("section#error-panel.card.error-panel", { role: "alert" },
      h("div.error-title",
        h("span.error-icon", { "aria-hidden": "true" }, "✗"),
        h("strong", "Deployment failed"),
        data.error_code ? h("code.error-code", data.error_code) : null,
        line?.step ? h("span.muted", ` in ${line.step}`) : null),
      h("p.error-summary", dep.error_message ?? line?.message ?? "No error message was recorded."),
      hints.length ? h("div", h("h3", "Troubleshooting"), h("ul.hints", hints.map((t) => h("li", t)))) : null,
      line ? h("a.small", { href: `#L${line.seq}`, onclick: (e) => { e.preventDefault(); history.replaceState(null, "", `#L${line.seq}`); view.openAt(line.seq); } }, "Show the line in the log") : null));
  }

  async function refreshProgress() {
    if (refreshing) { scheduleRefresh(); return; }
    refreshing = true;
    try {
      const wasActive = ACTIVE.has(dep.status);
      [progress, dep] = await Promise.all([api(`/deployments/${id}/progress`), api(`/deployments/${id}`)]);
      setPercent(progress.progress_percent);
      paintHeader();
      paintStages();
      if (wasActive && !ACTIVE.has(dep.status)) paintError();
    } catch { /* the next event tries again */ } finally {
      refreshing = false;
    }
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshProgress, 150);
  }

  async function cancel() {
    if (!confirmDialog("Cancel this deployment? Running commands on the server are stopped.")) return;
    try {
      await api(`/deployments/${id}/cancel`, { method: "POST" });
      toast({ status: "cancelled", title: "Cancel requested" });
      scheduleRefresh();
    } catch (e) {
      toast({ status: "failed", title: "Could not cancel", body: e.message });
    }
  }

  async function redeploy() {
    try {
      const d = await api("/deployments", { method: "POST", body: { environment_id: dep.environment_id } });
      navigate(`/deployments/${d.id}`);
    } catch (e) {
      toast({ status: "failed", title: "Could not deploy", body: e.message });
    }
  }

  function filterStep(step) {
    stepChip.hidden = !step;
    if (step) {
      const s = progress.steps.find((x) => x.id === step);
      mount(stepChip, `Stage: ${s?.name ?? step} `, h("button.chip-x", { type: "button", "aria-label": "Show all stages", onclick: () => filterStep("") }, "×"));
    }
    view.setFilter({ step });
    paintStages();
  }

  level.addEventListener("change", () => view.setFilter({ level: level.value === "all" ? "" : level.value }));
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); view.setFilter({ q: search.value.trim() }); }
    if (e.key === "Escape" && search.value) { search.value = ""; view.setFilter({ q: "" }); }
  });
  search.addEventListener("search", () => { if (!search.value) view.setFilter({ q: "" }); });
  follow.addEventListener("change", () => (follow.checked ? view.jumpToLive() : view.setFollowing(false)));
  jump.addEventListener("click", () => view.jumpToLive());

  // The bar never moves back while the deployment runs: `/progress` may answer with a
  // percent older than the newest line's.
  function setPercent(p) {
    if (dep.status === "success") p = 100;
    else if (ACTIVE.has(dep.status)) p = Math.max(shown, p ?? 0);
    shown = p;
    progress.progress_percent = p;
  }

  // ---- live
  onLine = (d, seq) => {
    view.push({ seq, level: d.level, message: d.message, timestamp: d.timestamp, step: d.step, data: d.data ?? null });
    const statusChanged = d.status && d.status !== dep.status;
    if (d.progress_percent !== undefined && d.progress_percent !== progress.progress_percent && !statusChanged) {
      setPercent(d.progress_percent);
      paintHeader();
    }
    if (statusChanged) {
      dep.status = d.status;
      paintHeader();
    }
    if (statusChanged || (d.step && d.step !== lastStep)) {
      lastStep = d.step;
      scheduleRefresh();
    }
  };
  const tick = setInterval(() => {
    if (!ACTIVE.has(dep.status)) return;
    paintHeader();
    const running = stageList.querySelector('.stage[data-status="running"] .stage-duration');
    const s = progress.steps.find((x) => x.status === "running");
    if (running && s?.started_at) running.textContent = duration(since(s.started_at, null));
  }, 1000);

  paintHeader();
  paintStages();
  paintError();
  const m = location.hash.match(/^#L(\d+)$/);
  const opening = m ? view.openAt(Number(m[1])) : view.openTail();
  for (const [d, seq] of early.splice(0)) onLine(d, seq);
  progressRead.then((p) => {
    progress = p;
    setPercent(p.progress_percent);
    lastStep = p.current_step;
    paintHeader();
    paintStages();
  }).catch(() => {});
  await opening;
  // For the browser tests: every line the viewer took in, in arrival order.
  window.__pp = { receivedSeqs: () => view.accepted.slice(), view };

  return () => {
    off();
    clearInterval(tick);
    clearTimeout(refreshTimer);
    view.destroy();
    if (window.__pp?.view === view) delete window.__pp;
  };
}

function metaItem(label, value) {
  return h("div.meta-item", h("dt", label), h("dd", value));
}

