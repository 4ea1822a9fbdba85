// The console's entry point: the session, the routes, the header and the tab's stream.

import { $, h, mount } from "./dom.js";
import * as api from "./api.js";
import * as stream from "./stream.js";
import { route, start, navigate, render, safeNext } from "./router.js";
import { errorPage } from "./ui.js";
import { startToasts } from "./toasts.js";

route("/login", "login", () => import("./page-login.js"));
route("/", "home", () => import("./page-home.js"));
route("/deployments", "deployments", () => import("./page-deployments.js"));
route("/deployments/:id", "deployment", () => import("./page-deployment.js"));
route("/projects/:id/stats", "stats", () => import("./page-stats.js"));
route("/projects/:id", "project", () => import("./page-project.js"));
route("/organizations/:id", "organization", () => import("./page-organization.js"));
route("/admin/users", "admin-users", () => import("./page-admin-users.js"));
route("/admin/servers", "admin-servers", () => import("./page-admin-servers.js"));
route("/admin/versions", "admin-versions", () => import("./page-admin-versions.js"));
route("/admin/repositories", "admin-repositories", () => import("./page-admin-repositories.js"));
route("/admin/environments", "admin-environments", () => import("./page-admin-environments.js"));

const main = $("#main");
let user = null;

async function onRoute(path, query, token) {
  const { match } = await import("./router.js");
  const r = match(path);
  if (!r) {
    document.body.dataset.page = "not-found";
    mount(main, h("section.empty-page", h("h1", "Page not found"), h("p", "Nothing lives at ", h("code", path), "."), h("a.btn", { href: "/" }, "Go home")));
    return null;
  }
  if (r.name !== "login" && !user) {
    const next = location.pathname + location.search + location.hash;
    navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    return null;
  }
  if (r.name === "login" && user) {
    navigate(safeNext(query.get("next")), { replace: true });
    return null;
  }
  const mod = await r.load();
  document.body.dataset.page = r.name;
  document.title = `${mod.title?.(r.params) ?? "paasportal"} · paasportal`;
  highlightNav(path);
  main.replaceChildren();
  main.removeAttribute("aria-busy");
  try {
    return await mod.render(main, r.params, query, token);
  } catch (e) {
    console.error(e);
    mount(main, errorPage(e));
    return null;
  }
}

function highlightNav(path) {
  for (const a of document.querySelectorAll("#mainnav a")) {
    const href = a.getAttribute("href");
    const on = href === "/" ? path === "/" : path.startsWith(href);
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function renderHeader() {
  const bar = $("#topbar");
  bar.hidden = !user;
  if (!user) return;
  const links = [["/", "Environments"], ["/deployments", "Deployments"]];
  const manager = user.is_portal_admin || user.organizations.some((m) => m.role !== "member") || user.projects.some((m) => m.role === "admin");
  if (manager) links.push(["/admin/environments", "Manage"], ["/admin/servers", "Servers"], ["/admin/repositories", "Repositories"]);
  if (user.is_portal_admin) links.push(["/admin/versions", "Odoo versions"], ["/admin/users", "Users"]);
  mount($("#mainnav"), links.map(([href, label]) => h("a", { href }, label)));
  mount($("#user-menu"),
    h("span.user-email", { title: user.name }, user.email),
    h("button.btn.btn-ghost#logout", { type: "button", onclick: doLogout }, "Log out"));
}

async function doLogout() {
  stream.disconnect();
  await api.logout();
  navigate("/login", { replace: true });
}

function renderConn(state, attempts) {
  const el = $("#conn");
  el.dataset.state = state;
  const label = { idle: "Offline", connecting: "Connecting…", live: "Live", reconnecting: `Reconnecting… (${attempts}/10)`, "gave-up": "Disconnected" }[state];
  mount(el,
    h("span.dot", { "aria-hidden": "true" }),
    h("span.conn-label", label),
    state === "gave-up" ? h("button.btn.btn-small#conn-retry", { type: "button", onclick: () => stream.retry() }, "Retry") : null);
}

api.onSession((u) => {
  const was = user;
  user = u;
  renderHeader();
  if (u && !was) stream.connect({ fresh: true });
  if (!u && was) {
    stream.disconnect();
    if (document.body.dataset.page !== "login") render();
  }
});

stream.onState(renderConn);
// Losing a membership changes what this user may do: reload it and the page.
stream.subscribe("permissions_changed", async () => {
  const access = (u) => JSON.stringify(u && [u.is_portal_admin, u.organizations, u.projects]);
  const before = access(api.currentUser());
  try {
    const after = access(await api.loadMe());
    if (after !== before) render(); // only when this user's access really changed
  } catch { /* signed out */ }
});
startToasts();

(async () => {
  // The session listener above sets `user` and opens the stream.
  try { await api.restore(); } catch { /* logged out */ }
  renderHeader();
  await start(onRoute);
})();
