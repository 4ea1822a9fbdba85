// Toasts: a deployment the user can see succeeded, failed or was cancelled. One toast per
// deployment outcome, whichever page is open (fed by the tab's one stream).

import { h } from "./dom.js";
import { subscribe } from "./stream.js";
import { navigate } from "./router.js";

const FINISHED = new Set(["success", "failed", "cancelled"]);
const shown = new Set();

export function toast({ status, title, body, href, deploymentId }) {
  const box = document.getElementById("toasts");
  const close = () => el.remove();
  const el = h(
    "div.toast",
    { role: status === "failed" ? "alert" : "status", dataset: { status, deploymentId: deploymentId || "" } },
    h("div.toast-icon", { "aria-hidden": "true" }, status === "success" ? "✓" : status === "failed" ? "✗" : "⊘"),
    h("div.toast-text",
      h("strong", title),
      body ? h("div.toast-body", body) : null,
      href ? h("a", { href, onclick: (e) => { e.preventDefault(); close(); navigate(href); } }, "View deployment") : null),
    h("button.toast-close", { type: "button", "aria-label": "Dismiss", onclick: close }, "×"),
  );
  box.append(el);
  setTimeout(close, status === "failed" ? 15000 : 6000);
  while (box.children.length > 4) box.firstElementChild.remove();
}

export function startToasts() {
  return subscribe("deployment_progress", (d) => {
    if (!FINISHED.has(d.status) || shown.has(d.deployment_id)) return;
    shown.add(d.deployment_id);
    const where = `${d.project_name ?? "project"} / ${d.environment_name ?? "environment"}`;
    const error = d.error_message ?? d.data?.error_message ?? (d.level === "error" ? d.message : null);
    toast({
      status: d.status,
      deploymentId: d.deployment_id,
      title: d.status === "success" ? `Deployed ${where}` : d.status === "failed" ? `Deployment of ${where} failed` : `Deployment of ${where} cancelled`,
      body: d.status === "failed" ? error : null,
      href: `/deployments/${d.deployment_id}`,
    });
  });
}
