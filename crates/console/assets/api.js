// The REST client and the browser session.
//
// The access token lives in this module's memory only; the refresh token is an HttpOnly
// cookie the page cannot read (see the server's routes/session.rs). A page reload starts
// with no access token and gets one from the cookie. Every 401 is retried once after a
// refresh; when that fails too, the user is sent to the login page with a link back.

const CSRF = { "X-Paasportal-CSRF": "1" };
let access = null;
let refreshTimer = null;
let refreshing = null;
let me = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    super(detailText(body?.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function detailText(detail) {
  if (!detail) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((p) => (p.loc ? `${[].concat(p.loc).filter((x) => x !== "body").join(".")}: ${p.msg}` : p.msg || JSON.stringify(p))).join("; ");
  }
  return JSON.stringify(detail);
}

/** Called with the user (or null) whenever the session changes. */
export function onSession(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setAccess(body) {
  access = body.access_token;
  clearTimeout(refreshTimer);
  // Renew a minute before expiry (or at 80 % of short lifetimes).
  const ms = Math.max(5, Math.min(body.expires_in - 60, body.expires_in * 0.8)) * 1000;
  refreshTimer = setTimeout(() => refresh().catch(() => {}), ms);
}

async function sessionCall(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { ...CSRF, ...(body ? { "Content-Type": "application/json" } : {}), ...(access ? { Authorization: `Bearer ${access}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** One refresh at a time; resolves to true when a new access token was obtained. */
export function refresh() {
  refreshing ??= sessionCall("POST", "/api/v1/auth/session/refresh")
    .then((body) => { setAccess(body); return true; })
    .catch(() => { access = null; return false; })
    .finally(() => { refreshing = null; });
  return refreshing;
}

export async function login(email, password) {
  const body = await sessionCall("POST", "/api/v1/auth/session", { email, password });
  setAccess(body);
  await loadMe();
}

export async function logout() {
  try { await sessionCall("DELETE", "/api/v1/auth/session"); } catch { /* the cookie is cleared anyway */ }
  access = null;
  me = null;
  clearTimeout(refreshTimer);
  listeners.forEach((fn) => fn(null));
}

/** Restores the session from the refresh cookie; resolves to the user or null. */
export async function restore() {
  if (!(await refresh())) return null;
  return loadMe();
}

export async function loadMe() {
  me = await api("/auth/me");
  listeners.forEach((fn) => fn(me));
  return me;
}

export const currentUser = () => me;

/** `api("/deployments", {query: {status: "failed"}})` → parsed JSON. */
export async function api(path, { method = "GET", body, query, raw = false } = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const send = () => fetch(url, {
    method,
    headers: {
      ...(access ? { Authorization: `Bearer ${access}` } : {}),
      ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  if (res.status === 401) {
    access = null;
    me = null;
    listeners.forEach((fn) => fn(null));
  }
  if (raw) return res;
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** A single-use ticket for the event stream (no token in any URL). */
export const streamTicket = () => api("/events/ticket", { method: "POST" }).then((t) => t.ticket);

/** A download with the bearer token (an `<a href>` cannot send it). */
export async function download(path, filename) {
  const res = await api(path, { raw: true });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const blob = await res.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---- permissions, mirrored from core/src/access.rs (the server enforces; this only hides buttons)

export function orgRole(orgId) {
  return me?.organizations.find((m) => m.organization_id === orgId)?.role ?? null;
}

export function projectRole(projectId) {
  return me?.projects.find((m) => m.project_id === projectId)?.role ?? null;
}

export function isAdmin() {
  return Boolean(me?.is_portal_admin);
}

/** May deploy, cancel and manage in this project. */
export function canDeploy(orgId, projectId) {
  if (isAdmin()) return true;
  const o = orgRole(orgId);
  if (o === "owner" || o === "admin") return true;
  return projectRole(projectId) === "admin";
}

export function canManageOrg(orgId) {
  if (isAdmin()) return true;
  const o = orgRole(orgId);
  return o === "owner" || o === "admin";
}
