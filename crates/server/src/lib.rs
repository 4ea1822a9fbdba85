//! paasportal's HTTP face: the REST API, the event stream, authentication and the web UI.

mod accept;
pub mod auth;
pub mod authz;
pub mod client_addr;
pub mod dto;
pub mod error;
pub mod extract;
mod headers;
pub mod membership;
mod nul;
pub mod openapi;
mod rewind;
pub mod routes;
pub mod sse;
pub mod state;
mod stream_conn;

use std::future::Future;

use axum::Router;
use axum::routing::{get, post};
use routes::{environments, organizations, projects, repositories, servers, users, versions};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};
pub use state::{AppState, ServerConfig};

/// Every route of the application.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit_bytes;
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .nest("/api/v1", api())
        .merge(paasportal_console::router())
        .fallback(fallback)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(span_without_query))
        .with_state(state)
}

/// The versioned API under `/api/v1`.
fn api() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/auth/login", post(routes::auth::login))
        .route("/auth/refresh", post(routes::auth::refresh))
        .route("/auth/logout", post(routes::auth::logout))
        .route("/auth/me", get(routes::auth::me))
        .route(
            "/auth/session",
            post(routes::session::create).delete(routes::session::delete),
        )
        .route("/auth/session/refresh", post(routes::session::refresh))
        .route("/events/stream", get(routes::events::stream))
        .route("/events/ticket", post(routes::events::ticket))
        .route(
            "/deployments",
            get(routes::deployments::list).post(routes::deployments::create),
        )
        .route(
            "/deployments/{deployment_id}",
            get(routes::deployments::get_one),
        )
        .route(
            "/deployments/{deployment_id}/logs",
            get(routes::deployments::logs),
        )
        .route(
            "/deployments/{deployment_id}/logs/stream",
            get(routes::events::deployment_logs),
        )
        .route(
            "/deployments/{deployment_id}/logs/export",
            get(routes::export::export),
        )
        .route(
            "/deployments/{deployment_id}/progress",
            get(routes::deployments::progress),
        )
        .route(
            "/deployments/{deployment_id}/cancel",
            post(routes::deployments::cancel),
        )
        .merge(management())
        .route(
            "/deployments/environment/{environment_id}/latest",
            get(routes::deployments::latest),
        )
        .route(
            "/deployments/project/{project_id}/stats",
            get(routes::deployments::stats),
        )
        .route(
            "/deployments/project/{project_id}/trends",
            get(routes::deployments::trends),
        )
        .route(
            "/environments/{environment_id}/admin-password/reveal",
            post(routes::admin_password::reveal),
        )
        .fallback(no_such_route)
}

/// An unknown path under `/api/v1`: a JSON 404 like every other API error.
async fn no_such_route(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("No API endpoint at {}", uri.path()))
}

/// Users, organizations, projects, servers, Odoo versions, repositories, environments.
fn management() -> Router<AppState> {
    Router::new()
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{user_id}",
            get(users::get_one)
                .patch(users::update)
                .delete(users::delete),
        )
        .route(
            "/organizations",
            get(organizations::list).post(organizations::create),
        )
        .route(
            "/organizations/{organization_id}",
            get(organizations::get_one)
                .patch(organizations::update)
                .delete(organizations::delete),
        )
        .route(
            "/organizations/{organization_id}/members",
            get(organizations::members).post(organizations::add_member),
        )
        .route(
            "/organizations/{organization_id}/members/{user_id}",
            axum::routing::patch(organizations::update_member).delete(organizations::remove_member),
        )
        .route("/projects", get(projects::list).post(projects::create))
        .route(
            "/projects/{project_id}",
            get(projects::get_one)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route(
            "/projects/{project_id}/members",
            get(projects::members).post(projects::add_member),
        )
        .route(
            "/projects/{project_id}/members/{user_id}",
            axum::routing::patch(projects::update_member).delete(projects::remove_member),
        )
        .route("/servers", get(servers::list).post(servers::create))
        .route(
            "/servers/{server_id}",
            get(servers::get_one)
                .patch(servers::update)
                .delete(servers::delete),
        )
        .route("/odoo-versions", get(versions::list).post(versions::create))
        .route(
            "/odoo-versions/{version_id}",
            get(versions::get_one)
                .patch(versions::update)
                .delete(versions::delete),
        )
        .route(
            "/repositories",
            get(repositories::list).post(repositories::create),
        )
        .route(
            "/repositories/{repository_id}",
            get(repositories::get_one)
                .patch(repositories::update)
                .delete(repositories::delete),
        )
        .route(
            "/environments",
            get(environments::list).post(environments::create),
        )
        .route(
            "/environments/{environment_id}",
            get(environments::get_one)
                .patch(environments::update)
                .delete(environments::delete),
        )
}

/// Any other path: the web console's shell for its pages, `404 {"detail": …}` for the rest.
async fn fallback(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    match paasportal_console::shell(&method, &uri) {
        Some(page) => page,
        None => ApiError::not_found("Route").into_response(),
    }
}

/// The request span: method and path only. Query strings may carry tokens and tickets,
/// so they never reach the server's logs.
fn span_without_query<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
}

/// Serves the application on `listener` until `shutdown` resolves, then ends the event
/// streams and drains the other connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    accept::serve(listener, router(state), shutdown).await
}
