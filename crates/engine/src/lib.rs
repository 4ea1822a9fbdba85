//! paasportal's deployment engine: the queue's workers, the pipeline runner, the stage
//! interface and the transports that run commands on servers.
//!
//! A [`Worker`] claims queued deployments (see `paasportal_store::queue`) and hands each
//! to the runner, which walks the [`Pipeline`]'s stages in catalogue order. A stage is a
//! [`StageHandler`]; it sees its deployment through a [`StageContext`] and runs commands
//! on the server through the deployment's [`transport::Transport`] (SSH or local).
//! Every log line is redacted and goes through the durable log writer.

pub mod config;
pub mod context;
pub mod control;
pub mod credentials;
pub mod diagnose;
pub mod engine;
pub mod error;
pub mod events;
pub mod logger;
pub mod pipeline;
pub mod recovery;
pub mod runner;
pub mod sqlite_lock;
pub mod stage;
pub mod stages;
mod steps;
pub mod transport;
pub mod vars;
pub mod worker;

pub use config::EngineConfig;
pub use context::{CommandOutput, RunOptions, StageContext};
pub use control::{RunControl, StopReason};
pub use engine::Engine;
pub use error::EngineError;
pub use pipeline::Pipeline;
pub use runner::RunReport;
pub use stage::{OutcomeKind, StageError, StageHandler, StageOutcome};
pub use vars::Vars;
pub use worker::Worker;
