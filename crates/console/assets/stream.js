// The one event stream of this tab (the spec's SSEProvider): every component subscribes
// here instead of opening its own connection.
//
// It opens `/api/v1/events/stream` with a single-use ticket (no token in the URL), keeps
// the last event id it saw, and on a dropped connection reconnects with the spec's backoff
// (1 s doubling, 10 attempts), resuming after that id: the server replays what was missed
// from the store, so subscribers see every event once, in order. The indicator in the
// header shows connecting / live / reconnecting / gave-up (with a retry button).

import { streamTicket } from "./api.js";

const MAX_ATTEMPTS = 10;
const BASE_DELAY_MS = 1000;
const TYPES = ["deployment_progress", "environment_status", "migration_progress", "permissions_changed"];

let source = null;
let lastId = null;
let attempts = 0;
let timer = null;
let state = "idle";
let generation = 0;
const handlers = new Map(); // type → Set(fn)
const stateListeners = new Set();

/** `subscribe("deployment_progress", (data, seq) => …)`; returns the unsubscribe function. */
export function subscribe(type, fn) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(fn);
  return () => handlers.get(type).delete(fn);
}

export function onState(fn) {
  stateListeners.add(fn);
  fn(state, attempts);
  return () => stateListeners.delete(fn);
}

export const connectionState = () => state;
export const lastEventId = () => lastId;

function setState(s) {
  state = s;
  stateListeners.forEach((fn) => fn(s, attempts));
}

function dispatch(type, e) {
  const seq = Number(e.lastEventId);
  if (e.lastEventId) {
    if (lastId !== null && seq <= lastId) return; // never twice
    lastId = seq;
  }
  let payload;
  try { payload = JSON.parse(e.data); } catch { return; }
  const data = payload && payload.data !== undefined ? payload.data : payload;
  const set = handlers.get(type);
  if (set) for (const fn of set) {
    try { fn(data, seq); } catch (err) { console.error("[stream] handler failed", err); }
  }
}

/** Opens the stream (again); `fresh` forgets the resume point (a new session). */
export async function connect({ fresh = false } = {}) {
  clearTimeout(timer);
  if (fresh) lastId = null;
  const mine = ++generation;
  source?.close();
  source = null;
  setState(attempts ? "reconnecting" : "connecting");
  let ticket;
  try {
    ticket = await streamTicket();
  } catch {
    if (mine === generation) retryLater();
    return;
  }
  if (mine !== generation) return;
  const url = new URL("/api/v1/events/stream", location.origin);
  url.searchParams.set("ticket", ticket);
  if (lastId !== null) url.searchParams.set("last_event_id", String(lastId));
  const es = new EventSource(url);
  source = es;
  es.addEventListener("connected", () => {
    attempts = 0;
    setState("live");
  });
  es.onopen = () => {
    attempts = 0;
    setState("live");
  };
  for (const t of TYPES) es.addEventListener(t, (e) => dispatch(t, e));
  es.onerror = () => {
    if (mine !== generation) return;
    // EventSource would retry with the same, now used, ticket: take over.
    es.close();
    retryLater();
  };
}

function retryLater() {
  if (attempts >= MAX_ATTEMPTS) {
    setState("gave-up");
    return;
  }
  const delay = BASE_DELAY_MS * 2 ** attempts;
  attempts += 1;
  setState("reconnecting");
  timer = setTimeout(() => connect(), delay);
}

/** The retry button: start counting again. */
export function retry() {
  attempts = 0;
  connect();
}

export function disconnect() {
  generation++;
  clearTimeout(timer);
  source?.close();
  source = null;
  attempts = 0;
  lastId = null;
  setState("idle");
}
