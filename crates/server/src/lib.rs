//! paasportal's HTTP face: the REST API, the event stream, authentication and the web UI.

pub mod error;
pub mod routes;
pub mod state;

use std::future::Future;

use axum::Router;
use axum::routing::get;
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
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TraceLayer::new_for_http().make_span_with(span_without_query))
        .with_state(state)
}

/// The request span: method and path only. Query strings may carry tokens and tickets,
/// so they never reach the server's logs.
fn span_without_query<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
}

/// Serves the application on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
