// The login page. After logging in the user lands where they were going (`?next=`).

import { h, mount } from "./dom.js";
import * as api from "./api.js";
import { navigate, safeNext } from "./router.js";

export const title = () => "Log in";

export function render(main, _params, query) {
  const error = h("p.form-error#login-error", { role: "alert", hidden: true });
  const email = h("input#login-email", { type: "email", name: "email", autocomplete: "username", required: true, autofocus: true });
  const password = h("input#login-password", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const submit = h("button.btn.btn-primary.btn-block#login-submit", { type: "submit" }, "Log in");
  const form = h("form#login-form.card.login-card", { novalidate: false },
    h("div.login-brand", h("span.logo", { "aria-hidden": "true" }), h("span", "paasportal")),
    h("h1", "Log in"),
    h("p.muted", "Deployments of your Odoo environments, live."),
    h("label", { for: "login-email" }, "E-mail"), email,
    h("label", { for: "login-password" }, "Password"), password,
    error, submit,
    h("p.muted.small", "The first administrator's password is printed once by ", h("code", "paasportal serve"), " on its first start."));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = "Logging in…";
    try {
      await api.login(email.value.trim(), password.value);
      navigate(safeNext(query.get("next")), { replace: true });
    } catch (err) {
      error.textContent = err.status === 401 ? "Wrong e-mail or password." : err.status === 429 ? "Too many attempts; wait a moment and try again." : err.message;
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = "Log in";
      password.select();
    }
  });
  mount(main, h("section.login-page", form));
  email.focus();
}
