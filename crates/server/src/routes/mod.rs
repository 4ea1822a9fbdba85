//! Route table: one module per area of the API.

pub mod auth;
pub mod deployments;
pub mod events;
pub mod export;
pub mod health;
