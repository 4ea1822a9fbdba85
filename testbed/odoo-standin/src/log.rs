//! Log lines in Odoo's format:
//! `2025-01-08 14:32:15,123 1 INFO dbname odoo.modules.loading: message`.
//!
//! Lines go to stdout (the container's log) unless `logfile` is set in
//! odoo.conf, in which case they are appended to that file, as Odoo does.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

static LOGFILE: Mutex<Option<File>> = Mutex::new(None);

/// Send later log lines to `path` instead of stdout.
pub fn set_logfile(path: &str) -> std::io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    *LOGFILE.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
    Ok(())
}

/// Write one log line. `db` is `?` when no database is concerned.
pub fn log(level: &str, db: &str, logger: &str, msg: &str) {
    let line = format!(
        "{} {} {} {} {}: {}\n",
        timestamp(),
        std::process::id(),
        level,
        if db.is_empty() { "?" } else { db },
        logger,
        msg
    );
    let mut sink = LOGFILE.lock().unwrap_or_else(|e| e.into_inner());
    match sink.as_mut() {
        Some(file) => {
            let _ = file.write_all(line.as_bytes());
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}

pub fn info(db: &str, logger: &str, msg: &str) {
    log("INFO", db, logger, msg);
}

pub fn warn(db: &str, logger: &str, msg: &str) {
    log("WARNING", db, logger, msg);
}

pub fn error(db: &str, logger: &str, msg: &str) {
    log("ERROR", db, logger, msg);
}

/// UTC time as `YYYY-MM-DD HH:MM:SS,mmm` (Odoo logs in UTC).
pub fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02},{:03}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_096), (2025, 1, 8));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
