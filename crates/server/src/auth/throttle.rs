//! Slowing down repeated failed logins, per account and per client address.
//!
//! Each key (an e-mail or an IP address) gets a few free failures; after that each
//! further failure locks the key for a doubling delay (1 s, 2 s, 4 s, … capped). A key
//! forgets its failures after a quiet window. The table is bounded: when full, expired
//! entries are swept and, if still full, the stalest ones are dropped. State is per
//! process; with several replicas each keeps its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tunables of the throttle.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    /// Failures an account may have before it is slowed down.
    pub free_per_account: u32,
    /// Failures an address may have before it is slowed down.
    pub free_per_address: u32,
    /// Longest lock.
    pub max_lock: Duration,
    /// Quiet time after which a key's failures are forgotten.
    pub window: Duration,
    /// Most keys tracked at once.
    pub capacity: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            free_per_account: 5,
            free_per_address: 20,
            max_lock: Duration::from_secs(15 * 60),
            window: Duration::from_secs(15 * 60),
            capacity: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// The login throttle shared by all requests.
#[derive(Debug)]
pub struct LoginThrottle {
    cfg: ThrottleConfig,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(ThrottleConfig::default())
    }
}

impl LoginThrottle {
    /// A throttle with `cfg`.
    pub fn new(cfg: ThrottleConfig) -> Self {
        LoginThrottle {
            cfg,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while the account or the address is locked.
    pub fn check(&self, email: &str, addr: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let entries = self.entries.lock().expect("throttle lock");
        let wait = keys(email, addr)
            .filter_map(|k| entries.get(&k))
            .filter_map(|e| e.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(w) => Err(w),
            None => Ok(()),
        }
    }

    /// Records a failed attempt against both keys.
    pub fn failed(&self, email: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("throttle lock");
        if entries.len() + 2 > self.cfg.capacity {
            self.sweep(&mut entries, now);
        }
        for key in keys(email, addr) {
            let free = match key {
                Key::Account(_) => self.cfg.free_per_account,
                Key::Address(_) => self.cfg.free_per_address,
            };
            let e = entries.entry(key).or_insert(Entry {
                failures: 0,
                last: now,
                locked_until: None,
            });
            if now.duration_since(e.last) > self.cfg.window {
                e.failures = 0;
            }
            e.failures += 1;
            e.last = now;
            if e.failures > free {
                let exp = (e.failures - free - 1).min(20);
                let lock = Duration::from_secs(1u64 << exp).min(self.cfg.max_lock);
                e.locked_until = Some(now + lock);
            }
        }
    }

    /// Forgets the account's failures after a successful login (the address keeps its own).
    pub fn succeeded(&self, email: &str) {
        let mut entries = self.entries.lock().expect("throttle lock");
        entries.remove(&Key::Account(normalize(email)));
    }

    fn sweep(&self, entries: &mut HashMap<Key, Entry>, now: Instant) {
        let window = self.cfg.window;
        entries.retain(|_, e| {
            now.duration_since(e.last) <= window || e.locked_until.is_some_and(|u| u > now)
        });
        while entries.len() + 2 > self.cfg.capacity {
            let Some(stalest) = entries
                .iter()
                .min_by_key(|(_, e)| e.last)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            entries.remove(&stalest);
        }
    }
}

fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

fn keys(email: &str, addr: Option<IpAddr>) -> impl Iterator<Item = Key> {
    std::iter::once(Key::Account(normalize(email))).chain(addr.map(Key::Address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ThrottleConfig {
        ThrottleConfig {
            free_per_account: 3,
            free_per_address: 5,
            capacity: 8,
            ..Default::default()
        }
    }

    #[test]
    fn account_locks_after_free_failures_and_success_resets() {
        let t = LoginThrottle::new(cfg());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check("A@x.com", Some(ip)).is_ok());
            t.failed("a@x.com", Some(ip));
        }
        assert!(t.check("a@x.com", None).is_ok());
        t.failed("a@x.com", Some(ip));
        let wait = t.check(" A@X.com ", None).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        t.failed("a@x.com", Some(ip));
        assert!(t.check("a@x.com", None).unwrap_err() > Duration::from_secs(1));
        assert!(t.check("b@x.com", None).is_ok());
        t.succeeded("a@x.com");
        assert!(t.check("a@x.com", None).is_ok());
    }

    #[test]
    fn address_locks_across_accounts() {
        let t = LoginThrottle::new(cfg());
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..6 {
            t.failed(&format!("u{i}@x.com"), Some(ip));
        }
        assert!(t.check("fresh@x.com", Some(ip)).is_err());
        assert!(t.check("fresh@x.com", None).is_ok());
    }

    #[test]
    fn table_stays_bounded() {
        let t = LoginThrottle::new(cfg());
        for i in 0..100 {
            t.failed(&format!("u{i}@x.com"), None);
        }
        assert!(t.entries.lock().unwrap().len() <= 8);
    }
}
