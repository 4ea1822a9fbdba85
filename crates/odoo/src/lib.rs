//! Everything paasportal knows about deploying Odoo, as pure code plus thin clients:
//! the names the spec fixes, PGTune, odoo.conf, the argument vectors of every `docker`
//! and `git` command the stages run, dependency files, structured error data, and
//! clients for Cloudflare DNS, DNS verification and migration backups.
//!
//! Nothing here runs a command on a server: the engine's stages run the argument
//! vectors built here through its transport, which quotes every argument.

pub mod backup;
pub mod config_file;
pub mod credentials;
pub mod dependencies;
pub mod diagnostics;
pub mod dns;
pub mod docker_args;
pub mod git;
pub mod messages;
pub mod naming;
pub mod pgtune;

/// odoo.conf override validation, shared with the API (one validator).
pub use paasportal_core::overrides;
