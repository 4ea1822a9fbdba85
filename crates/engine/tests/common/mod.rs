//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

pub mod harness;
pub mod odoo_containers;
pub mod odoo_world;
pub mod ssh_env;
pub mod standard;
pub mod testbed;
