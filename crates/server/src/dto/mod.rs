//! JSON shapes of the API, field for field as the spec shows them.

pub mod deployment;
pub mod paging;
pub mod progress;
