//! `paasportal login` and `paasportal logout`.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;

use crate::client::{self, Client};
use crate::credentials::Credentials;
use crate::error::CliError;

/// Flags of `login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server's base URL.
    #[arg(
        long,
        env = "PAASPORTAL_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// Your e-mail address.
    #[arg(long, env = "PAASPORTAL_EMAIL")]
    pub email: String,
    /// Read the password from standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Logs in and saves the session.
pub async fn run(a: LoginArgs) -> Result<u8, CliError> {
    let password = read_password(a.password_stdin)?;
    let pair = client::login(&a.server, &a.email, &password).await?;
    Credentials {
        server: a.server.trim_end_matches('/').to_owned(),
        email: a.email.clone(),
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
    }
    .save()?;
    println!("Logged in to {} as {}", a.server, a.email);
    Ok(0)
}

/// Revokes the session on the server (best effort) and deletes it locally.
pub async fn logout() -> Result<u8, CliError> {
    if let Some(creds) = Credentials::load()? {
        let mut c = Client::from_saved()?;
        let body = serde_json::json!({ "refresh_token": creds.refresh_token });
        let _: Result<serde_json::Value, _> = c.post("/api/v1/auth/logout", &body).await;
    }
    Credentials::remove()?;
    println!("Logged out");
    Ok(0)
}

fn read_password(from_stdin: bool) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        eprint!("Password: ");
        let _ = std::io::stderr().flush();
        // Terminal echo stays on: use --password-stdin in scripts, or a password manager pipe.
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|source| CliError::File {
            path: "standard input".into(),
            source,
        })?;
    let pw = line.trim_end_matches(['\r', '\n']).to_owned();
    if pw.is_empty() {
        return Err(CliError::Invalid("empty password".into()));
    }
    Ok(pw)
}
