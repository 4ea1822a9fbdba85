//! Management endpoints: shapes, write-only credentials, validation, duplicates and
//! membership changes that take effect at once and reach the event stream.

mod common;

use common::TestApp;
use paasportal_core::{EventKind, StreamEvent};
use paasportal_store::writer::Committed;
use serde_json::{Value, json};

on_both_backends!(
    an_admin_builds_an_organization_end_to_end,
    credentials_are_write_only_and_encrypted,
    bad_input_is_422_and_duplicates_409,
    membership_changes_apply_on_the_next_request_and_emit_events,
);

async fn admin(app: &TestApp) -> String {
    let a = app.user("root@example.com", "root-password", true).await;
    app.token(a.id)
}

async fn post_ok(app: &TestApp, tok: &str, path: &str, body: Value) -> Value {
    let (st, v) = app.post(path, Some(tok), body).await;
    assert_eq!(st, 201, "POST {path}: {v}");
    v
}

/// An organization, a project and a server, created through the API.
async fn basics(app: &TestApp, tok: &str) -> (Value, Value, Value) {
    let org = post_ok(app, tok, "/api/v1/organizations", json!({"name": "Acme"})).await;
    let project = post_ok(
        app,
        tok,
        "/api/v1/projects",
        json!({"organization_id": org["id"], "name": "Shop"}),
    )
    .await;
    let server = post_ok(
        app,
        tok,
        "/api/v1/servers",
        json!({"organization_id": org["id"], "name": "vm-1", "ip": "10.1.2.3", "ssh_port": 2222,
               "ssh_user": "deploy", "auth_method": "key",
               "ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material\n-----END OPENSSH PRIVATE KEY-----"}),
    )
    .await;
    (org, project, server)
}

async fn an_admin_builds_an_organization_end_to_end(app: TestApp) {
    let tok = admin(&app).await;
    let (org, project, server) = basics(&app, &tok).await;
    assert_eq!(org["name"], "Acme");
    assert_eq!(project["organization_id"], org["id"]);
    assert_eq!(server["ssh_port"], 2222);
    let version = post_ok(
        &app,
        &tok,
        "/api/v1/odoo-versions",
        json!({"version": "18.0", "image": "odoo:18.0"}),
    )
    .await;
    assert_eq!(version["has_registry_password"], false);
    let env = post_ok(
        &app,
        &tok,
        "/api/v1/environments",
        json!({"project_id": project["id"], "server_id": server["id"], "name": "production",
               "branch": "main", "subdomain": "shop", "odoo_version": "18.0", "cpu_cores": 2.0,
               "ram_mb": 2048, "disk_gb": 20,
               "config_overrides": {"performance": {"workers": 8}, "logging": {"log_level": "debug"}}}),
    )
    .await;
    assert_eq!(env["status"], "pending");
    assert_eq!(env["apps_domain"], "apps.localhost");
    assert_eq!(env["config_overrides"]["performance"]["workers"], 8);
    let (st, patched) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/environments/{}", env["id"].as_str().unwrap()),
            Some(&tok),
            Some(json!({"ram_mb": 4096, "config_overrides": {"workers": 4}})),
        )
        .await;
    assert_eq!(st, 200, "{patched}");
    assert_eq!(patched["ram_mb"], 4096);
    assert_eq!(patched["config_overrides"], json!({"workers": 4}));
    let repo = post_ok(
        &app,
        &tok,
        "/api/v1/repositories",
        json!({"scope": "project", "project_id": project["id"], "url": "https://github.com/acme/shop.git",
               "branch": "main", "name": "Shop Addons", "is_primary": true}),
    )
    .await;
    assert_eq!(repo["slug"], "shop-addons");
    assert_eq!(repo["organization_id"], org["id"]);
    assert_eq!(repo["is_primary"], true);
    let (st, list) = app
        .get(
            &format!(
                "/api/v1/environments?project_id={}",
                project["id"].as_str().unwrap()
            ),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (st, d) = app
        .post(
            "/api/v1/deployments",
            Some(&tok),
            json!({"environment_id": env["id"]}),
        )
        .await;
    assert_eq!(st, 202, "{d}");
    let (st, body) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/environments/{}", env["id"].as_str().unwrap()),
            Some(&tok),
            None,
        )
        .await;
    assert_eq!(st, 409, "an active deployment blocks deletion: {body}");
    assert_eq!(body["deployment_id"], d["id"]);
    let (st, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/servers/{}", server["id"].as_str().unwrap()),
            Some(&tok),
            None,
        )
        .await;
    assert_eq!(st, 409, "a server with environments cannot be deleted");
}

