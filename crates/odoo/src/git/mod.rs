//! Repositories on the target server: remotes and providers, clone/fetch/reset
//! argument vectors that keep tokens off disk, commit facts, and clone failures.

pub mod commands;
pub mod commit_info;
pub mod failure;

pub use failure::CloneFailure;
/// Remotes and branch validation live in core, shared with the API (one validator).
pub use paasportal_core::git_remote as remote;
pub use paasportal_core::git_remote::{GitProvider, Remote, RemoteError, validate_branch};
