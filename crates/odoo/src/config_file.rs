//! The odoo.conf generator, laid out as the spec's example: `addons_path` in priority
//! order, the database through PgBouncer, `dbfilter`, workers and memory limits from the
//! environment's resources, `proxy_mode`, the read replica for Odoo 18 and later, and
//! the user's overrides merged last.

use std::fmt::Write as _;

use paasportal_core::{RepoScope, ResourceSplit};

use crate::naming::{EnvNames, container};
use crate::overrides::Overrides;
use crate::pgtune::{PGBOUNCER_PORT, PGBOUNCER_REPLICA_PORT};

/// Odoo's CPU time limit per request, as in the spec's example.
pub const LIMIT_TIME_CPU: u32 = 900;
/// The first Odoo major version that reads `db_replica_host`/`db_replica_port`.
pub const FIRST_REPLICA_VERSION: u32 = 18;

/// A cloned repository as `addons_path` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonsRepo {
    pub slug: String,
    pub scope: RepoScope,
    /// The project's primary repository (project scope only).
    pub is_primary: bool,
}

impl AddonsRepo {
    /// 0 for the highest priority: project additional, project primary, organization, platform.
    fn rank(&self) -> u8 {
        match (self.scope, self.is_primary) {
            (RepoScope::Project, false) => 0,
            (RepoScope::Project, true) => 1,
            (RepoScope::Organization, _) => 2,
            (RepoScope::Platform, _) => 3,
        }
    }
}

/// Why a configuration cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "two repositories would be cloned into the same directory addons/{slug}: rename one of them"
    )]
    DuplicateSlug { slug: String },
    #[error("the generated database password contains a line break")]
    BadPassword,
}

/// What the generator needs to know about the environment.
#[derive(Debug, Clone)]
pub struct ConfigInput<'a> {
    pub names: &'a EnvNames,
    /// The Odoo major version, e.g. 18.
    pub odoo_major: u32,
    /// The environment's total memory: Odoo's per-worker memory limits derive from it.
    pub env_ram_mb: i64,
    pub resources: ResourceSplit,
    pub db_password: &'a str,
    /// The repositories cloned successfully, in any order.
    pub repos: &'a [AddonsRepo],
    pub overrides: &'a Overrides,
}

/// A generated odoo.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdooConf {
    pub text: String,
    /// How many user overrides were merged: "Generated odoo.conf with N custom overrides".
    pub overrides_applied: usize,
}

/// `addons_path`: project additional repositories, the project's primary repository,
/// organization repositories, platform repositories, then Odoo's own addons. Within a
/// scope, repositories keep the order given.
pub fn addons_path(names: &EnvNames, repos: &[AddonsRepo]) -> Result<String, ConfigError> {
    check_unique_slugs(repos)?;
    let mut ordered: Vec<&AddonsRepo> = repos.iter().collect();
    ordered.sort_by_key(|r| r.rank());
    let mut parts: Vec<String> = ordered.iter().map(|r| names.repo_mount(&r.slug)).collect();
    parts.push(container::BASE_ADDONS.to_owned());
    Ok(parts.join(","))
}

/// Refuses two repositories with the same directory name.
pub fn check_unique_slugs(repos: &[AddonsRepo]) -> Result<(), ConfigError> {
    for (i, r) in repos.iter().enumerate() {
        if repos[..i].iter().any(|o| o.slug == r.slug) {
            return Err(ConfigError::DuplicateSlug {
                slug: r.slug.clone(),
            });
        }
    }
    Ok(())
}

