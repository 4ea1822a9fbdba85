//! The harness of the console's browser tests: Chromium over WebDriver, a real `serve`
//! (and worker) on a temporary SQLite database, the REST API, fixtures and log lines
//! written through the store.

#![allow(dead_code)]

pub mod api;
pub mod chrome;
pub mod history;
pub mod lines;
pub mod page;
pub mod portal;
pub mod testbed;
pub mod world;

use api::Api;
use chrome::Browser;
use portal::{ADMIN_EMAIL, ADMIN_PASSWORD, Portal, PortalOptions};

/// A portal, its admin's API client and a browser pointed at it.
pub struct Console {
    pub portal: Portal,
    pub admin: Api,
    pub browser: Browser,
}

impl Console {
    pub async fn start(opts: PortalOptions) -> Console {
        let portal = Portal::start(opts).await;
        let admin = Api::login(&portal.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let browser = Browser::start(&portal.base).await;
        Console {
            portal,
            admin,
            browser,
        }
    }

    /// Opens `path` logged out, logs in as the admin through the login page and waits
    /// until the app has navigated back to `path`'s page `page`.
    pub async fn login_to(&self, path: &str, page: &str) {
        self.browser.open(path).await;
        page::login(&self.browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        self.browser.wait_page(page).await;
    }
}
