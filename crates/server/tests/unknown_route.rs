//! An unknown path under `/api/v1` is a JSON 404 like every other API error.

mod common;

use common::TestApp;
use paasportal_testkit::TestBackend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_route_is_a_json_404() {
    let app = TestApp::start(TestBackend::Sqlite).await;
    for path in ["/api/v1/nope", "/api/v1/deployments/x/y/z", "/api/v1"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/json",
            "{path}: no JSON content type"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("No API endpoint")),
            "{path}: {body}"
        );
    }
}
