//! The web console in real headless Chromium (WebDriver through `fantoccini`) against a
//! real `paasportal serve` on a temporary SQLite database: the flows of issue 11, by the
//! DOM contract the console keeps (`/work/UI-CONTRACT.md`, summarised in
//! `crates/console`). A missing chromedriver, Docker image or fake fails the test.

mod harness;

mod bench;
mod big_logs;
mod control;
mod live;
mod log_viewer;
mod login;
mod roles;
