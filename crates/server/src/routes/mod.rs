//! Route table: one module per area of the API.

pub mod auth;
pub mod health;
