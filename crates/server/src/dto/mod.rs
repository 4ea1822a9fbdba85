//! JSON shapes of the API, field for field as the spec shows them.

pub mod catalog;
pub mod deployment;
pub mod environments;
pub mod members;
pub mod organizations;
pub mod paging;
pub mod progress;
pub mod servers;
pub mod users;
pub mod validate;
