//! Route table: one module per area of the API.

pub mod admin_password;
pub mod auth;
pub mod deployments;
pub mod environments;
pub mod events;
pub mod export;
pub mod health;
pub mod organizations;
pub mod projects;
pub mod repositories;
pub mod servers;
pub mod session;
pub mod users;
pub mod versions;