async fn credentials_are_write_only_and_encrypted(app: TestApp) {
    let tok = admin(&app).await;
    let (org, _, server) = basics(&app, &tok).await;
    let id: uuid::Uuid = server["id"].as_str().unwrap().parse().unwrap();
    let text = server.to_string();
    assert!(!text.contains("secret-key-material"), "{text}");
    assert!(server.get("ssh_private_key").is_none());
    let (_, one) = app.get(&format!("/api/v1/servers/{id}"), Some(&tok)).await;
    assert!(!one.to_string().contains("secret-key-material"));
    let sealed = app.store().get_server_secrets(id).await.unwrap();
    let enc = sealed.ssh_private_key_enc.unwrap();
    assert!(!String::from_utf8_lossy(&enc).contains("secret-key-material"));
    assert!(
        app.state
            .secrets
            .open(&enc)
            .unwrap()
            .contains("secret-key-material")
    );

    let (st, patched) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/servers/{id}"),
            Some(&tok),
            Some(json!({"auth_method": "password", "ssh_password": "s3cret-pw"})),
        )
        .await;
    assert_eq!(st, 200, "{patched}");
    assert_eq!(patched["auth_method"], "password");
    assert!(!patched.to_string().contains("s3cret-pw"));
    let sealed = app.store().get_server_secrets(id).await.unwrap();
    assert!(sealed.ssh_private_key_enc.is_none());
    assert_eq!(
        app.state
            .secrets
            .open(&sealed.ssh_password_enc.unwrap())
            .unwrap(),
        "s3cret-pw"
    );

    let repo = post_ok(
        &app,
        &tok,
        "/api/v1/repositories",
        json!({"scope": "organization", "organization_id": org["id"], "url": "https://github.com/acme/private.git",
               "branch": "main", "name": "private", "token": "ghp_TOPSECRET"}),
    )
    .await;
    assert_eq!(repo["has_token"], true);
    assert!(!repo.to_string().contains("TOPSECRET"));
    let rid: uuid::Uuid = repo["id"].as_str().unwrap().parse().unwrap();
    let enc = app
        .store()
        .get_repository_token_enc(rid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.state.secrets.open(&enc).unwrap(), "ghp_TOPSECRET");
    let (_, cleared) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/repositories/{rid}"),
            Some(&tok),
            Some(json!({"token": ""})),
        )
        .await;
    assert_eq!(cleared["has_token"], false);
}

async fn bad_input_is_422_and_duplicates_409(app: TestApp) {
    let tok = admin(&app).await;
    let (org, project, server) = basics(&app, &tok).await;
    post_ok(
        &app,
        &tok,
        "/api/v1/odoo-versions",
        json!({"version": "18.0", "image": "odoo:18.0"}),
    )
    .await;
    let env = |overrides: Value, sub: &str| {
        json!({"project_id": project["id"], "server_id": server["id"], "name": sub, "branch": "main",
               "subdomain": sub, "odoo_version": "18.0", "cpu_cores": 1.0, "ram_mb": 1024,
               "disk_gb": 10, "config_overrides": overrides})
    };
    for (bad, why) in [
        (json!({"log_level": "info\nadmin_passwd = x"}), "newline"),
        (json!({"[options]": "x"}), "section header"),
        (json!({"Workers": 2}), "key outside the pattern"),
        (json!({"db_password": "x"}), "reserved key"),
    ] {
        let (st, b) = app
            .post("/api/v1/environments", Some(&tok), env(bad, "bad"))
            .await;
        assert_eq!(st, 422, "{why}: {b}");
        assert!(b["detail"][0]["msg"].is_string(), "{b}");
    }
    let mut unknown_version = env(json!({}), "v");
    unknown_version["odoo_version"] = json!("9.0");
    assert_eq!(
        app.post("/api/v1/environments", Some(&tok), unknown_version)
            .await
            .0,
        422
    );
    for (path, body) in [
        (
            "/api/v1/users",
            json!({"email": "nope", "password": "long-enough", "name": "x"}),
        ),
        (
            "/api/v1/users",
            json!({"email": "a@b.c", "password": "short", "name": "x"}),
        ),
        ("/api/v1/organizations", json!({"name": ""})),
        ("/api/v1/organizations", json!({"name": "x", "extra": 1})),
        (
            "/api/v1/servers",
            json!({"organization_id": org["id"], "name": "x", "ip": "10.0.0.1", "ssh_user": "root",
                   "auth_method": "key"}),
        ),
        (
            "/api/v1/servers",
            json!({"organization_id": org["id"], "name": "x", "ip": "10.0.0.1; rm -rf /",
                   "ssh_user": "root", "auth_method": "password", "ssh_password": "pw"}),
        ),
        (
            "/api/v1/repositories",
            json!({"scope": "platform", "url": "https://user:tok@github.com/a/b.git",
                   "branch": "main", "name": "x"}),
        ),
        (
            "/api/v1/repositories",
            json!({"scope": "platform", "url": "https://github.com/a/b.git",
                   "branch": "--upload-pack=evil", "name": "x"}),
        ),
        (
            "/api/v1/repositories",
            json!({"scope": "organization", "url": "https://github.com/a/b.git",
                   "branch": "main", "name": "x"}),
        ),
    ] {
        let (st, b) = app.post(path, Some(&tok), body.clone()).await;
        assert_eq!(st, 422, "{path} {body}: {b}");
    }
    post_ok(
        &app,
        &tok,
        "/api/v1/users",
        json!({"email": "dup@example.com", "password": "long-enough", "name": "Dup"}),
    )
    .await;
    for (path, body) in [
        (
            "/api/v1/users",
            json!({"email": "DUP@example.com", "password": "long-enough", "name": "Dup"}),
        ),
        (
            "/api/v1/projects",
            json!({"organization_id": org["id"], "name": "Shop"}),
        ),
        (
            "/api/v1/odoo-versions",
            json!({"version": "18.0", "image": "odoo:18.0"}),
        ),
    ] {
        let (st, b) = app.post(path, Some(&tok), body).await;
        assert_eq!(st, 409, "{path}: {b}");
    }
    post_ok(&app, &tok, "/api/v1/environments", env(json!({}), "ok")).await;
    let (st, _) = app
        .post("/api/v1/environments", Some(&tok), env(json!({}), "ok"))
        .await;
    assert_eq!(st, 409);
}

