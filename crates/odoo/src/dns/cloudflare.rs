//! A thin client for the part of Cloudflare's DNS API the pipeline uses: find the A
//! record of a name in a zone, create it or update it to the server's IP with TTL 300,
//! not proxied (Let's Encrypt's HTTP-01 challenge must reach Traefik directly).
//!
//! The API token is sent as a bearer header and appears in no error: errors carry the
//! HTTP status and Cloudflare's own messages.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::hostname::validate_hostname;

/// Cloudflare's API root.
pub const DEFAULT_API_BASE: &str = "https://api.cloudflare.com/client/v4";
/// The record's TTL: the spec's 300 seconds.
pub const RECORD_TTL: u32 = 300;
/// Upper bound for one API request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a Cloudflare call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudflareError {
    #[error("Cloudflare zone id {0:?} is not valid")]
    InvalidZone(String),
    #[error("Cloudflare API base URL {0:?} is not a valid http(s) URL")]
    InvalidBaseUrl(String),
    #[error(transparent)]
    InvalidHostname(#[from] super::hostname::HostnameError),
    #[error("cannot reach the Cloudflare API: {0}")]
    Unreachable(String),
    #[error("Cloudflare API error (HTTP {status}): {}", .messages.join("; "))]
    Api { status: u16, messages: Vec<String> },
    #[error("unexpected answer from the Cloudflare API (HTTP {status}): {detail}")]
    BadResponse { status: u16, detail: String },
}

/// What the upsert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Created {
        id: String,
    },
    Updated {
        id: String,
        previous: String,
    },
    /// The record already pointed at the IP with the right TTL, unproxied.
    Unchanged {
        id: String,
    },
}

impl RecordOutcome {
    /// The record's id.
    pub fn id(&self) -> &str {
        match self {
            RecordOutcome::Created { id }
            | RecordOutcome::Updated { id, .. }
            | RecordOutcome::Unchanged { id } => id,
        }
    }
}

/// An A record as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DnsRecord {
    pub id: String,
    pub name: String,
    pub content: String,
    #[serde(default)]
    pub ttl: u32,
    #[serde(default)]
    pub proxied: bool,
}

#[derive(Deserialize)]
struct Envelope<T> {
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    result: Option<T>,
}

#[derive(Deserialize)]
struct ApiMessage {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// A client for one zone with one API token.
#[derive(Clone)]
pub struct CloudflareClient {
    http: reqwest::Client,
    base: String,
    zone_id: String,
    token: String,
}

impl std::fmt::Debug for CloudflareClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudflareClient")
            .field("base", &self.base)
            .field("zone_id", &self.zone_id)
            .field("token", &"***")
            .finish()
    }
}

impl CloudflareClient {
    /// A client for `zone_id`; `api_base` defaults to [`DEFAULT_API_BASE`] (tests point it at a fake).
    pub fn new(
        api_base: Option<&str>,
        zone_id: &str,
        api_token: &str,
    ) -> Result<Self, CloudflareError> {
        let base = api_base.unwrap_or(DEFAULT_API_BASE).trim_end_matches('/');
        let parsed =
            url::Url::parse(base).map_err(|_| CloudflareError::InvalidBaseUrl(base.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
            return Err(CloudflareError::InvalidBaseUrl(base.to_owned()));
        }
        if zone_id.is_empty()
            || zone_id.len() > 64
            || !zone_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(CloudflareError::InvalidZone(zone_id.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent("paasportal")
            .build()
            .map_err(|e| CloudflareError::Unreachable(e.to_string()))?;
        Ok(CloudflareClient {
            http,
            base: base.to_owned(),
            zone_id: zone_id.to_owned(),
            token: api_token.to_owned(),
        })
    }

    fn records_url(&self) -> String {
        format!("{}/zones/{}/dns_records", self.base, self.zone_id)
    }

    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, CloudflareError> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| CloudflareError::Unreachable(describe(&e)))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| CloudflareError::Unreachable(describe(&e)))?;
        let env: Envelope<T> =
            serde_json::from_slice(&body).map_err(|e| CloudflareError::BadResponse {
                status,
                detail: e.to_string(),
            })?;
        if !env.success || !(200..300).contains(&status) {
            let mut messages: Vec<String> = env
                .errors
                .iter()
                .map(|m| format!("{} (code {})", m.message, m.code))
                .collect();
            if messages.is_empty() {
                messages.push("request failed without an error message".to_owned());
            }
            return Err(CloudflareError::Api { status, messages });
        }
        env.result.ok_or(CloudflareError::BadResponse {
            status,
            detail: "no result in a successful answer".to_owned(),
        })
    }

