//! Reading the global event sequence: what the bus replays to fill gaps.

use chrono::{DateTime, Utc};
use paasportal_core::StreamEvent;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::Result;
use crate::logs::{LOG_COLUMNS, LogRow};
use crate::rows::parse;
use crate::writer::Committed;
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    kind: String,
    organization_id: Option<Uuid>,
    project_id: Option<Uuid>,
    deployment_id: Option<Uuid>,
    user_id: Option<Uuid>,
    data: Json<serde_json::Value>,
    #[allow(dead_code)]
    created_at: DateTime<Utc>,
}

impl TryFrom<EventRow> for StreamEvent {
    type Error = crate::StoreError;
    fn try_from(r: EventRow) -> Result<Self> {
        Ok(StreamEvent {
            seq: r.seq,
            kind: parse(&r.kind)?,
            organization_id: r.organization_id,
            project_id: r.project_id,
            deployment_id: r.deployment_id,
            user_id: r.user_id,
            data: r.data.0,
        })
    }
}

impl Store {
    /// The highest sequence number committed so far (0 when nothing is).
    pub async fn last_seq(&self) -> Result<i64> {
        let sql = "SELECT value FROM event_seq WHERE id = 1";
        Ok(with_db!(self.db(), p => sqlx::query_scalar(sql).fetch_one(p).await)?)
    }

    /// Whether any entry (log line or event) has `after < seq <= upto`. Cheap on both
    /// backends whatever the range: an index probe that stops at the first row.
    pub async fn any_entry_between(&self, after: i64, upto: i64) -> Result<bool> {
        let sql = "SELECT EXISTS (SELECT 1 FROM deployment_logs WHERE seq > $1 AND seq <= $2) \
                   OR EXISTS (SELECT 1 FROM events WHERE seq > $1 AND seq <= $2)";
        Ok(
            with_db!(self.db(), p => sqlx::query_scalar(sql).bind(after).bind(upto).fetch_one(p).await)?,
        )
    }

    /// Skips a stretch without entries: the largest `lo` in `[after, upto]`, to within
    /// `granularity`, such that no entry has `after < seq <= lo`. Gallops over the empty
    /// stretch in doubling steps and then bisects, so it costs O(log(gap)) index probes:
    /// resuming from an id far below what is stored (an arbitrary `Last-Event-ID`, or
    /// ids the retention job deleted) never walks the empty ids one chunk at a time.
    pub async fn skip_empty(&self, after: i64, upto: i64, granularity: i64) -> Result<i64> {
        let granularity = granularity.max(1);
        let (mut lo, mut hi);
        let mut step = granularity;
        lo = after;
        loop {
            hi = lo.saturating_add(step).min(upto);
            if hi <= lo {
                return Ok(upto.max(after));
            }
            if self.any_entry_between(lo, hi).await? {
                break;
            }
            if hi == upto {
                return Ok(upto);
            }
            lo = hi;
            step = step.saturating_mul(2);
        }
        while hi - lo > granularity {
            let mid = lo + (hi - lo) / 2;
            if self.any_entry_between(lo, mid).await? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(lo)
    }

    /// Every entry (log lines and events) with `after < seq <= upto`, in sequence order.
    pub async fn entries_between(&self, after: i64, upto: i64) -> Result<Vec<Committed>> {
        let log_sql = sqlx::AssertSqlSafe(format!(
            "SELECT {LOG_COLUMNS} FROM deployment_logs WHERE seq > $1 AND seq <= $2 ORDER BY seq"
        ));
        let event_sql = "SELECT seq, kind, organization_id, project_id, deployment_id, user_id, data, created_at \
                         FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq";
        let logs: Vec<LogRow> = with_db!(self.db(), p => sqlx::query_as(log_sql).bind(after).bind(upto).fetch_all(p).await)?;
        let events: Vec<EventRow> = with_db!(self.db(), p => sqlx::query_as(event_sql).bind(after).bind(upto).fetch_all(p).await)?;
        let mut out: Vec<Committed> = Vec::with_capacity(logs.len() + events.len());
        for l in logs {
            out.push(Committed::Log(l.try_into()?));
        }
        for e in events {
            out.push(Committed::Event(e.try_into()?));
        }
        out.sort_by_key(Committed::seq);
        Ok(out)
    }
}
