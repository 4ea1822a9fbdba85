// The log viewer: a virtual list over a window of a deployment's log.
//
// Why a window: a deployment may have millions of lines. The viewer holds at most
// MAX_LINES of them in memory (a contiguous slice of the log, in order) and keeps only
// the rows in view, plus a margin, in the DOM (fixed row height, absolutely placed rows
// that are reused). Opening reads the tail (one keyset page from the server); scrolling
// to either end of the slice reads the next page there (`before_seq` / `after_seq`) and
// drops lines from the far end when the slice grows past MAX_LINES.
//
// Live lines arrive from the tab's stream through push(); they are batched into one
// render per animation frame. While following, the view sticks to the bottom; scrolling
// up pauses following ("Jump to live" resumes it). A line is shown once: live lines with
// a seq at or below the newest one loaded are dropped, and lines that arrive while the
// first page is in flight wait for it.

import { h } from "./dom.js";
import { api } from "./api.js";
import { ansiRuns, stripAnsi } from "./ansi.js";
import { clock } from "./format.js";

export const ROW_HEIGHT = 20;
const PAGE = 1000;
const MAX_LINES = 20000;
const OVERSCAN = 30;
const EDGE_ROWS = 40;

export class LogView {
  /**
   * @param {HTMLElement} root  the scroll container (#log-viewer)
   * @param {{deploymentId: string, onSelect?: Function, onFollow?: Function}} opts
   */
  constructor(root, { deploymentId, onSelect, onFollow }) {
    this.root = root;
    this.deploymentId = deploymentId;
    this.onSelect = onSelect || (() => {});
    this.onFollow = onFollow || (() => {});
    this.filter = { level: "", q: "", step: "" };
    this.lines = [];
    this.hasBefore = false;
    this.hasAfter = false; // lines exist after the slice (the slice is not at the live end)
    this.following = true;
    this.loading = null;
    this.pending = [];
    this.queued = [];
    this.frame = 0;
    this.selectedSeq = null;
    this.accepted = []; // every seq taken in since the last (re)open, in arrival order
    this.generation = 0;
    this.rows = new Map(); // index → element
    this.spacer = h("div.log-spacer");
    this.layer = h("div.log-layer", { role: "list", "aria-label": "Log lines" });
    this.status = h("div.log-state", { "aria-live": "polite" });
    root.replaceChildren(this.spacer, this.layer, this.status);
    this.programmatic = false;
    root.addEventListener("scroll", () => this.onScroll(), { passive: true });
    root.addEventListener("keydown", (e) => this.onKey(e));
    root.addEventListener("click", (e) => {
      const row = e.target.closest(".log-row");
      if (!row || e.target.closest("a")) return;
      this.select(Number(row.dataset.seq));
    });
    this.resizeObserver = new ResizeObserver(() => this.paint());
    this.resizeObserver.observe(root);
  }

  destroy() {
    this.generation++;
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
  }

  /** Lines currently held (for tests and the page's counters). */
  seqs() {
    return this.lines.map((l) => l.seq);
  }

  matches(l) {
    if (this.filter.level && l.level !== this.filter.level) return false;
    if (this.filter.step && l.step !== this.filter.step) return false;
    if (this.filter.q && !stripAnsi(l.message).toLowerCase().includes(this.filter.q.toLowerCase())) return false;
    return true;
  }

  async fetchPage(params) {
    const body = await api(`/deployments/${this.deploymentId}/logs`, {
      query: { limit: PAGE, level: this.filter.level, q: this.filter.q, step: this.filter.step, ...params },
    });
    return body.logs;
  }

  /** (Re)opens at the live end: the last page, then live lines. */
  async openTail() {
    const gen = ++this.generation;
    this.lines = [];
    this.pending = [];
    this.queued = [];
    this.setFollowing(true);
    this.showState("Loading…");
    const load = this.fetchPage({ tail: true });
    this.loading = load;
    let page;
    try {
      page = await load;
    } catch (e) {
      if (gen === this.generation) this.showState(`Could not load the log: ${e.message}`);
      throw e;
    } finally {
      if (this.loading === load) this.loading = null;
    }
    if (gen !== this.generation) return;
    this.lines = page;
    this.accepted = page.map((l) => l.seq);
    this.hasBefore = page.length === PAGE;
    this.hasAfter = false;
    const newest = this.newestSeq();
    const waiting = this.pending.filter((l) => l.seq > newest);
    this.pending = [];
    this.layout();
    this.scrollToBottom();
    this.paint();
    this.showState(this.lines.length || waiting.length ? "" : this.emptyText());
    await nextPaint();
    if (gen === this.generation) performance.mark("pp:logs-first-paint");
    for (const l of waiting) this.push(l);
  }

