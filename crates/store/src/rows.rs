//! Small helpers shared by the row mappings.

use std::str::FromStr;

use crate::error::StoreError;

/// Parses a stored enum value, reporting a corrupt row if it is unknown.
pub(crate) fn parse<T>(s: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Reads a stored JSON column, treating SQL NULL as JSON null.
pub(crate) fn json_or_null(v: Option<sqlx::types::Json<serde_json::Value>>) -> serde_json::Value {
    v.map(|j| j.0).unwrap_or(serde_json::Value::Null)
}

/// Stores JSON null as SQL NULL.
pub(crate) fn null_or_json(v: &serde_json::Value) -> Option<sqlx::types::Json<&serde_json::Value>> {
    if v.is_null() {
        None
    } else {
        Some(sqlx::types::Json(v))
    }
}
