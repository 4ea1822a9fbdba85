//! Schema migrations, embedded in the binary, one folder per backend.

use sqlx::migrate::Migrator;

use crate::db::Db;
use crate::error::{Result, StoreError};

static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The newest schema version this binary knows.
pub fn binary_version(db: &Db) -> i64 {
    let m = match db {
        Db::Sqlite(_) => &SQLITE,
        Db::Postgres(_) => &POSTGRES,
    };
    m.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The newest schema version applied to the database, 0 for an empty one.
pub async fn database_version(db: &Db) -> Result<i64> {
    let exists_sql = match db {
        Db::Sqlite(_) => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Db::Postgres(_) => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()"
        }
    };
    let version_sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
    let v: i64 = match db {
        Db::Sqlite(p) => {
            let n: i64 = sqlx::query_scalar(exists_sql).fetch_one(p).await?;
            if n == 0 {
                0
            } else {
                sqlx::query_scalar(version_sql).fetch_one(p).await?
            }
        }
        Db::Postgres(p) => {
            let n: i64 = sqlx::query_scalar(exists_sql).fetch_one(p).await?;
            if n == 0 {
                0
            } else {
                sqlx::query_scalar(version_sql).fetch_one(p).await?
            }
        }
    };
    Ok(v)
}

/// Applies pending migrations; refuses a database whose schema is newer than the binary.
pub async fn run(db: &Db) -> Result<()> {
    let database = database_version(db).await?;
    let binary = binary_version(db);
    if database > binary {
        return Err(StoreError::SchemaTooNew { database, binary });
    }
    match db {
        Db::Sqlite(p) => SQLITE.run(p).await?,
        Db::Postgres(p) => POSTGRES.run(p).await?,
    }
    Ok(())
}
