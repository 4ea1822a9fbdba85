//! paasportal's command-line client: log in, deploy, follow a deployment's log live,
//! inspect history. Every command talks to the public REST API and event stream only.

mod client;
mod commands;
mod credentials;
mod error;
mod render;
mod sse;

use clap::Subcommand;

pub use credentials::{Credentials, config_dir};
pub use error::CliError;
pub use sse::{SseEvent, SseParser};

/// The client's commands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Log in to a paasportal server and save the session (0600, under ~/.config/paasportal).
    Login(commands::login::LoginArgs),
    /// End the saved session on the server and forget it here.
    Logout,
    /// Start a deployment of an environment; `-f` follows it to the end.
    Deploy(commands::deploy::DeployArgs),
    /// List deployments, newest first.
    Deployments(commands::list::ListArgs),
    /// Show one deployment: status, timings and every stage.
    Show(commands::show::ShowArgs),
    /// Print a deployment's log; `-f` follows it live until the deployment ends.
    Logs(commands::logs::LogsArgs),
    /// Cancel a pending or running deployment.
    Cancel(commands::cancel::CancelArgs),
    /// Download a deployment's log as json, ndjson or txt.
    Export(commands::export::ExportArgs),
}

/// Runs one command; returns the process exit code (1 when a followed deployment failed).
pub async fn run(cmd: ClientCommand) -> Result<u8, CliError> {
    match cmd {
        ClientCommand::Login(a) => commands::login::run(a).await,
        ClientCommand::Logout => commands::login::logout().await,
        ClientCommand::Deploy(a) => commands::deploy::run(a).await,
        ClientCommand::Deployments(a) => commands::list::run(a).await,
        ClientCommand::Show(a) => commands::show::run(a).await,
        ClientCommand::Logs(a) => commands::logs::run(a).await,
        ClientCommand::Cancel(a) => commands::cancel::run(a).await,
        ClientCommand::Export(a) => commands::export::run(a).await,
    }
}
