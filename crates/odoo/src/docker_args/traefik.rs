//! The Traefik labels of the Odoo container, and their check against `docker inspect`.

use std::collections::BTreeMap;

use super::{Argv, argv};
use crate::naming::{EnvNames, TRAEFIK_NETWORK};

/// The rate-limit middleware's average requests per second.
pub const RATELIMIT_AVERAGE: u32 = 100;
/// The rate-limit middleware's burst.
pub const RATELIMIT_BURST: u32 = 50;

/// The spec's labels, in its order, plus the router's middleware and the network
/// Traefik must use (the container is on two networks).
pub fn labels(names: &EnvNames, hostname: &str) -> Vec<(String, String)> {
    let r = names.router();
    let s = names.service();
    let m = names.ratelimit_middleware();
    vec![
        ("traefik.enable".into(), "true".into()),
        (
            format!("traefik.http.routers.{r}.rule"),
            format!("Host(`{hostname}`)"),
        ),
        (
            format!("traefik.http.routers.{r}.entrypoints"),
            "websecure".into(),
        ),
        (format!("traefik.http.routers.{r}.tls"), "true".into()),
        (
            format!("traefik.http.routers.{r}.tls.certresolver"),
            "letsencrypt".into(),
        ),
        (format!("traefik.http.routers.{r}.service"), s.clone()),
        (
            format!("traefik.http.services.{s}.loadbalancer.server.port"),
            super::odoo::HTTP_PORT.to_string(),
        ),
        (
            format!("traefik.http.middlewares.{m}.ratelimit.average"),
            RATELIMIT_AVERAGE.to_string(),
        ),
        (
            format!("traefik.http.middlewares.{m}.ratelimit.burst"),
            RATELIMIT_BURST.to_string(),
        ),
        (format!("traefik.http.routers.{r}.middlewares"), m),
        ("traefik.docker.network".into(), TRAEFIK_NETWORK.into()),
    ]
}

/// `docker inspect --format {{json .Config.Labels}} CONTAINER`.
pub fn inspect_labels(container: &str) -> Argv {
    argv([
        "docker",
        "inspect",
        "--type",
        "container",
        "--format",
        "{{json .Config.Labels}}",
        container,
    ])
}

/// The labels that are missing or differ in `inspect_json` (what [`inspect_labels`]
/// printed), as `key` → `(expected, actual)`; empty when all are in place.
pub fn label_differences(
    expected: &[(String, String)],
    inspect_json: &str,
) -> Result<BTreeMap<String, (String, Option<String>)>, serde_json::Error> {
    let actual: BTreeMap<String, String> =
        serde_json::from_str::<Option<BTreeMap<String, String>>>(inspect_json.trim())?
            .unwrap_or_default();
    Ok(expected
        .iter()
        .filter(|(k, v)| actual.get(k) != Some(v))
        .map(|(k, v)| (k.clone(), (v.clone(), actual.get(k).cloned())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::BaseDir;

    #[test]
    fn spec_labels() {
        let n = EnvNames::new(
            "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c".parse().unwrap(),
            BaseDir::default(),
            false,
        );
        let l = labels(&n, "staging-myproject.oecsh.com");
        let get = |k: &str| l.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str());
        let u = "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c";
        assert_eq!(get("traefik.enable"), Some("true"));
        assert_eq!(
            get(&format!("traefik.http.routers.{u}.rule")),
            Some("Host(`staging-myproject.oecsh.com`)")
        );
        assert_eq!(
            get(&format!("traefik.http.routers.{u}.entrypoints")),
            Some("websecure")
        );
        assert_eq!(get(&format!("traefik.http.routers.{u}.tls")), Some("true"));
        assert_eq!(
            get(&format!("traefik.http.routers.{u}.tls.certresolver")),
            Some("letsencrypt")
        );
        assert_eq!(
            get(&format!(
                "traefik.http.services.{u}.loadbalancer.server.port"
            )),
            Some("8069")
        );
        assert_eq!(
            get(&format!(
                "traefik.http.middlewares.{u}-ratelimit.ratelimit.average"
            )),
            Some("100")
        );
        assert_eq!(
            get(&format!(
                "traefik.http.middlewares.{u}-ratelimit.ratelimit.burst"
            )),
            Some("50")
        );
        assert_eq!(
            get(&format!("traefik.http.routers.{u}.middlewares")),
            Some(format!("{u}-ratelimit").as_str())
        );

        let mut json: BTreeMap<String, String> = l.iter().cloned().collect();
        assert!(
            label_differences(&l, &serde_json::to_string(&json).unwrap())
                .unwrap()
                .is_empty()
        );
        json.insert("traefik.enable".into(), "false".into());
        json.remove(&format!("traefik.http.routers.{u}.tls"));
        let d = label_differences(&l, &serde_json::to_string(&json).unwrap()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d["traefik.enable"], ("true".into(), Some("false".into())));
        assert_eq!(label_differences(&l, "null").unwrap().len(), l.len());
        assert!(label_differences(&l, "not json").is_err());
    }
}