  /** Opens around one line (a `#L<seq>` link) and highlights it. */
  async openAt(seq) {
    const gen = ++this.generation;
    this.setFollowing(false);
    this.showState("Loading…");
    const before = await this.fetchPage({ before_seq: seq, limit: PAGE / 2 });
    const after = before.length
      ? await this.fetchPage({ after_seq: before[before.length - 1].seq, limit: PAGE / 2 })
      : await this.fetchPage({ limit: PAGE / 2 });
    if (gen !== this.generation) return;
    this.lines = before.concat(after);
    this.accepted = this.lines.map((l) => l.seq);
    this.hasBefore = before.length === PAGE / 2;
    this.hasAfter = after.length === PAGE / 2;
    this.pending = [];
    this.layout();
    const i = this.lines.findIndex((l) => l.seq === seq);
    this.showState(i < 0 ? "That line is not in this log (or not in the current filter)." : "");
    if (i >= 0) {
      this.selectedSeq = seq;
      this.scrollToIndex(i);
      this.onSelect(this.lines[i]);
    }
    this.paint();
    await nextPaint();
    performance.mark("pp:logs-first-paint");
  }

  setFilter(filter) {
    Object.assign(this.filter, filter);
    return this.openTail();
  }

  emptyText() {
    return this.filter.level || this.filter.q || this.filter.step ? "No lines match the filter." : "No log lines yet.";
  }

  newestSeq() {
    return this.lines.length ? this.lines[this.lines.length - 1].seq : -1;
  }

  /** A live line from the stream. */
  push(line) {
    if (this.loading) {
      this.pending.push(line);
      return;
    }
    if (this.hasAfter || line.seq <= this.newestSeq() || !this.matches(line)) return;
    this.queued.push(line);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    if (!this.queued.length) return;
    let batch = this.queued;
    this.queued = [];
    const newest = this.newestSeq();
    batch = batch.filter((l) => l.seq > newest);
    if (!batch.length) return;
    if (!this.following && this.lines.length + batch.length > MAX_LINES) {
      // Paused and full: stop at the slice's end; "Jump to live" reloads the tail.
      this.hasAfter = true;
      return;
    }
    for (const l of batch) {
      this.lines.push(l);
      this.accepted.push(l.seq);
    }
    if (this.lines.length > MAX_LINES) {
      const drop = this.lines.length - MAX_LINES;
      this.lines.splice(0, drop);
      this.hasBefore = true;
      if (!this.following) this.root.scrollTop -= drop * ROW_HEIGHT;
    }
    if (this.status.textContent) this.showState("");
    this.layout();
    if (this.following) this.scrollToBottom();
    this.paint();
  }

  layout() {
    this.spacer.style.height = `${this.lines.length * ROW_HEIGHT}px`;
  }

  scrollToBottom() {
    this.programmatic = true;
    this.root.scrollTop = this.root.scrollHeight;
  }

  scrollToIndex(i) {
    this.programmatic = true;
    this.root.scrollTop = Math.max(0, i * ROW_HEIGHT - this.root.clientHeight / 2);
  }

  setFollowing(on) {
    if (this.following === on) return;
    this.following = on;
    this.onFollow(on);
  }

  /** Back to the live end. */
  jumpToLive() {
    if (this.hasAfter) return this.openTail();
    this.setFollowing(true);
    this.scrollToBottom();
    this.paint();
  }

  onScroll() {
    const { scrollTop, clientHeight, scrollHeight } = this.root;
    const atBottom = scrollTop + clientHeight >= scrollHeight - ROW_HEIGHT * 2;
    if (this.programmatic) {
      this.programmatic = false;
    } else if (atBottom && !this.hasAfter) {
      this.setFollowing(true);
    } else if (!atBottom) {
      this.setFollowing(false);
    }
    this.paint();
    if (!this.loading) {
      if (this.hasBefore && scrollTop < EDGE_ROWS * ROW_HEIGHT) this.loadBefore();
      else if (this.hasAfter && scrollTop + clientHeight > scrollHeight - EDGE_ROWS * ROW_HEIGHT) this.loadAfter();
    }
  }

