// Servers: register a deployment target with an SSH key or a password; the host key is
// pinned on the first connection and its fingerprint shown here.

import { h } from "./dom.js";
import { api, canManageOrg } from "./api.js";
import { crudPage } from "./crud.js";
import { ago } from "./format.js";

export const title = () => "Servers";

export async function render(main) {
  const orgs = await api("/organizations", { query: { limit: 500 } });
  const orgName = new Map(orgs.map((o) => [o.id, o.name]));
  const showFor = (method) => (inputs) => {
    const key = inputs.get("auth_method")?.value ?? "key";
    inputs.get(method === "key" ? "ssh_private_key" : "ssh_password")?.closest(".field")?.toggleAttribute("hidden", key !== method);
    if (method === "key") inputs.get("ssh_key_passphrase")?.closest(".field")?.toggleAttribute("hidden", key !== "key");
  };
  await crudPage(main, {
    thing: "server",
    title: "Servers",
    subtitle: "Machines paasportal deploys to over SSH. Credentials are write-only and encrypted at rest.",
    path: "/servers",
    label: (s) => s.name,
    canCreate: orgs.some((o) => canManageOrg(o.id)),
    canEdit: (s) => canManageOrg(s.organization_id),
    columns: [
      { label: "Name", value: (s) => h("strong", s.name) },
      { label: "Organization", value: (s) => orgName.get(s.organization_id) ?? "—" },
      { label: "Address", value: (s) => h("code", `${s.ssh_user}@${s.ip}:${s.ssh_port}`) },
      { label: "Auth", value: (s) => s.auth_method },
      { label: "Host key", value: (s) => (s.host_key_fingerprint ? h("span.fingerprint", { title: "Pinned on the first connection" }, s.host_key_fingerprint) : h("span.muted", "pinned on first deploy")) },
      { label: "Added", value: (s) => ago(s.created_at) },
    ],
    fields: [
      { name: "organization_id", label: "Organization", type: "select", required: true, edit: false, options: orgs.filter((o) => canManageOrg(o.id)).map((o) => [o.id, o.name]) },
      { name: "name", label: "Name", required: true },
      { name: "ip", label: "Address (IP or host)", required: true },
      { name: "ssh_port", label: "SSH port", type: "number", default: 22, min: 1 },
      { name: "ssh_user", label: "SSH user", required: true, default: "root" },
      { name: "auth_method", label: "Authentication", type: "select", options: [["key", "SSH key"], ["password", "Password"]], onChange: (i) => { showFor("key")(i); showFor("password")(i); } },
      { name: "ssh_private_key", label: "Private key (OpenSSH/PEM)", type: "textarea", writeOnly: true, placeholder: "-----BEGIN OPENSSH PRIVATE KEY-----" },
      { name: "ssh_key_passphrase", label: "Key passphrase", type: "password", writeOnly: true },
      { name: "ssh_password", label: "Password", type: "password", writeOnly: true },
    ],
  });
}
