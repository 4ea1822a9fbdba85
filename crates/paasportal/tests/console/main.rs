//! The web console in real headless Chromium (WebDriver through `fantoccini`) against a
//! real `paasportal serve` on a temporary SQLite database: the flows of issue 11, by the
//! DOM contract the console keeps (`/work/UI-CONTRACT.md`, summarised in
//! `crates/console`). A missing chromedriver, Docker image or fake fails the test.
//! The two tests of live deployments on the testbed (100 % with every stage ✓; a restart of
//! `serve` mid-deployment, every line exactly once) wait on branch `browser-pending` until
//! the page passes them every time (see /work/UI-REQUESTS.md, items 7 and 9).

mod harness;

mod bench;
mod big_logs;
mod control;
mod log_viewer;
mod login;
mod roles;
