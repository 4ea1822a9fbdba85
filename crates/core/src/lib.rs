//! paasportal's domain: the types every other crate speaks, the stage catalogue
//! and the progress maths. Nothing here performs I/O.

pub mod text_enum;

pub mod access;
pub mod deployment;
pub mod diagnostics;
pub mod environment;
pub mod event;
pub mod git_remote;
pub mod log;
pub mod odoo_version;
pub mod organization;
pub mod overrides;
pub mod password;
pub mod project;
pub mod redact;
pub mod repository;
pub mod secret;
pub mod server;
pub mod shell;
pub mod stage;
pub mod summary;
pub mod user;

pub use access::{Access, Permission, ViewScope};
pub use deployment::{Deployment, DeploymentStatus, DeploymentStep, GitInfo, Trigger};
pub use environment::{Environment, EnvironmentStatus, ResourceSplit};
pub use event::{DeploymentContext, EventKind, NewEvent, StreamEvent};
pub use log::{LogLevel, LogRecord, NewLog};
pub use odoo_version::OdooVersion;
pub use organization::{OrgMember, OrgRole, Organization};
pub use project::{Project, ProjectMember, ProjectRole};
pub use repository::{RepoScope, Repository};
pub use secret::{SecretBox, SecretError};
pub use server::{AuthMethod, Server, ServerCredentials, TransportKind};
pub use stage::{Stage, StepStatus};
pub use user::User;
