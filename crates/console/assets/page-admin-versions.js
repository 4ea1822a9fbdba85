// Odoo versions: the image each version deploys, with optional registry credentials.

import { crudPage } from "./crud.js";
import { isAdmin } from "./api.js";
import { h } from "./dom.js";

export const title = () => "Odoo versions";

export async function render(main) {
  await crudPage(main, {
    thing: "version",
    title: "Odoo versions",
    subtitle: "Which image each Odoo version deploys. Registry passwords are write-only.",
    path: "/odoo-versions",
    label: (v) => v.version,
    canCreate: isAdmin(),
    canEdit: () => isAdmin(),
    columns: [
      { label: "Version", value: (v) => h("strong", v.version) },
      { label: "Image", value: (v) => h("code", v.image) },
      { label: "Registry user", value: (v) => v.registry_username ?? "—" },
      { label: "Registry password", value: (v) => (v.has_registry_password ? "set" : "—") },
    ],
    fields: [
      { name: "version", label: "Version", required: true, edit: false, placeholder: "18.0" },
      { name: "image", label: "Image", required: true, placeholder: "odoo:18.0" },
      { name: "registry_username", label: "Registry user", edit: false },
      { name: "registry_password", label: "Registry password", type: "password", writeOnly: true, edit: false },
    ],
  });
}
