//! `configuring_dns`: creates or updates the environment's Cloudflare A record
//! `{subdomain}.{apps_domain}` → server IP (TTL 300) early, so it propagates while the
//! rest deploys. Without a DNS provider, or when Cloudflare refuses, it warns and the
//! deployment goes on.

use std::net::Ipv4Addr;

use async_trait::async_trait;
use paasportal_core::LogLevel;
use paasportal_core::diagnostics::{ErrorCode, code_data};
use paasportal_odoo::dns::{CloudflareClient, RecordOutcome};
use paasportal_odoo::messages;
use serde_json::{Value, json};

use super::odoo_env::closing;
use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Sets the A record through the organization's DNS provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfiguringDns;

fn failed(reason: &str, details: Value) -> StageOutcome {
    StageOutcome::warning(closing(|s| messages::dns_failed(s, reason)))
        .with_data(code_data(ErrorCode::CommandFailed, details))
}

#[async_trait]
impl StageHandler for ConfiguringDns {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        cx.info(messages::CONFIGURING_DNS).await;
        let host = cx.environment().hostname();
        let ip_text = cx.server().ip.clone();
        let provider = cx
            .store()
            .dns_provider(cx.project().organization_id)
            .await
            .map_err(|e| {
                StageError::new(
                    format!("Cannot load the organization's DNS provider: {e}"),
                    ErrorCode::Internal,
                    Value::Null,
                )
            })?;
        let Some(provider) = provider else {
            return Ok(StageOutcome::skipped(closing(messages::dns_skipped))
                .at(LogLevel::Warning)
                .with_data(json!({"hostname": host})));
        };
        let details = json!({"hostname": host, "ip": ip_text, "provider": provider.provider});
        if provider.provider != "cloudflare" {
            return Ok(failed(
                &format!("DNS provider {:?} is not supported", provider.provider),
                details,
            ));
        }
        let Ok(ip) = ip_text.parse::<Ipv4Addr>() else {
            return Ok(failed(
                &format!("server address {ip_text} is not an IPv4 address"),
                details,
            ));
        };
        let token = match cx.secrets().open(&provider.api_token_enc) {
            Ok(t) => t,
            Err(e) => {
                return Ok(failed(
                    &format!("cannot decrypt the DNS provider's API token: {e}"),
                    details,
                ));
            }
        };
        cx.register_secret(&token);
        let client = match CloudflareClient::new(
            provider.api_base_url.as_deref(),
            &provider.zone_id,
            &token,
        ) {
            Ok(c) => c,
            Err(e) => return Ok(failed(&e.to_string(), details)),
        };
        let result = tokio::select! {
            r = client.upsert_a_record(&host, ip) => r,
            _ = cx.cancel_token().cancelled() => return Err(StageError::stopped()),
        };
        match result {
            Ok(outcome) => {
                let (action, previous) = match &outcome {
                    RecordOutcome::Created { .. } => ("created", None),
                    RecordOutcome::Updated { previous, .. } => ("updated", Some(previous.clone())),
                    RecordOutcome::Unchanged { .. } => ("unchanged", None),
                };
                Ok(StageOutcome::completed(closing(|s| {
                    messages::dns_configured(&host, &ip_text, s)
                }))
                .with_data(json!({
                    "hostname": host,
                    "ip": ip_text,
                    "record_id": outcome.id(),
                    "action": action,
                    "previous_ip": previous,
                    "ttl": paasportal_odoo::dns::cloudflare::RECORD_TTL,
                })))
            }
            Err(e) => {
                let mut d = details;
                d["error"] = json!(e.to_string());
                Ok(failed(&e.to_string(), d))
            }
        }
    }
}
