//! Reading deployment logs: pages for the API, tails for the stream.

use chrono::{DateTime, Utc};
use paasportal_core::{LogLevel, LogRecord, NewLog};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::Result;
use crate::rows::{json_or_null, parse};
use crate::{Backend, Db, Store, with_db};

#[derive(sqlx::FromRow)]
pub(crate) struct LogRow {
    id: Uuid,
    deployment_id: Uuid,
    seq: i64,
    timestamp: DateTime<Utc>,
    level: String,
    message: String,
    step: Option<String>,
    data: Option<Json<serde_json::Value>>,
    status: String,
    progress_percent: i64,
}

impl TryFrom<LogRow> for LogRecord {
    type Error = crate::StoreError;
    fn try_from(r: LogRow) -> Result<Self> {
        Ok(LogRecord {
            seq: r.seq,
            log: NewLog {
                id: r.id,
                deployment_id: r.deployment_id,
                timestamp: r.timestamp,
                level: parse(&r.level)?,
                message: r.message,
                step: r.step,
                data: json_or_null(r.data),
                status: parse(&r.status)?,
                progress_percent: r.progress_percent.clamp(0, 100) as u8,
            },
        })
    }
}

pub(crate) const LOG_COLUMNS: &str =
    "id, deployment_id, seq, timestamp, level, message, step, data, status, progress_percent";

/// Filters and paging for a deployment's log.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub level: Option<LogLevel>,
    /// Case-insensitive substring of the message.
    pub text: Option<String>,
    /// Only the lines of this stage.
    pub step: Option<String>,
    /// Which part of the log: from the start (with `skip`), the end, or around a line.
    pub window: LogWindow,
    pub skip: i64,
    pub limit: i64,
}

/// Where a page of a deployment's log starts. Pages around a line are keyset pages on the
/// `(deployment_id, timestamp, seq)` index: a page deep inside a million-line log costs
/// what the first one does, where `OFFSET` would read every line before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogWindow {
    /// The first lines (after `skip`).
    #[default]
    Head,
    /// The last `limit` lines.
    Tail,
    /// The `limit` lines just before the line with this `seq`.
    Before(i64),
    /// The `limit` lines just after the line with this `seq`.
    After(i64),
}

impl LogWindow {
    /// Read newest first (and reversed afterwards), to stop at `limit` from the end.
    fn backwards(self) -> bool {
        matches!(self, LogWindow::Tail | LogWindow::Before(_))
    }
}

fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// One page of a deployment's log in time order, optionally filtered.
    pub async fn list_logs(&self, deployment_id: Uuid, q: &LogQuery) -> Result<Vec<LogRecord>> {
        let sql = format!("SELECT {LOG_COLUMNS} FROM {}", self.list_logs_sql(q));
        let pattern = q.text.as_deref().map(like_pattern);
        let mut rows: Vec<LogRow> = with_db!(self.db(), p => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(deployment_id);
            if let Some(level) = q.level {
                query = query.bind(level.as_str());
            }
            if let Some(pattern) = &pattern {
                query = query.bind(pattern.clone());
            }
            if let Some(step) = &q.step {
                query = query.bind(step.clone());
            }
            if let LogWindow::Before(seq) | LogWindow::After(seq) = q.window {
                query = query.bind(seq);
            }
            query.bind(q.limit).bind(q.skip).fetch_all(p).await
        })?;
        if q.window.backwards() {
            rows.reverse();
        }
        rows.into_iter().map(LogRecord::try_from).collect()
    }

    /// The engine's plan for [`Store::list_logs`], one line per plan node: PostgreSQL's
    /// `EXPLAIN ANALYZE` (with timings), SQLite's `EXPLAIN QUERY PLAN`.
    pub async fn explain_list_logs(
        &self,
        deployment_id: Uuid,
        q: &LogQuery,
    ) -> Result<Vec<String>> {
        let tail = self.list_logs_sql(q);
        let pattern = q.text.as_deref().map(like_pattern);
        Ok(match self.db() {
            Db::Postgres(p) => {
                let sql = format!("EXPLAIN (ANALYZE, BUFFERS) SELECT {LOG_COLUMNS} FROM {tail}");
                let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(deployment_id);
                if let Some(level) = q.level {
                    query = query.bind(level.as_str());
                }
                if let Some(pattern) = &pattern {
                    query = query.bind(pattern.clone());
                }
                if let Some(step) = &q.step {
                    query = query.bind(step.clone());
                }
                if let LogWindow::Before(seq) | LogWindow::After(seq) = q.window {
                    query = query.bind(seq);
                }
                query.bind(q.limit).bind(q.skip).fetch_all(p).await?
            }
            Db::Sqlite(p) => {
                let sql = format!("EXPLAIN QUERY PLAN SELECT {LOG_COLUMNS} FROM {tail}");
                let mut query =
                    sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(sql))
                        .bind(deployment_id);
                if let Some(level) = q.level {
                    query = query.bind(level.as_str());
                }
                if let Some(pattern) = &pattern {
                    query = query.bind(pattern.clone());
                }
                if let Some(step) = &q.step {
                    query = query.bind(step.clone());
                }
                if let LogWindow::Before(seq) | LogWindow::After(seq) = q.window {
                    query = query.bind(seq);
                }
                let rows = query.bind(q.limit).bind(q.skip).fetch_all(p).await?;
                rows.into_iter().map(|(_, _, _, detail)| detail).collect()
            }
        })
    }

    /// `deployment_logs WHERE … ORDER BY … LIMIT … OFFSET …` for a [`LogQuery`], with
    /// `$1` the deployment, then the level, pattern, step and window's `seq` when present,
    /// then limit and skip.
    fn list_logs_sql(&self, q: &LogQuery) -> String {
        let mut sql = String::from("deployment_logs WHERE deployment_id = $1");
        let mut n = 1;
        if q.level.is_some() {
            n += 1;
            sql.push_str(&format!(" AND level = ${n}"));
        }
        if q.text.is_some() {
            n += 1;
            let op = match self.backend() {
                Backend::Postgres => "ILIKE",
                Backend::Sqlite => "LIKE",
            };
            sql.push_str(&format!(" AND message {op} ${n} ESCAPE '\\'"));
        }
        if q.step.is_some() {
            n += 1;
            sql.push_str(&format!(" AND step = ${n}"));
        }
        if let LogWindow::Before(_) | LogWindow::After(_) = q.window {
            n += 1;
            let cmp = if q.window.backwards() { "<" } else { ">" };
            // The whole index key on the left, so both engines range-scan the index.
            sql.push_str(&format!(
                " AND (deployment_id, timestamp, seq) {cmp} ($1, (SELECT timestamp FROM \
                 deployment_logs WHERE seq = ${n} AND deployment_id = $1), ${n})"
            ));
        }
        let order = if q.window.backwards() {
            "timestamp DESC, seq DESC"
        } else {
            "timestamp, seq"
        };
        sql.push_str(&format!(
            " ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        sql
    }

    /// A deployment's lines with `seq > after`, in sequence order: the per-deployment stream's replay.
    pub async fn logs_after(
        &self,
        deployment_id: Uuid,
        after: i64,
        limit: i64,
    ) -> Result<Vec<LogRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {LOG_COLUMNS} FROM deployment_logs WHERE deployment_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        ));
        let rows: Vec<LogRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(deployment_id)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(LogRecord::try_from).collect()
    }

    /// How many lines a deployment has.
    pub async fn count_logs(&self, deployment_id: Uuid) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM deployment_logs WHERE deployment_id = $1";
        Ok(
            with_db!(self.db(), p => sqlx::query_scalar(sql).bind(deployment_id).fetch_one(p).await)?,
        )
    }
}
