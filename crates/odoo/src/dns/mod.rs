//! DNS for an environment's host name: the Cloudflare A record created early in the
//! pipeline (`configuring_dns`), and the check that it resolves before SSL (`verifying_dns`).

pub mod cloudflare;
pub mod hostname;
pub mod verify;

pub use cloudflare::{CloudflareClient, CloudflareError, RecordOutcome};
pub use hostname::{HostnameError, validate_hostname};
pub use verify::{VerifyConfig, VerifyError, VerifyOutcome, verify_a_record};
