//! paasportal's deployment engine.

pub mod transport;
