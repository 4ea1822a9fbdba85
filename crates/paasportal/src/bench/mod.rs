//! `paasportal bench …`: benchmarks that print what they measured and, last, one JSON line.

mod emit;
mod engine;
mod fill;
mod fixtures;
mod ingest;
mod listen;
mod procstat;
mod query;
mod repos;
mod sse_client;
mod sse_parse;
mod stats;

use clap::Subcommand;

/// A benchmark to run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// K concurrent deployments append L log lines each through the durable writer.
    Ingest(ingest::IngestArgs),
    /// N deployments of the full pipeline against a real sshd on one worker: engine overhead.
    Engine(engine::EngineBenchArgs),
    /// Cloning repositories in parallel against one after another, and a redeploy's update.
    Repos(repos::ReposBenchArgs),
    /// A history to query: P projects, D finished deployments and N log lines.
    Fill(fill::FillArgs),
    /// History queries over HTTP against `serve`, on the data of `bench fill`.
    Query(query::QueryArgs),
    /// Plays K deployments through the durable writer and Redis for a separate `serve` replica.
    Emit(Box<emit::EmitArgs>),
    /// N SSE subscribers measuring delivery latency, loss and the server's CPU and memory.
    Listen(Box<listen::ListenArgs>),
}

/// Runs one benchmark.
pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest::run(args).await,
        BenchCommand::Engine(args) => engine::run(args).await,
        BenchCommand::Repos(args) => repos::run(args).await,
        BenchCommand::Fill(args) => fill::run(args).await,
        BenchCommand::Query(args) => query::run(args).await,
        BenchCommand::Emit(args) => emit::run(*args).await,
        BenchCommand::Listen(args) => listen::run(*args).await,
    }
}