    /// The A records named exactly `fqdn` in the zone.
    pub async fn find_a_records(&self, fqdn: &str) -> Result<Vec<DnsRecord>, CloudflareError> {
        validate_hostname(fqdn)?;
        let mut url = url::Url::parse(&self.records_url())
            .map_err(|_| CloudflareError::InvalidBaseUrl(self.base.clone()))?;
        url.query_pairs_mut()
            .append_pair("type", "A")
            .append_pair("name", fqdn)
            .append_pair("per_page", "100");
        self.send(self.http.get(url)).await
    }

    /// Creates the A record `fqdn` → `ip` (TTL 300, not proxied), or updates the
    /// existing one. When several exist, the first is updated and the rest are left.
    pub async fn upsert_a_record(
        &self,
        fqdn: &str,
        ip: Ipv4Addr,
    ) -> Result<RecordOutcome, CloudflareError> {
        let existing = self.find_a_records(fqdn).await?;
        let body = json!({
            "type": "A",
            "name": fqdn,
            "content": ip.to_string(),
            "ttl": RECORD_TTL,
            "proxied": false,
        });
        match existing.into_iter().next() {
            None => {
                let rec: DnsRecord = self
                    .send(self.http.post(self.records_url()).json(&body))
                    .await?;
                Ok(RecordOutcome::Created { id: rec.id })
            }
            Some(rec) if rec.content == ip.to_string() && rec.ttl == RECORD_TTL && !rec.proxied => {
                Ok(RecordOutcome::Unchanged { id: rec.id })
            }
            Some(rec) => {
                let url = format!("{}/{}", self.records_url(), rec.id);
                let updated: DnsRecord = self.send(self.http.put(url).json(&body)).await?;
                Ok(RecordOutcome::Updated {
                    id: updated.id,
                    previous: rec.content,
                })
            }
        }
    }
}

/// A transport error's message with its source chain (the URL holds no secret).
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_is_validated() {
        assert!(CloudflareClient::new(None, "023e105f4ecef8ad9ca31a8372d0c353", "t").is_ok());
        assert!(matches!(
            CloudflareClient::new(None, "../../user", "t"),
            Err(CloudflareError::InvalidZone(_))
        ));
        assert!(matches!(
            CloudflareClient::new(Some("ftp://x"), "z", "t"),
            Err(CloudflareError::InvalidBaseUrl(_))
        ));
        let c =
            CloudflareClient::new(Some("http://127.0.0.1:1/client/v4/"), "z", "sekret").unwrap();
        assert_eq!(
            c.records_url(),
            "http://127.0.0.1:1/client/v4/zones/z/dns_records"
        );
        assert!(!format!("{c:?}").contains("sekret"));
    }

    #[test]
    fn api_errors_read_well() {
        let e = CloudflareError::Api {
            status: 403,
            messages: vec!["Authentication error (code 10000)".into()],
        };
        assert_eq!(
            e.to_string(),
            "Cloudflare API error (HTTP 403): Authentication error (code 10000)"
        );
    }

    #[tokio::test]
    async fn unreachable_api_is_a_clear_error() {
        let port = paasportal_testkit::free_port();
        let c = CloudflareClient::new(Some(&format!("http://127.0.0.1:{port}")), "z", "sekret")
            .unwrap();
        let e = c
            .upsert_a_record("a.example.com", Ipv4Addr::LOCALHOST)
            .await
            .unwrap_err();
        assert!(matches!(e, CloudflareError::Unreachable(_)), "{e}");
        assert!(!e.to_string().contains("sekret"));
        let e = c.find_a_records("not a host").await.unwrap_err();
        assert!(matches!(e, CloudflareError::InvalidHostname(_)));
    }
}
