// A management list: a table of things, a form to create one, edit in place, delete.
// Each admin page describes its columns and fields; this module does the rest against the
// REST API (POST the collection, PATCH and DELETE one item). The API's 422 names the
// field; it is shown under the form.

import { h, mount } from "./dom.js";
import { api } from "./api.js";
import { confirmDialog, empty, field, formError } from "./ui.js";
import { toast } from "./toasts.js";

/**
 * @param {object} o
 * @param {string} o.thing      singular id, e.g. "server" (form#server-form, tr.server-row)
 * @param {string} o.title
 * @param {string} o.path       collection path, e.g. "/servers"
 * @param {object} [o.query]    list query
 * @param {Array}  o.columns    [{label, value: (item) => node}]
 * @param {Array}  o.fields     [{name, label, type, options, required, hint, edit, create, parse}]
 * @param {boolean} [o.canCreate]
 * @param {Function} [o.canEdit]   item → bool
 * @param {Function} [o.extra]     item → node (more actions in the row)
 * @param {Function} [o.prepare]   body → body before sending
 */
export async function crudPage(main, o) {
  const items = await api(o.path, { query: { limit: 500, ...(o.query || {}) } });
  const tbody = h("tbody");
  const editing = { id: null };
  const formBox = h("div");

  const paint = () => mount(tbody, items.map((it) => h(`tr.${o.thing}-row`, { dataset: { id: it.id } },
    o.columns.map((c) => h("td", c.value(it))),
    h("td.row-actions",
      o.extra ? o.extra(it) : null,
      o.canEdit?.(it) !== false && o.fields.some((f) => f.edit !== false) ? h("button.btn.btn-ghost.btn-small", { type: "button", onclick: () => openForm(it) }, "Edit") : null,
      o.canEdit?.(it) !== false && o.noDelete !== true ? h("button.btn.btn-ghost.btn-small", { type: "button", "aria-label": `Delete ${o.label?.(it) ?? ""}`, onclick: () => remove(it) }, "Delete") : null))));

  async function remove(it) {
    if (!confirmDialog(`Delete ${o.thing} ${o.label?.(it) ?? it.id}? This cannot be undone.`)) return;
    try {
      await api(`${o.path}/${it.id}`, { method: "DELETE" });
      items.splice(items.indexOf(it), 1);
      paint();
    } catch (e) {
      toast({ status: "failed", title: `Could not delete the ${o.thing}`, body: e.message });
    }
  }

  function openForm(it) {
    editing.id = it?.id ?? null;
    const fields = o.fields.filter((f) => (it ? f.edit !== false : f.create !== false));
    const inputs = new Map();
    const error = h("p.form-error", { role: "alert", hidden: true });
    const form = h(`form#${o.thing}-form.card.card-body.section-gap`, { "aria-label": it ? `Edit ${o.thing}` : `New ${o.thing}` },
      h("h2", it ? `Edit ${o.label?.(it) ?? o.thing}` : `New ${o.thing}`),
      h("div.form-grid.section-gap", fields.map((f) => {
        const input = inputFor(f, it);
        inputs.set(f.name, input);
        return field(f.label, input, it && f.writeOnly ? "Write-only: leave empty to keep the stored value." : f.hint);
      })),
      error,
      h("div.form-actions",
        h("button.btn.btn-primary", { type: "submit" }, it ? "Save" : `Create ${o.thing}`),
        h("button.btn.btn-ghost", { type: "button", onclick: () => formBox.replaceChildren() }, "Cancel")));
    for (const f of fields) if (f.onChange) inputs.get(f.name).addEventListener("change", () => f.onChange(inputs));
    for (const f of fields) if (f.onChange) f.onChange(inputs);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(error, null);
      let body;
      try {
        body = {};
        for (const f of fields) {
          const input = inputs.get(f.name);
          if (input.closest(".field")?.hidden) continue;
          const v = valueOf(f, input);
          if (v === undefined || (it && f.writeOnly && v === "")) continue;
          if (!it && v === "" && !f.required) continue;
          if (it && !f.writeOnly && JSON.stringify(v) === JSON.stringify(it[f.name])) continue;
          body[f.name] = v;
        }
        if (o.prepare) body = o.prepare(body, it);
      } catch (err) {
        formError(error, err);
        return;
      }
      try {
        const saved = it
          ? await api(`${o.path}/${it.id}`, { method: "PATCH", body })
          : await api(o.path, { method: "POST", body });
        if (it) items.splice(items.indexOf(it), 1, saved);
        else items.unshift(saved);
        paint();
        formBox.replaceChildren();
        toast({ status: "success", title: it ? `Saved ${o.thing}` : `Created ${o.thing}` });
        o.afterSave?.(saved);
      } catch (err) {
        formError(error, err);
      }
    });
    mount(formBox, form);
    form.querySelector("input, select, textarea")?.focus();
  }

  paint();
  mount(main,
    h("div.page-header",
      h("div", h("h1", o.title), o.subtitle ? h("p.muted", o.subtitle) : null),
      o.canCreate !== false ? h("div.page-actions", h("button.btn.btn-primary", { type: "button", id: `new-${o.thing}`, onclick: () => openForm(null) }, `New ${o.thing}`)) : null),
    formBox,
    h("section.card.section-gap",
      items.length === 0 && o.canCreate === false ? empty(`No ${o.thing}s`) : h("div.table-wrap", h("table",
        h("thead", h("tr", o.columns.map((c) => h("th", { scope: "col" }, c.label)), h("th", h("span", { class: "visually-hidden" }, "Actions")))),
        tbody))));
  return { items, openForm, paint };
}

function inputFor(f, it) {
  const current = it && !f.writeOnly ? it[f.name] : f.default;
  if (f.type === "select") {
    return h("select", { name: f.name, required: f.required },
      (typeof f.options === "function" ? f.options() : f.options).map(([v, label]) => h("option", { value: v, selected: String(v) === String(current ?? "") }, label)));
  }
  if (f.type === "checkbox") return h("input", { type: "checkbox", name: f.name, checked: Boolean(current) });
  if (f.type === "textarea" || f.type === "json") {
    const t = h("textarea", { name: f.name, placeholder: f.placeholder ?? "", spellcheck: "false" });
    t.value = f.type === "json" ? (current && Object.keys(current).length ? JSON.stringify(current, null, 2) : "") : (current ?? "");
    return t;
  }
  return h("input", {
    name: f.name,
    type: f.type || "text",
    required: f.required && !(it && f.writeOnly),
    value: current ?? "",
    step: f.step,
    min: f.min,
    placeholder: f.placeholder,
    autocomplete: f.type === "password" ? "new-password" : "off",
  });
}

function valueOf(f, input) {
  if (f.type === "checkbox") return input.checked;
  if (f.type === "number") return input.value === "" ? "" : Number(input.value);
  if (f.type === "json") {
    if (!input.value.trim()) return undefined;
    try { return JSON.parse(input.value); } catch (e) { throw new Error(`${f.label}: not valid JSON (${e.message})`); }
  }
  return f.parse ? f.parse(input.value) : input.value;
}