/// Generates odoo.conf.
pub fn generate(input: &ConfigInput<'_>) -> Result<OdooConf, ConfigError> {
    if input.db_password.contains(['\n', '\r', '\0']) {
        return Err(ConfigError::BadPassword);
    }
    let names = input.names;
    let db = names.db_name();
    let soft = (input.env_ram_mb.max(0) as u64) * 1024 * 1024;
    let mut entries: Vec<(String, String)> = vec![
        ("addons_path".into(), addons_path(names, input.repos)?),
        ("data_dir".into(), container::DATA.into()),
        ("db_host".into(), names.pgbouncer()),
        ("db_port".into(), PGBOUNCER_PORT.to_string()),
        ("db_user".into(), crate::naming::DB_USER.into()),
        ("db_name".into(), db.clone()),
        ("db_password".into(), input.db_password.into()),
        ("dbfilter".into(), format!("^{db}$")),
        ("workers".into(), input.resources.odoo_workers().to_string()),
        ("limit_memory_hard".into(), (soft / 4 * 5).to_string()),
        ("limit_memory_soft".into(), soft.to_string()),
        ("limit_time_cpu".into(), LIMIT_TIME_CPU.to_string()),
        ("proxy_mode".into(), "True".into()),
        ("logfile".into(), "False".into()),
    ];
    if names.read_replica() && input.odoo_major >= FIRST_REPLICA_VERSION {
        entries.push(("db_replica_host".into(), names.pgbouncer_replica()));
        entries.push(("db_replica_port".into(), PGBOUNCER_REPLICA_PORT.to_string()));
    }
    for o in input.overrides.iter() {
        match entries.iter_mut().find(|(k, _)| *k == o.key) {
            Some(entry) => entry.1 = o.value.clone(),
            None => entries.push((o.key.clone(), o.value.clone())),
        }
    }
    let mut text = String::from("[options]\n");
    for (k, v) in &entries {
        let _ = writeln!(text, "{k} = {v}");
    }
    Ok(OdooConf {
        text,
        overrides_applied: input.overrides.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::BaseDir;
    use serde_json::json;

    fn names(replica: bool) -> EnvNames {
        EnvNames::new(
            "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c".parse().unwrap(),
            BaseDir::default(),
            replica,
        )
    }

    fn repos() -> Vec<AddonsRepo> {
        let r = |slug: &str, scope, is_primary| AddonsRepo {
            slug: slug.into(),
            scope,
            is_primary,
        };
        vec![
            r("platform-utils", RepoScope::Platform, false),
            r("org-modules", RepoScope::Organization, false),
            r("my-project", RepoScope::Project, true),
        ]
    }

    fn conf(replica: bool, major: u32, overrides: serde_json::Value) -> OdooConf {
        let n = names(replica);
        let o = Overrides::parse(&overrides).unwrap();
        generate(&ConfigInput {
            names: &n,
            odoo_major: major,
            env_ram_mb: 2048,
            resources: ResourceSplit::of(2.0, 2048),
            db_password: "{generated_secure_password}",
            repos: &repos(),
            overrides: &o,
        })
        .unwrap()
    }

    #[test]
    fn spec_example() {
        let c = conf(false, 18, serde_json::Value::Null);
        assert_eq!(c.overrides_applied, 0);
        insta::assert_snapshot!("spec_example", c.text);
    }

    #[test]
    fn spec_example_with_replica() {
        let c = conf(true, 18, serde_json::Value::Null);
        insta::assert_snapshot!("spec_example_replica", c.text);
        assert!(
            !conf(true, 17, serde_json::Value::Null)
                .text
                .contains("db_replica")
        );
    }

    #[test]
    fn spec_example_with_overrides() {
        let c = conf(
            false,
            18,
            json!({
                "performance": {"workers": 8, "max_cron_threads": 2},
                "logging": {"log_level": "debug", "log_handler": ":DEBUG"}
            }),
        );
        assert_eq!(c.overrides_applied, 4);
        assert_eq!(c.text.matches("workers = ").count(), 1);
        insta::assert_snapshot!("spec_example_overrides", c.text);
    }

    #[test]
    fn addons_path_priority() {
        let n = names(false);
        let r = |slug: &str, scope, is_primary| AddonsRepo {
            slug: slug.into(),
            scope,
            is_primary,
        };
        let path = addons_path(
            &n,
            &[
                r("plat-a", RepoScope::Platform, false),
                r("org-a", RepoScope::Organization, false),
                r("primary", RepoScope::Project, true),
                r("extra-1", RepoScope::Project, false),
                r("plat-b", RepoScope::Platform, false),
                r("extra-2", RepoScope::Project, false),
            ],
        )
        .unwrap();
        assert_eq!(
            path,
            "/mnt/extra-addons/extra-1,/mnt/extra-addons/extra-2,/mnt/extra-addons/primary,\
             /mnt/extra-addons/org-a,/mnt/extra-addons/plat-a,/mnt/extra-addons/plat-b,\
             /usr/lib/python3/dist-packages/odoo/addons"
        );
        assert_eq!(
            addons_path(&n, &[]).unwrap(),
            "/usr/lib/python3/dist-packages/odoo/addons"
        );
        assert_eq!(
            addons_path(
                &n,
                &[
                    r("x", RepoScope::Platform, false),
                    r("x", RepoScope::Project, true)
                ]
            ),
            Err(ConfigError::DuplicateSlug { slug: "x".into() })
        );
    }

    #[test]
    fn workers_and_limits_follow_resources() {
        let n = names(false);
        let o = Overrides::default();
        let c = generate(&ConfigInput {
            names: &n,
            odoo_major: 17,
            env_ram_mb: 4096,
            resources: ResourceSplit::of(4.0, 4096),
            db_password: "pw",
            repos: &[],
            overrides: &o,
        })
        .unwrap();
        assert!(c.text.contains("\nworkers = 5\n"), "{}", c.text);
        assert!(c.text.contains("\nlimit_memory_soft = 4294967296\n"));
        assert!(c.text.contains("\nlimit_memory_hard = 5368709120\n"));
        let bad = generate(&ConfigInput {
            db_password: "a\nb",
            ..ConfigInput {
                names: &n,
                odoo_major: 17,
                env_ram_mb: 4096,
                resources: ResourceSplit::of(4.0, 4096),
                db_password: "",
                repos: &[],
                overrides: &o,
            }
        });
        assert_eq!(bad, Err(ConfigError::BadPassword));
    }
}
