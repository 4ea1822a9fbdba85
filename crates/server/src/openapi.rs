//! The OpenAPI document, generated from the handlers' annotations: every route with
//! its parameters, bodies, responses, bearer authentication and error responses.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes;

/// Every error body: `{"detail": …}`, a message or a list of `{loc, msg, type}` problems.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorBody {
    /// A message, or (422) a list of problems.
    pub detail: serde_json::Value,
}

/// The API's document.
#[derive(OpenApi)]
#[openapi(
    info(title = "paasportal", description = "Deployment control plane for Odoo hosting."),
    paths(
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::me,
        routes::session::create,
        routes::session::refresh,
        routes::session::delete,
        routes::deployments::create,
        routes::deployments::get_one,
        routes::deployments::logs,
        routes::deployments::progress,
        routes::deployments::list,
        routes::deployments::latest,
        routes::deployments::stats,
        routes::deployments::trends,
        routes::deployments::cancel,
        routes::export::export,
        routes::users::create,
        routes::users::list,
        routes::users::get_one,
        routes::users::update,
        routes::users::delete,
        routes::organizations::create,
        routes::organizations::list,
        routes::organizations::get_one,
        routes::organizations::update,
        routes::organizations::delete,
        routes::organizations::members,
        routes::organizations::add_member,
        routes::organizations::update_member,
        routes::organizations::remove_member,
        routes::projects::create,
        routes::projects::list,
        routes::projects::get_one,
        routes::projects::update,
        routes::projects::delete,
        routes::projects::members,
        routes::projects::add_member,
        routes::projects::update_member,
        routes::projects::remove_member,
        routes::servers::create,
        routes::servers::list,
        routes::servers::get_one,
        routes::servers::update,
        routes::servers::delete,
        routes::versions::create,
        routes::versions::list,
        routes::versions::get_one,
        routes::versions::update,
        routes::versions::delete,
        routes::repositories::create,
        routes::repositories::list,
        routes::repositories::get_one,
        routes::repositories::update,
        routes::repositories::delete,
        routes::environments::create,
        routes::environments::list,
        routes::environments::get_one,
        routes::environments::update,
        routes::environments::delete,
        routes::admin_password::reveal,
        routes::events::ticket,
        routes::events::stream,
        routes::events::deployment_logs,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &ErrorResponses),
)]
pub struct ApiDoc;

/// The `bearer` security scheme: a JWT access token from `/api/v1/auth/login`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Adds the error responses every operation can give, each with the `{"detail": …}` body.
struct ErrorResponses;

fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn add_errors(op: &mut Operation, has_body: bool) {
    let secured = op.security.as_ref().is_some_and(|s| {
        !s.is_empty()
            && serde_json::to_value(s)
                .map(|v| v != serde_json::json!([{}]))
                .unwrap_or(true)
    });
    let mut codes: Vec<(&str, &str)> = vec![
        ("400", "Bad request"),
        ("422", "Invalid parameter or body"),
        ("503", "Service temporarily unavailable"),
    ];
    if secured {
        codes.extend([
            ("401", "Not authenticated"),
            ("403", "Permission denied"),
            ("404", "Not found, or not visible to the caller"),
            ("409", "Conflicts with the current state"),
        ]);
    } else {
        codes.extend([
            ("401", "Bad credentials or token"),
            ("429", "Too many failed attempts"),
        ]);
    }
    if has_body {
        codes.extend([
            ("413", "Request body too large"),
            ("415", "Body is not application/json"),
        ]);
    }
    for (code, description) in codes {
        op.responses
            .responses
            .entry(code.to_owned())
            .or_insert_with(|| error(description));
    }
}

impl Modify for ErrorResponses {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            for (op, body) in [
                (item.get.as_mut(), false),
                (item.post.as_mut(), true),
                (item.patch.as_mut(), true),
                (item.put.as_mut(), true),
                (item.delete.as_mut(), false),
            ] {
                if let Some(op) = op {
                    add_errors(op, body);
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`: this document.
pub async fn document() -> axum::Json<Document> {
    axum::Json(ApiDoc::openapi())
}
