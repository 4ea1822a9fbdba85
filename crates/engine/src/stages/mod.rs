//! Stage implementations, one file per stage. The engine owns `initializing`,
//! `connecting` and `completed`; the infrastructure stages (network, database, image,
//! odoo.conf, container, Traefik, health check) live here too, beside the shared
//! deployment [`plan`] and the [`docker`] helpers.
//!
//! They live in the engine, depending on `paasportal-odoo`, because a stage is glue:
//! the `odoo` crate builds every argument vector, file and message as pure, unit-tested
//! code, and the stage runs them through the engine's context (quoting, redaction,
//! timeouts, cancel, logging), which the `odoo` crate must not know about.

mod completed;
mod configuring_traefik;
mod connecting;
mod creating_database;
mod creating_network;
pub mod docker;
mod generating_config;
mod health_check;
mod initializing;
pub mod plan;
mod pulling_image;
mod script;
mod starting_container;
mod unavailable;

pub use completed::Completed;
pub use configuring_traefik::ConfiguringTraefik;
pub use connecting::Connecting;
pub use creating_database::CreatingDatabase;
pub use creating_network::CreatingNetwork;
pub use generating_config::GeneratingConfig;
pub use health_check::HealthCheck;
pub use initializing::Initializing;
pub use pulling_image::PullingImage;
pub use script::Script;
pub use starting_container::StartingContainer;
pub use unavailable::Unavailable;
