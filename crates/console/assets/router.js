// Client-side routes: the path picks a page; links with a same-origin href navigate
// without a reload. Each page's render(main, params, query) may return a cleanup
// function, called when the user leaves it (to drop stream subscriptions and timers).

const routes = [];
let cleanup = null;
let onRoute = null;
let seq = 0;

/** `route("/deployments/:id", "deployment", () => import("./page-deployment.js"))` */
export function route(pattern, name, load) {
  const keys = [];
  const re = new RegExp(
    "^" + pattern.replace(/:([a-z_]+)/g, (_, k) => { keys.push(k); return "([^/]+)"; }) + "/?$",
  );
  routes.push({ re, keys, name, load });
}

export function match(path) {
  for (const r of routes) {
    const m = path.match(r.re);
    if (m) return { ...r, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

export function start(handler) {
  onRoute = handler;
  addEventListener("popstate", () => render());
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a[href]");
    if (!a || a.target || a.hasAttribute("download") || e.defaultPrevented) return;
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    e.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  return render();
}

export function navigate(to, { replace = false } = {}) {
  const here = location.pathname + location.search + location.hash;
  if (to === here && !replace) return;
  (replace ? history.replaceState : history.pushState).call(history, null, "", to);
  return render();
}

/** Re-renders the current route (e.g. after login). */
export async function render() {
  const mine = ++seq;
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  const r = await onRoute(location.pathname, new URLSearchParams(location.search), mine);
  if (mine === seq) cleanup = r || null;
  else if (typeof r === "function") r();
}

export const current = () => seq;

/** Only same-origin paths: `next` comes from the URL and must not send the user elsewhere. */
export function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") && !next.startsWith("/login") ? next : "/";
}
