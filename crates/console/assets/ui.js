// Small pieces of UI shared by the pages: status badges, empty and error states, forms.

import { h } from "./dom.js";
import { STATUS_LABEL } from "./format.js";

export function badge(status, extraClass = "") {
  return h(`span.badge.badge-${status}${extraClass}`, { dataset: { status } }, STATUS_LABEL[status] ?? status ?? "—");
}

export function errorPage(e) {
  const notFound = e?.status === 404;
  return h("section.empty-page",
    h("h1", notFound ? "Not found" : "Something went wrong"),
    h("p", notFound ? "It does not exist, or you do not have access to it." : e?.message || String(e)),
    h("a.btn", { href: "/" }, "Go home"));
}

export function empty(title, text, action) {
  return h("div.empty", h("strong", title), text ? h("p.muted", text) : null, action || null);
}

export function pageHeader(title, subtitle, ...actions) {
  return h("div.page-header",
    h("div", h("h1", title), subtitle ? h("p.muted", subtitle) : null),
    actions.length ? h("div.page-actions", actions) : null);
}

/** A labelled field. `input` is an element; `hint` is optional help text. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div.field", h("label", { for: id }, label), input, hint ? h("small.muted", hint) : null);
}

export function select(name, options, value) {
  return h("select", { name },
    options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, label)));
}

/** Shows an API error under a form (its detail names the field). */
export function formError(el, err) {
  el.textContent = err ? err.message : "";
  el.hidden = !err;
}

export function confirmDialog(message) {
  return window.confirm(message);
}
