//! Writes that observe their commit.
//!
//! SQLite commits a statement outside a transaction when the statement is stepped to its
//! end. `fetch_one` and `fetch_optional` stop after the first row and reset the statement,
//! and sqlx ignores the error of that reset: a commit that fails there (`SQLITE_FULL` on a
//! full disk) would go unnoticed, and the API would acknowledge a write that never
//! happened. Every `INSERT/UPDATE/DELETE … RETURNING` therefore reads all its rows
//! (`fetch_all`), which steps the statement to its end and returns the commit's error,
//! and then takes the one row it expects with these helpers.

/// The only row of a write that returns exactly one (`RowNotFound` when it returned none).
pub(crate) fn one<T>(rows: Vec<T>) -> Result<T, sqlx::Error> {
    rows.into_iter().next().ok_or(sqlx::Error::RowNotFound)
}

/// The row of a write that returns at most one.
pub(crate) fn first<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}
