//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

pub mod harness;
pub mod ssh_env;
pub mod testbed;
