//! Repositories on the target server: remotes and providers, clone/fetch/reset
//! argument vectors that keep tokens off disk, commit facts, and clone failures.

pub mod commands;
pub mod commit_info;
pub mod failure;
pub mod remote;

pub use failure::CloneFailure;
pub use remote::{GitProvider, Remote, RemoteError, validate_branch};
