//! The zone's A records, shared by the Cloudflare API and the DNS server.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One A record as the API stores it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    pub id: String,
    pub name: String,
    pub content: Ipv4Addr,
    pub ttl: u32,
    pub proxied: bool,
    /// When the DNS server starts answering with this content.
    #[serde(skip)]
    pub visible_at: Instant,
    /// What the DNS server answers until then (the previous content, if any).
    #[serde(skip)]
    pub previous: Option<Ipv4Addr>,
}

/// A zone: its id, domain, propagation delay and records by id.
pub struct Zone {
    pub id: String,
    pub name: String,
    delay: Duration,
    records: Mutex<BTreeMap<String, Record>>,
}

impl Zone {
    /// An empty zone.
    pub fn new(id: &str, name: &str, delay: Duration) -> Self {
        Zone {
            id: id.to_owned(),
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            delay,
            records: Mutex::new(BTreeMap::new()),
        }
    }

    /// True when `fqdn` is the zone's apex or below it.
    pub fn contains(&self, fqdn: &str) -> bool {
        let f = fqdn.trim_end_matches('.').to_ascii_lowercase();
        f == self.name || f.ends_with(&format!(".{}", self.name))
    }

    /// Records named `name` (any case), or all.
    pub fn list(&self, name: Option<&str>) -> Vec<Record> {
        let recs = self.records.lock().unwrap();
        recs.values()
            .filter(|r| name.is_none_or(|n| r.name.eq_ignore_ascii_case(n.trim_end_matches('.'))))
            .cloned()
            .collect()
    }

    /// Adds a record.
    pub fn create(&self, name: &str, content: Ipv4Addr, ttl: u32, proxied: bool) -> Record {
        let rec = Record {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            content,
            ttl,
            proxied,
            visible_at: Instant::now() + self.delay,
            previous: None,
        };
        self.records
            .lock()
            .unwrap()
            .insert(rec.id.clone(), rec.clone());
        rec
    }

    /// Replaces a record's fields; `None` when there is no such record.
    pub fn update(
        &self,
        id: &str,
        name: &str,
        content: Ipv4Addr,
        ttl: u32,
        proxied: bool,
    ) -> Option<Record> {
        let mut recs = self.records.lock().unwrap();
        let rec = recs.get_mut(id)?;
        let now = Instant::now();
        rec.previous = Some(if now >= rec.visible_at {
            rec.content
        } else {
            rec.previous.unwrap_or(rec.content)
        });
        rec.name = name.trim_end_matches('.').to_ascii_lowercase();
        rec.content = content;
        rec.ttl = ttl;
        rec.proxied = proxied;
        rec.visible_at = now + self.delay;
        Some(rec.clone())
    }

    /// Deletes a record; false when there was none.
    pub fn delete(&self, id: &str) -> bool {
        self.records.lock().unwrap().remove(id).is_some()
    }

    /// What the DNS server answers for `fqdn` now: `None` for an unknown name.
    pub fn resolve(&self, fqdn: &str) -> Option<Vec<(Ipv4Addr, u32)>> {
        let now = Instant::now();
        let recs = self.records.lock().unwrap();
        let mut found = false;
        let mut out = Vec::new();
        for r in recs
            .values()
            .filter(|r| r.name.eq_ignore_ascii_case(fqdn.trim_end_matches('.')))
        {
            if now >= r.visible_at {
                found = true;
                out.push((r.content, r.ttl));
            } else if let Some(prev) = r.previous {
                found = true;
                out.push((prev, r.ttl));
            }
        }
        found.then_some(out)
    }
}
