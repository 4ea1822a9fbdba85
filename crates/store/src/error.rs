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
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
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
                _ => StoreError::Database(e),
            },
            _ => StoreError::Database(e),
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
