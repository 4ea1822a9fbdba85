// Users (portal administrators): create, rename, reset a password, grant or revoke admin.

import { h } from "./dom.js";
import { currentUser } from "./api.js";
import { crudPage } from "./crud.js";
import { ago } from "./format.js";

export const title = () => "Users";

export async function render(main) {
  await crudPage(main, {
    thing: "user",
    title: "Users",
    subtitle: "Everyone who can log in. Access to organizations and projects is granted on their pages.",
    path: "/users",
    label: (u) => u.email,
    columns: [
      { label: "Name", value: (u) => u.name },
      { label: "E-mail", value: (u) => u.email },
      { label: "Role", value: (u) => (u.is_portal_admin ? h("span.badge.badge-running", "Portal admin") : "User") },
      { label: "Created", value: (u) => ago(u.created_at) },
    ],
    canEdit: (u) => u.id !== currentUser()?.id || true,
    fields: [
      { name: "name", label: "Name", required: true },
      { name: "email", label: "E-mail", type: "email", required: true },
      { name: "password", label: "Password", type: "password", required: true, writeOnly: true, hint: "At least 8 characters." },
      { name: "is_portal_admin", label: "Portal administrator", type: "checkbox" },
    ],
  });
}
