//! `paasportal export DEPLOYMENT_ID [--format json|ndjson|txt] [-o FILE]`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use futures::StreamExt;
use uuid::Uuid;

use crate::client::Client;
use crate::error::CliError;

/// Export formats the server offers.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Ndjson,
    Txt,
}

/// Flags of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The deployment whose log to export.
    pub deployment_id: Uuid,
    #[arg(long, value_enum, default_value = "txt")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Streams the export to a file or standard output without holding it in memory.
pub async fn run(a: ExportArgs) -> Result<u8, CliError> {
    let mut c = Client::from_saved()?;
    let fmt = format!("{:?}", a.format).to_lowercase();
    let resp = c
        .stream(
            &format!(
                "/api/v1/deployments/{}/logs/export?format={fmt}",
                a.deployment_id
            ),
            None,
        )
        .await?;
    let path = a
        .output
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "standard output".into());
    let io_err = |source| CliError::File {
        path: path.clone(),
        source,
    };
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(io_err)?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| CliError::Invalid(format!("export interrupted: {e}")))?;
        out.write_all(&chunk).map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    if let Some(p) = &a.output {
        eprintln!("Exported to {}", p.display());
    }
    Ok(0)
}
