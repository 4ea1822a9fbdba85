//! `verifying_dns`: asks the configured resolvers for the environment's A record every
//! interval until each answers exactly the server's IP, for up to the configured
//! maximum; a timeout is the spec's warning and the deployment goes on.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use paasportal_core::diagnostics::{ErrorCode, code_data};
use paasportal_odoo::diagnostics::dns_not_propagated;
use paasportal_odoo::dns::verify::Answer;
use paasportal_odoo::dns::{VerifyConfig, VerifyOutcome, verify_a_record};
use paasportal_odoo::messages;
use serde_json::json;

use super::odoo_env::closing;
use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Upper bound for one DNS query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Waits for the record to resolve before Traefik asks for a certificate.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyingDns;

fn describe(ns: &std::net::SocketAddr, a: &Answer) -> String {
    match a {
        Answer::Addresses(ips) if ips.is_empty() => format!("{ns}: no A record"),
        Answer::Addresses(ips) => {
            let ips: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
            format!("{ns}: {}", ips.join(", "))
        }
        Answer::Failed(e) => format!("{ns}: {e}"),
    }
}

#[async_trait]
impl StageHandler for VerifyingDns {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let settings = &cx.config().dns_verify;
        let host = cx.environment().hostname();
        let ip_text = cx.server().ip.clone();
        cx.info(messages::VERIFYING_DNS).await;
        cx.info(&messages::verifying_dns_for(settings.max_wait.as_secs()))
            .await;
        let Ok(expected) = ip_text.parse::<IpAddr>() else {
            return Ok(StageOutcome::warning(format!(
                "DNS verification skipped ({{duration}}): server address {ip_text} is not an IP address"
            )));
        };
        let config = VerifyConfig {
            nameservers: settings.resolvers.clone(),
            interval: settings.interval,
            timeout: settings.max_wait,
            query_timeout: QUERY_TIMEOUT.min(settings.interval.max(Duration::from_millis(100))),
        };
        let mut attempts_seen = 0u32;
        let result = tokio::select! {
            r = verify_a_record(&config, &host, expected, |n, _| attempts_seen = n) => r,
            _ = cx.cancel_token().cancelled() => return Err(StageError::stopped()),
        };
        match result {
            Ok(VerifyOutcome::Verified { attempts, .. }) => {
                Ok(StageOutcome::completed(closing(messages::dns_verified))
                    .with_data(json!({"hostname": host, "ip": ip_text, "attempts": attempts})))
            }
            Ok(VerifyOutcome::TimedOut {
                elapsed,
                attempts,
                last,
            }) => {
                let seen: Vec<String> = last.iter().map(|(ns, a)| describe(ns, a)).collect();
                let mut data = dns_not_propagated(&host, &ip_text, &seen, elapsed.as_secs_f64());
                data["attempts"] = json!(attempts);
                cx.warn(&messages::dns_timed_out(elapsed.as_secs_f64()), data)
                    .await;
                cx.warn(messages::SSL_MAY_TAKE_LONGER, serde_json::Value::Null)
                    .await;
                Ok(StageOutcome::warning(""))
            }
            Err(e) => Ok(StageOutcome::warning(format!(
                "DNS verification failed ({{duration}}): {e}"
            ))
            .with_data(code_data(
                ErrorCode::ConfigInvalid,
                json!({"hostname": host, "attempts": attempts_seen, "error": e.to_string()}),
            ))),
        }
    }

    fn alters_environment(&self) -> bool {
        false
    }
}
