//! Stage implementations, one file per stage. The engine owns `initializing`,
//! `connecting` and `completed`; the infrastructure stages (network, database, image,
//! odoo.conf, container, Traefik, health check) live here too, beside the shared
//! deployment [`plan`] and the [`docker`] helpers.
//!
//! They live in the engine, depending on `paasportal-odoo`, because a stage is glue:
//! the `odoo` crate builds every argument vector, file and message as pure, unit-tested
//! code, and the stage runs them through the engine's context (quoting, redaction,
//! timeouts, cancel, logging), which the `odoo` crate must not know about.

mod cloning_org_repos;
mod cloning_platform_repos;
mod cloning_repo;
mod completed;
mod configuring_dns;
mod configuring_traefik;
mod connecting;
mod creating_database;
mod creating_network;
pub mod docker;
mod generating_config;
mod health_check;
mod initializing;
mod initializing_database;
mod installing_dependencies;
mod migration_restore;
pub mod odoo_env;
pub mod plan;
mod pulling_image;
pub mod repos;
mod script;
mod starting_container;
mod unavailable;
mod verifying_dns;

pub use cloning_org_repos::CloningOrgRepos;
pub use cloning_platform_repos::CloningPlatformRepos;
pub use cloning_repo::CloningRepo;
pub use completed::Completed;
pub use configuring_dns::ConfiguringDns;
pub use configuring_traefik::ConfiguringTraefik;
pub use connecting::Connecting;
pub use creating_database::CreatingDatabase;
pub use creating_network::CreatingNetwork;
pub use generating_config::GeneratingConfig;
pub use health_check::HealthCheck;
pub use initializing::Initializing;
pub use initializing_database::InitializingDatabase;
pub use installing_dependencies::{DepsImage, InstallingDependencies, deps_image_file};
pub use pulling_image::PullingImage;
pub use script::Script;
pub use starting_container::StartingContainer;
pub use unavailable::Unavailable;
pub use verifying_dns::VerifyingDns;
