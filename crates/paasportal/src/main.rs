//! The `paasportal` binary: one executable for the server, the worker, the
//! benchmarks and the command-line client.

mod bench;
mod config;
mod deploy_args;
mod first_admin;
mod keys;
mod register;
mod retention;
mod serve;
mod startup;
mod telemetry;
mod worker;

use std::process::ExitCode;

use clap::Parser;

use crate::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command; returns the process exit code.
async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Serve(args) => {
            telemetry::init(&args.common.log_level, args.common.log_format)?;
            serve::run(*args).await?;
        }
        Command::Worker(args) => {
            telemetry::init(&args.common.log_level, args.common.log_format)?;
            worker::run(*args).await?;
        }
        Command::Bench(cmd) => {
            let level = std::env::var("PAASPORTAL_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
            telemetry::init(&level, config::LogFormat::Pretty)?;
            bench::run(cmd).await?;
        }
        Command::RegisterTestbed(args) => {
            telemetry::init(&args.common.log_level, args.common.log_format)?;
            register::run(*args).await?;
        }
        Command::Client(cmd) => return Ok(paasportal_cli::run(cmd).await?),
    }
    Ok(0)
}
