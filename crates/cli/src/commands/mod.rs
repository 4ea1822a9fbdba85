//! One module per command.

pub mod cancel;
pub mod deploy;
pub mod export;
pub mod follow;
pub mod list;
pub mod login;
pub mod logs;
pub mod show;
