// Durations, dates and small text helpers shared by the pages.

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export function since(start, end) {
  if (!start) return null;
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : Date.now();
  return Math.max(0, (b - a) / 1000);
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
export function ago(iso) {
  if (!iso) return "—";
  const s = (Date.parse(iso) - Date.now()) / 1000;
  const abs = Math.abs(s);
  if (abs < 45) return rtf.format(Math.round(s), "second");
  if (abs < 2700) return rtf.format(Math.round(s / 60), "minute");
  if (abs < 79200) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

export function dateTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function clock(iso) {
  const d = new Date(iso);
  return d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

export const shortSha = (s) => (s ? s.slice(0, 8) : "—");
export const number = (n) => (n ?? 0).toLocaleString();

export const STATUS_LABEL = {
  pending: "Queued", running: "Running", success: "Succeeded", failed: "Failed", cancelled: "Cancelled",
  completed: "Completed", warning: "Warning", skipped: "Skipped",
};

export const STAGE_ICON = {
  completed: "✓", running: "⟳", failed: "✗", pending: "○", warning: "⚠", skipped: "⤼", cancelled: "⊘",
};
