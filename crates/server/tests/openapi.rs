//! The OpenAPI document: it covers every routed path with auth and error responses, the
//! spec's example payloads validate against its response schemas, and so do real responses.

mod common;

use std::collections::BTreeSet;

use common::TestApp;
use paasportal_core::{LogLevel, NewLog, OrgRole};
use paasportal_testkit::fixtures::seed;
use serde_json::{Value, json};

on_both_backends!(
    document_covers_every_routed_path,
    spec_examples_validate_against_the_response_schemas,
    real_responses_validate_against_the_response_schemas,
);

/// Every path routed in `lib.rs`, as the document names them.
fn routed_paths() -> BTreeSet<String> {
    let src = include_str!("../src/lib.rs");
    let mut out = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + 7..];
        let start = rest.find('"').unwrap() + 1;
        let end = start + rest[start..].find('"').unwrap();
        let p = &rest[start..end];
        if p != "/healthz" && p != "/readyz" && p != "/openapi.json" {
            out.insert(format!("/api/v1{p}"));
        }
    }
    out
}

async fn document(app: &TestApp) -> Value {
    let (st, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(st, 200);
    doc
}

async fn document_covers_every_routed_path(app: TestApp) {
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routed = routed_paths();
    assert!(routed.len() > 30, "parsed too few routes: {routed:?}");
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "routed but not documented"
    );
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "documented but not routed"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Token endpoints; the browser session's are authenticated by password or cookie.
    let public = [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/session",
        "/api/v1/auth/session/refresh",
    ];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for code in ["401", "422"] {
                let r = &responses[code];
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {code}"
                );
            }
            if public.contains(&path.as_str()) {
                continue;
            }
            assert_eq!(
                op["security"],
                json!([{"bearer": []}]),
                "{method} {path} must require a bearer token"
            );
            for code in ["403", "404"] {
                assert!(responses.contains_key(code), "{method} {path} lacks {code}");
            }
        }
    }
}

/// A small JSON Schema check (the subset utoipa emits): types, nullability, enums,
/// required and known properties, arrays, maps, `$ref`, `oneOf`/`anyOf`/`allOf`.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], v, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let errors: Vec<String> = alts
                .iter()
                .filter_map(|s| check(doc, s, v, at).err())
                .collect();
            if errors.len() == alts.len() {
                return Err(format!("{at}: matches no alternative: {errors:?}"));
            }
            return Ok(());
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = json!({"type": "object", "properties": {}, "required": []});
        for s in all {
            let s = match s.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]
                }
                None => s,
            };
            if let Some(p) = s.get("properties").and_then(Value::as_object) {
                for (k, x) in p {
                    merged["properties"][k] = x.clone();
                }
            }
            if let Some(r) = s.get("required").and_then(Value::as_array) {
                merged["required"]
                    .as_array_mut()
                    .unwrap()
                    .extend(r.iter().cloned());
            }
        }
        return check(doc, &merged, v, at);
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {v} is not of type {types:?}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !v.is_null()
        && !e.contains(v)
    {
        return Err(format!("{at}: {v} is not one of {e:?}"));
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(doc, items, x, &format!("{at}[{i}]"))?;
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for r in req {
                let r = r.as_str().unwrap();
                if !obj.contains_key(r) {
                    return Err(format!("{at}: required field {r} missing"));
                }
            }
        }
        for (k, x) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, x, &format!("{at}.{k}"))?,
                None => match schema.get("additionalProperties") {
                    Some(s) if s.is_object() => check(doc, s, x, &format!("{at}.{k}"))?,
                    Some(Value::Bool(true)) => {}
                    _ if props.is_none() => {}
                    _ => return Err(format!("{at}: field {k} is not in the schema")),
                },
            }
        }
    }
    Ok(())
}

/// The JSON schema of an operation's success response.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let responses = &doc["paths"][path][method]["responses"];
    let ok = ["200", "201", "202"]
        .iter()
        .map(|c| &responses[*c])
        .find(|r| !r.is_null())
        .unwrap_or_else(|| panic!("{method} {path}: no success response"));
    &ok["content"]["application/json"]["schema"]
}

async fn spec_examples_validate_against_the_response_schemas(app: TestApp) {
    let doc = document(&app).await;
    let fixtures: Value =
        serde_json::from_str(include_str!("fixtures/spec_examples.json")).unwrap();
    let examples = fixtures["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 8);
    for e in examples {
        let (method, path) = (e["method"].as_str().unwrap(), e["path"].as_str().unwrap());
        let schema = response_schema(&doc, method, path);
        if let Err(why) = check(&doc, schema, &e["example"], "$") {
            panic!("the spec's example of {method} {path} does not validate: {why}");
        }
    }
}

async fn real_responses_validate_against_the_response_schemas(app: TestApp) {
    let doc = document(&app).await;
    let s = seed(app.store(), "oa").await;
    app.store()
        .upsert_org_member(s.org.id, s.user.id, OrgRole::Owner)
        .await
        .unwrap();
    let tok = app.token(s.user.id);
    let mut line = NewLog::now(
        s.deployment.id,
        LogLevel::Error,
        "Failed to clone repository",
    );
    line.step = Some("cloning_repository".into());
    line.data = json!({"error_code": "AUTH_FAILED"});
    app.state.writer.write(line).await.unwrap();
    let (d, e, p) = (s.deployment.id, s.environment.id, s.project.id);
    for (template, path) in [
        (
            "/api/v1/deployments/{deployment_id}",
            format!("/api/v1/deployments/{d}"),
        ),
        (
            "/api/v1/deployments/{deployment_id}/logs",
            format!("/api/v1/deployments/{d}/logs"),
        ),
        (
            "/api/v1/deployments/{deployment_id}/progress",
            format!("/api/v1/deployments/{d}/progress"),
        ),
        ("/api/v1/deployments", "/api/v1/deployments".to_owned()),
        (
            "/api/v1/deployments/environment/{environment_id}/latest",
            format!("/api/v1/deployments/environment/{e}/latest"),
        ),
        (
            "/api/v1/deployments/project/{project_id}/stats",
            format!("/api/v1/deployments/project/{p}/stats"),
        ),
        (
            "/api/v1/deployments/project/{project_id}/trends",
            format!("/api/v1/deployments/project/{p}/trends"),
        ),
        ("/api/v1/auth/me", "/api/v1/auth/me".to_owned()),
        (
            "/api/v1/projects/{project_id}",
            format!("/api/v1/projects/{p}"),
        ),
        (
            "/api/v1/environments/{environment_id}",
            format!("/api/v1/environments/{e}"),
        ),
        (
            "/api/v1/servers/{server_id}",
            format!("/api/v1/servers/{}", s.server.id),
        ),
        (
            "/api/v1/organizations/{organization_id}/members",
            format!("/api/v1/organizations/{}/members", s.org.id),
        ),
        ("/api/v1/odoo-versions", "/api/v1/odoo-versions".to_owned()),
    ] {
        let (st, body) = app.get(&path, Some(&tok)).await;
        assert_eq!(st, 200, "{path}: {body}");
        if let Err(why) = check(&doc, response_schema(&doc, "get", template), &body, "$") {
            panic!("GET {path} does not match its schema: {why}\n{body}");
        }
    }
    let (st, body) = app
        .get(
            &format!("/api/v1/deployments/{d}/logs?level=fatal"),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 422);
    let err = json!({"$ref": "#/components/schemas/ErrorBody"});
    check(&doc, &err, &body, "$").unwrap();
}
