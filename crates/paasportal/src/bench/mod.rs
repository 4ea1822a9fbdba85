//! `paasportal bench …`: benchmarks that print what they measured and, last, one JSON line.

mod fixtures;
mod ingest;
mod stats;

use clap::Subcommand;

/// A benchmark to run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// K concurrent deployments append L log lines each through the durable writer.
    Ingest(ingest::IngestArgs),
}

/// Runs one benchmark.
pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest::run(args).await,
    }
}
