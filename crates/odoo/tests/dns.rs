//! The Cloudflare client against the testbed's fake Cloudflare API, and DNS
//! verification against the testbed's DNS server, which answers from that API's
//! records once their propagation delay has passed.
//!
//! Needs `PAASPORTAL_TEST_CLOUDFLARE_URL`, `_CLOUDFLARE_TOKEN`, `_CLOUDFLARE_ZONE_ID`,
//! `_APPS_DOMAIN`, `_DNS_SERVER`, `_DNS_PROPAGATION_SECS` (`pp_start_fakes`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use paasportal_odoo::dns::verify::Answer;
use paasportal_odoo::dns::{
    CloudflareClient, CloudflareError, RecordOutcome, VerifyConfig, VerifyOutcome, verify_a_record,
};
use paasportal_testkit::require_env;

fn client(token: &str) -> CloudflareClient {
    CloudflareClient::new(
        Some(&require_env("PAASPORTAL_TEST_CLOUDFLARE_URL")),
        &require_env("PAASPORTAL_TEST_CLOUDFLARE_ZONE_ID"),
        token,
    )
    .unwrap()
}

fn unique_host() -> String {
    format!(
        "env-{}.{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12],
        require_env("PAASPORTAL_TEST_APPS_DOMAIN")
    )
}

fn verify_config(interval_ms: u64, timeout_ms: u64) -> VerifyConfig {
    let ns: SocketAddr = require_env("PAASPORTAL_TEST_DNS_SERVER").parse().unwrap();
    VerifyConfig {
        nameservers: vec![ns],
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        query_timeout: Duration::from_secs(2),
    }
}

fn propagation() -> Duration {
    Duration::from_secs_f64(
        require_env("PAASPORTAL_TEST_DNS_PROPAGATION_SECS")
            .parse()
            .unwrap(),
    )
}

#[tokio::test]
async fn record_is_created_then_unchanged_then_updated() {
    let c = client(&require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN"));
    let host = unique_host();
    let ip1 = Ipv4Addr::new(127, 0, 0, 11);
    let ip2 = Ipv4Addr::new(127, 0, 0, 12);

    let created = c.upsert_a_record(&host, ip1).await.unwrap();
    assert!(
        matches!(created, RecordOutcome::Created { .. }),
        "{created:?}"
    );
    let recs = c.find_a_records(&host).await.unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].content, "127.0.0.11");
    assert_eq!(recs[0].ttl, 300);
    assert!(!recs[0].proxied);

    assert_eq!(
        c.upsert_a_record(&host, ip1).await.unwrap(),
        RecordOutcome::Unchanged {
            id: created.id().to_owned()
        }
    );
    assert_eq!(
        c.upsert_a_record(&host, ip2).await.unwrap(),
        RecordOutcome::Updated {
            id: created.id().to_owned(),
            previous: "127.0.0.11".into()
        }
    );
    assert_eq!(
        c.find_a_records(&host).await.unwrap()[0].content,
        "127.0.0.12"
    );
}

#[tokio::test]
async fn api_errors_carry_cloudflare_messages_and_no_token() {
    let bad_token = "not-the-token-31337";
    let e = client(bad_token)
        .upsert_a_record(&unique_host(), Ipv4Addr::LOCALHOST)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        CloudflareError::Api {
            status: 403,
            messages: vec!["Authentication error (code 10000)".into()]
        }
    );
    assert!(!e.to_string().contains(bad_token));

    let wrong_zone = CloudflareClient::new(
        Some(&require_env("PAASPORTAL_TEST_CLOUDFLARE_URL")),
        "0000000000000000000000000000dead",
        &require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN"),
    )
    .unwrap();
    let e = wrong_zone.find_a_records(&unique_host()).await.unwrap_err();
    assert!(
        matches!(&e, CloudflareError::Api { status: 404, messages } if messages[0].contains("7003")),
        "{e}"
    );

    let outside = client(&require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN"))
        .upsert_a_record("www.example.org", Ipv4Addr::LOCALHOST)
        .await
        .unwrap_err();
    assert!(
        matches!(outside, CloudflareError::Api { status: 400, .. }),
        "{outside}"
    );
}

#[tokio::test]
async fn verification_waits_for_propagation() {
    let c = client(&require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN"));
    let host = unique_host();
    let ip = Ipv4Addr::new(127, 0, 0, 21);
    c.upsert_a_record(&host, ip).await.unwrap();
    let delay = propagation();
    let mut seen_nothing_first = false;
    let out = verify_a_record(
        &verify_config(200, 15_000),
        &host,
        IpAddr::V4(ip),
        |n, answers| {
            if n == 1 {
                seen_nothing_first = matches!(&answers[0].1, Answer::Addresses(a) if a.is_empty());
            }
        },
    )
    .await
    .unwrap();
    let VerifyOutcome::Verified { elapsed, attempts } = out else {
        panic!("not verified: {out:?}");
    };
    if delay >= Duration::from_millis(500) {
        assert!(
            seen_nothing_first,
            "the record was visible before its propagation delay"
        );
        assert!(attempts > 1);
        assert!(
            elapsed + Duration::from_millis(300) >= delay,
            "{elapsed:?} < {delay:?}"
        );
    }
}

#[tokio::test]
async fn a_name_that_never_resolves_times_out() {
    let host = unique_host();
    let out = verify_a_record(
        &verify_config(200, 1_000),
        &host,
        "127.0.0.1".parse().unwrap(),
        |_, _| {},
    )
    .await
    .unwrap();
    let VerifyOutcome::TimedOut {
        elapsed,
        attempts,
        last,
    } = out
    else {
        panic!("verified a name that does not exist");
    };
    assert!(elapsed >= Duration::from_millis(1_000));
    assert!(attempts >= 3, "{attempts}");
    assert_eq!(last[0].1, Answer::Addresses(vec![]));
}

#[tokio::test]
async fn a_record_pointing_elsewhere_times_out() {
    let c = client(&require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN"));
    let host = unique_host();
    c.upsert_a_record(&host, Ipv4Addr::new(127, 0, 0, 31))
        .await
        .unwrap();
    let wait = propagation().as_millis() as u64 + 1_000;
    let out = verify_a_record(
        &verify_config(200, wait),
        &host,
        "127.0.0.32".parse().unwrap(),
        |_, _| {},
    )
    .await
    .unwrap();
    let VerifyOutcome::TimedOut { last, .. } = out else {
        panic!("verified the wrong address");
    };
    assert_eq!(
        last[0].1,
        Answer::Addresses(vec!["127.0.0.31".parse().unwrap()])
    );
}
