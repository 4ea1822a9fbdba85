//! The web console in real headless Chromium (WebDriver through `fantoccini`) against a
//! real `paasportal serve` on a temporary SQLite database: the flows of issue 11, by the
//! DOM contract the console keeps (ids, `data-*` attributes and `window.__pp` on the
//! deployment page). A missing chromedriver, Docker image or fake fails the test.
//! The two tests of live deployments on the testbed (100 % with every stage ✓ and a bar
//! that never moves back; a restart of `serve` mid-deployment, every line exactly once) are
//! on branch `browser-pending`: under parallel load each still fails about one run in five.

mod harness;

mod bench;
mod big_logs;
mod control;
mod log_viewer;
mod login;
mod roles;
