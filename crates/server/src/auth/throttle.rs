//! Slowing down repeated failed logins, per account and client address, and per address.
//!
//! Each key gets a few free failures; after that each further failure locks the key for a
//! doubling delay (1 s, 2 s, 4 s, … capped). The keys are the pair (account, address) —
//! guessing one account's password from one address slows down quickly — and the address
//! alone, with more room — one address trying many accounts slows down too. No key is the
//! account alone: failures from an attacker's address never lock the account's owner out,
//! who still logs in from their own address. The address is the client's as
//! [`crate::client_addr`] finds it (behind trusted proxies, from `X-Forwarded-For`). A key
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
    /// Failures an account may have from one address before it is slowed down there.
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
    /// One account from one address.
    Account(String, Option<IpAddr>),
    /// One address, whatever the account.
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
                Key::Account(..) => self.cfg.free_per_account,
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

    /// Forgets the account's failures from this address after a successful login (the
    /// address keeps its own).
    pub fn succeeded(&self, email: &str, addr: Option<IpAddr>) {
        let mut entries = self.entries.lock().expect("throttle lock");
        entries.remove(&Key::Account(normalize(email), addr));
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
    std::iter::once(Key::Account(normalize(email), addr)).chain(addr.map(Key::Address))
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
        assert!(t.check("a@x.com", Some(ip)).is_ok());
        t.failed("a@x.com", Some(ip));
        let wait = t.check(" A@X.com ", Some(ip)).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        t.failed("a@x.com", Some(ip));
        assert!(t.check("a@x.com", Some(ip)).unwrap_err() > Duration::from_secs(1));
        assert!(t.check("b@x.com", Some(ip)).is_ok());
        t.succeeded("a@x.com", Some(ip));
        assert!(t.check("a@x.com", Some(ip)).is_ok());
    }

    #[test]
    fn an_attacker_cannot_lock_the_owner_out() {
        let t = LoginThrottle::new(cfg());
        let attacker: IpAddr = "10.0.0.66".parse().unwrap();
        let owner: IpAddr = "10.0.0.7".parse().unwrap();
        for _ in 0..50 {
            t.failed("victim@x.com", Some(attacker));
        }
        assert!(t.check("victim@x.com", Some(attacker)).is_err());
        assert!(t.check("victim@x.com", Some(owner)).is_ok());
    }

    #[test]
    fn delays_grow_with_each_failure() {
        let t = LoginThrottle::new(cfg());
        let ip: IpAddr = "10.0.0.3".parse().unwrap();
        let mut last = Duration::ZERO;
        for _ in 0..3 {
            t.failed("a@x.com", Some(ip));
        }
        for _ in 0..4 {
            t.failed("a@x.com", Some(ip));
            let wait = t.check("a@x.com", Some(ip)).unwrap_err();
            assert!(wait > last, "{wait:?} after {last:?}");
            last = wait;
        }
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