  async loadBefore() {
    const gen = this.generation;
    const first = this.lines[0];
    if (!first) return;
    const load = this.fetchPage({ before_seq: first.seq });
    this.loading = load;
    try {
      const page = await load;
      if (gen !== this.generation) return;
      this.hasBefore = page.length === PAGE;
      if (!page.length) return;
      this.lines = page.concat(this.lines);
      for (const l of page) this.accepted.push(l.seq);
      this.programmatic = true;
      this.root.scrollTop += page.length * ROW_HEIGHT;
      if (this.lines.length > MAX_LINES) {
        this.lines.length = MAX_LINES;
        this.hasAfter = true;
        this.setFollowing(false);
      }
      this.layout();
      this.paint();
    } finally {
      if (this.loading === load) this.loading = null;
      this.flushPending();
    }
  }

  async loadAfter() {
    const gen = this.generation;
    const last = this.lines[this.lines.length - 1];
    if (!last) return;
    const load = this.fetchPage({ after_seq: last.seq });
    this.loading = load;
    try {
      const page = await load;
      if (gen !== this.generation) return;
      this.hasAfter = page.length === PAGE;
      this.lines = this.lines.concat(page);
      for (const l of page) this.accepted.push(l.seq);
      if (this.lines.length > MAX_LINES) {
        const drop = this.lines.length - MAX_LINES;
        this.lines.splice(0, drop);
        this.hasBefore = true;
        this.programmatic = true;
        this.root.scrollTop -= drop * ROW_HEIGHT;
      }
      this.layout();
      this.paint();
    } finally {
      if (this.loading === load) this.loading = null;
      this.flushPending();
    }
  }

  flushPending() {
    const waiting = this.pending;
    this.pending = [];
    for (const l of waiting) this.push(l);
  }

  /** Places the rows in view; reuses elements, so the DOM holds a few dozen rows. */
  paint() {
    const { scrollTop, clientHeight } = this.root;
    const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.lines.length, Math.ceil((scrollTop + clientHeight) / ROW_HEIGHT) + OVERSCAN);
    for (const [i, el] of this.rows) {
      if (i < first || i >= last || this.lines[i]?.seq !== Number(el.dataset.seq)) {
        el.remove();
        this.rows.delete(i);
      }
    }
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      if (this.rows.has(i)) continue;
      const el = this.row(this.lines[i]);
      el.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
      this.rows.set(i, el);
      frag.append(el);
    }
    this.layer.append(frag);
  }

  row(l) {
    const msg = h("span.log-msg");
    for (const run of ansiRuns(l.message.replaceAll("\n", " ⏎ "))) {
      msg.append(run.cls ? h("span", { class: run.cls }, run.text) : run.text);
    }
    const el = h("div.log-row", {
      role: "listitem",
      dataset: { seq: l.seq, level: l.level },
      class: l.seq === this.selectedSeq ? "highlight" : "",
    },
    h("a.log-link", { href: `#L${l.seq}`, "aria-label": `Link to line ${l.seq}`, tabindex: -1, onclick: (e) => { e.preventDefault(); history.replaceState(null, "", `#L${l.seq}`); this.select(l.seq); } }, "#"),
    h("time.log-time", { datetime: l.timestamp }, clock(l.timestamp)),
    h("span.log-level", l.level.toUpperCase()),
    msg);
    return el;
  }

  select(seq) {
    this.selectedSeq = seq;
    for (const el of this.layer.children) el.classList.toggle("highlight", Number(el.dataset.seq) === seq);
    const line = this.lines.find((l) => l.seq === seq);
    if (line) this.onSelect(line);
  }

  onKey(e) {
    const step = { ArrowDown: 1, ArrowUp: -1, PageDown: 20, PageUp: -20 }[e.key];
    if (e.key === "End") { e.preventDefault(); this.jumpToLive(); return; }
    if (e.key === "Home") { e.preventDefault(); this.root.scrollTop = 0; return; }
    if (!step) return;
    e.preventDefault();
    this.root.scrollTop += step * ROW_HEIGHT;
  }

  showState(text) {
    this.status.textContent = text;
    this.status.hidden = !text;
  }
}

/** Resolves after the browser has painted the current DOM. */
function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