async fn membership_changes_apply_on_the_next_request_and_emit_events(app: TestApp) {
    let tok = admin(&app).await;
    let (org, project, _) = basics(&app, &tok).await;
    let bob = app.user("bob@example.com", "bob-password", false).await;
    let bob_tok = app.token(bob.id);
    let pid = project["id"].as_str().unwrap();
    let oid = org["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/projects/{pid}"), Some(&bob_tok))
            .await
            .0,
        404
    );
    let before = app.store().last_seq().await.unwrap();

    let (st, m) = app
        .post(
            &format!("/api/v1/projects/{pid}/members"),
            Some(&tok),
            json!({"user_id": bob.id, "role": "viewer"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["role"], "viewer");
    assert_eq!(
        app.get(&format!("/api/v1/projects/{pid}"), Some(&bob_tok))
            .await
            .0,
        200
    );
    assert_eq!(
        app.send(
            reqwest::Method::PATCH,
            &format!("/api/v1/projects/{pid}"),
            Some(&bob_tok),
            Some(json!({"name": "Mine"})),
        )
        .await
        .0,
        403
    );
    let (st, _) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/projects/{pid}/members/{}", bob.id),
            Some(&tok),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        app.send(
            reqwest::Method::PATCH,
            &format!("/api/v1/projects/{pid}"),
            Some(&bob_tok),
            Some(json!({"name": "Mine"})),
        )
        .await
        .0,
        200
    );
    let (st, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/projects/{pid}/members/{}", bob.id),
            Some(&tok),
            None,
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(
        app.get(&format!("/api/v1/projects/{pid}"), Some(&bob_tok))
            .await
            .0,
        404
    );
    let (st, _) = app
        .post(
            &format!("/api/v1/organizations/{oid}/members"),
            Some(&tok),
            json!({"user_id": bob.id, "role": "owner"}),
        )
        .await;
    assert_eq!(st, 201);
    let (st, b) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/organizations/{oid}/members/{}", bob.id),
            Some(&bob_tok),
            None,
        )
        .await;
    assert_eq!(st, 409, "the last owner stays: {b}");

    let last = app.store().last_seq().await.unwrap();
    let events: Vec<StreamEvent> = app
        .store()
        .entries_between(before, last)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| match c {
            Committed::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    let changes: Vec<(String, Option<String>)> = events
        .iter()
        .map(|e| {
            assert_eq!(e.kind, EventKind::PermissionsChanged);
            assert_eq!(e.user_id, Some(bob.id));
            assert_eq!(e.organization_id.unwrap().to_string(), oid);
            (
                e.data["change"].as_str().unwrap().to_owned(),
                e.data["role"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            ("added".into(), Some("viewer".into())),
            ("changed".into(), Some("admin".into())),
            ("removed".into(), None),
            ("added".into(), Some("owner".into())),
        ]
    );
    assert_eq!(events[0].project_id.unwrap().to_string(), pid);
    assert_eq!(events[3].project_id, None);
}
