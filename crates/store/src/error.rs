//! Errors of the store.

use paasportal_core::text_enum::ParseEnumError;

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key rule refused the change; the text names which.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The environment already has a pending or running deployment.
    #[error("environment already has an active deployment {0}")]
    ActiveDeployment(uuid::Uuid),
    #[error("invalid database URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "the database schema is at version {database}, newer than this binary knows ({binary}); \
         upgrade paasportal or point it at another database"
    )]
    SchemaTooNew { database: i64, binary: i64 },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// The database has no room left: the change was not stored.
    #[error("the database is out of disk space: {0}")]
    Full(sqlx::Error),
    /// The database stayed locked by another writer past the busy timeout: the change was
    /// not made; trying again later may succeed.
    #[error("the database is busy: {0}")]
    Busy(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match condition(&e) {
            Condition::Full => StoreError::Full(e),
            Condition::Busy => StoreError::Busy(e),
            Condition::Other => StoreError::Database(e),
        }
    }
}

enum Condition {
    Full,
    Busy,
    Other,
}

/// Disk full (SQLite `SQLITE_FULL`, PostgreSQL `53100`) and busy (SQLite `SQLITE_BUSY`
/// and `SQLITE_LOCKED`, with their extended codes) errors.
fn condition(e: &sqlx::Error) -> Condition {
    let sqlx::Error::Database(db) = e else {
        return Condition::Other;
    };
    let Some(code) = db.code() else {
        return Condition::Other;
    };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // SQLite reports (extended) result codes; the primary code is the low byte.
        return match code.parse::<i64>().map(|n| n & 0xff) {
            Ok(13) => Condition::Full,
            Ok(5 | 6) => Condition::Busy,
            _ => Condition::Other,
        };
    }
    match code.as_ref() {
        "53100" => Condition::Full,
        _ => Condition::Other,
    }
}

impl From<ParseEnumError> for StoreError {
    fn from(e: ParseEnumError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl StoreError {
    /// Maps unique and foreign-key violations to [`StoreError::Conflict`], row-not-found to
    /// [`StoreError::NotFound`], and leaves the rest as database errors.
    pub fn classify(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation
                | sqlx::error::ErrorKind::ForeignKeyViolation
                | sqlx::error::ErrorKind::CheckViolation => {
                    StoreError::Conflict(db.constraint().unwrap_or(db.message()).to_owned())
                }
                _ => StoreError::from(e),
            },
            _ => StoreError::from(e),
        }
    }

    /// True when the database could not be reached (as opposed to refusing a query).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
            )
        )
    }
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
