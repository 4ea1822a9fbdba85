//! Every name the spec fixes for one environment: its Docker network, containers and
//! volume, its directories on the server, its database and its Traefik routes.

use std::fmt;

use uuid::Uuid;

/// Where environments live on a server unless configured otherwise.
pub const DEFAULT_BASE_DIR: &str = "/opt/paasportal";
/// The shared network Traefik routes through.
pub const TRAEFIK_NETWORK: &str = "traefik-public";
/// The Odoo image's user and group: the owner of `data/` and `logs/`.
pub const ODOO_UID: u32 = 100;
/// See [`ODOO_UID`].
pub const ODOO_GID: u32 = 101;
/// The label every object paasportal creates carries, valued with the environment id.
pub const ENVIRONMENT_LABEL: &str = "paasportal.environment";
/// The PostgreSQL role Odoo connects as (the official images' convention; never `postgres`).
pub const DB_USER: &str = "odoo";

/// Paths inside the Odoo container, as the spec's `docker run` mounts them.
pub mod container {
    /// The configuration file (`ODOO_RC`).
    pub const CONF: &str = "/etc/odoo/odoo.conf";
    /// Where the addon repositories appear.
    pub const ADDONS: &str = "/mnt/extra-addons";
    /// Odoo's `data_dir`: filestore and sessions.
    pub const DATA: &str = "/var/lib/odoo";
    /// Odoo's log directory.
    pub const LOGS: &str = "/var/log/odoo";
    /// The addons shipped with Odoo itself, last in `addons_path`.
    pub const BASE_ADDONS: &str = "/usr/lib/python3/dist-packages/odoo/addons";
    /// PostgreSQL's data directory in the database containers.
    pub const PGDATA: &str = "/var/lib/postgresql/data";
}

/// Why a base directory was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseDirError {
    #[error("base directory {0:?} must be an absolute path")]
    NotAbsolute(String),
    #[error(
        "base directory {0:?} may contain only letters, digits, '.', '_', '-' and '/', without '..' or empty components"
    )]
    Invalid(String),
}

/// A validated absolute directory on the server under which each environment gets
/// `{base}/{env_uuid}/`. Plain characters only, so that it is the same path to every tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseDir(String);

impl BaseDir {
    /// Validates `path`; a trailing `/` is dropped.
    pub fn new(path: &str) -> Result<Self, BaseDirError> {
        if !path.starts_with('/') {
            return Err(BaseDirError::NotAbsolute(path.to_owned()));
        }
        let trimmed = path.trim_end_matches('/');
        let ok = !trimmed.is_empty()
            && trimmed[1..].split('/').all(|c| {
                !c.is_empty()
                    && c != "."
                    && c != ".."
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        if ok {
            Ok(BaseDir(trimmed.to_owned()))
        } else {
            Err(BaseDirError::Invalid(path.to_owned()))
        }
    }

    /// The path, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for BaseDir {
    fn default() -> Self {
        BaseDir(DEFAULT_BASE_DIR.to_owned())
    }
}

impl fmt::Display for BaseDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The names of one environment's objects. `read_replica` switches the database
/// container to the spec's `postgres-primary-…`/`postgres-replica-…` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvNames {
    id: String,
    base: BaseDir,
    read_replica: bool,
}

impl EnvNames {
    /// Names for environment `env_id` under `base`.
    pub fn new(env_id: Uuid, base: BaseDir, read_replica: bool) -> Self {
        EnvNames {
            id: env_id.hyphenated().to_string(),
            base,
            read_replica,
        }
    }

    /// The environment's UUID, hyphenated and lower-case: the `{env_uuid}` of the spec.
    pub fn env_uuid(&self) -> &str {
        &self.id
    }

    /// Whether the environment runs a streaming read replica.
    pub fn read_replica(&self) -> bool {
        self.read_replica
    }

    /// `paasportal_net_{env_uuid}`: the environment's private bridge network.
    pub fn network(&self) -> String {
        format!("paasportal_net_{}", self.id)
    }

    /// The primary PostgreSQL container: `{env_uuid}_db`, or
    /// `postgres-primary-{env_uuid}` when the environment has a read replica.
    pub fn db_container(&self) -> String {
        if self.read_replica {
            format!("postgres-primary-{}", self.id)
        } else {
            format!("{}_db", self.id)
        }
    }

    /// `postgres-replica-{env_uuid}`: the read replica's container.
    pub fn replica_container(&self) -> String {
        format!("postgres-replica-{}", self.id)
    }

    /// `{env_uuid}_pgbouncer`: the pooler in front of the primary (Odoo's `db_host`).
    pub fn pgbouncer(&self) -> String {
        format!("{}_pgbouncer", self.id)
    }

    /// `{env_uuid}_pgbouncer-replica`: the pooler in front of the replica (`db_replica_host`).
    pub fn pgbouncer_replica(&self) -> String {
        format!("{}_pgbouncer-replica", self.id)
    }

    /// `{env_uuid}_odoo`: the Odoo container.
    pub fn odoo_container(&self) -> String {
        format!("{}_odoo", self.id)
    }

    /// `paasportal_pgdata_{env_uuid}`: the primary's data volume.
    pub fn pg_volume(&self) -> String {
        format!("paasportal_pgdata_{}", self.id)
    }

    /// `paasportal_pgdata_{env_uuid}_replica`: the replica's data volume.
    pub fn replica_volume(&self) -> String {
        format!("paasportal_pgdata_{}_replica", self.id)
    }

    /// The Odoo database: named after the environment, as in the spec's `db_name`.
    pub fn db_name(&self) -> String {
        self.id.clone()
    }

    /// `{base}/{env_uuid}`: everything the environment keeps on the server's disk.
    pub fn env_dir(&self) -> String {
        format!("{}/{}", self.base, self.id)
    }

    /// `{base}/{env_uuid}/odoo.conf`.
    pub fn conf_path(&self) -> String {
        format!("{}/odoo.conf", self.env_dir())
    }

    /// `{base}/{env_uuid}/addons`: one directory per cloned repository.
    pub fn addons_dir(&self) -> String {
        format!("{}/addons", self.env_dir())
    }

    /// `{base}/{env_uuid}/addons/{slug}`: where a repository is cloned on the server.
    pub fn repo_dir(&self, slug: &str) -> String {
        format!("{}/{slug}", self.addons_dir())
    }

    /// `/mnt/extra-addons/{slug}`: the same repository as Odoo sees it.
    pub fn repo_mount(&self, slug: &str) -> String {
        format!("{}/{slug}", container::ADDONS)
    }

    /// `{base}/{env_uuid}/data`: Odoo's data directory (filestore, sessions).
    pub fn data_dir(&self) -> String {
        format!("{}/data", self.env_dir())
    }

    /// `{base}/{env_uuid}/logs`: Odoo's log directory.
    pub fn logs_dir(&self) -> String {
        format!("{}/logs", self.env_dir())
    }

    /// The Traefik router: named after the environment, as in the spec's labels.
    pub fn router(&self) -> String {
        self.id.clone()
    }

    /// The Traefik service: named after the environment.
    pub fn service(&self) -> String {
        self.id.clone()
    }

    /// `{env_uuid}-ratelimit`: the Traefik rate-limit middleware.
    pub fn ratelimit_middleware(&self) -> String {
        format!("{}-ratelimit", self.id)
    }

    /// `paasportal/deps-{env_uuid}:{hash}`: the Odoo image with this environment's
    /// dependencies installed, committed after installation and tagged with their
    /// content hash, so a redeploy with unchanged dependencies starts from it.
    pub fn deps_image(&self, deps_hash: &str) -> String {
        format!("paasportal/deps-{}:{deps_hash}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(replica: bool) -> EnvNames {
        let id: Uuid = "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c".parse().unwrap();
        EnvNames::new(id, BaseDir::default(), replica)
    }

    #[test]
    fn names_follow_the_spec() {
        let n = names(false);
        let u = "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c";
        assert_eq!(n.network(), format!("paasportal_net_{u}"));
        assert_eq!(n.db_container(), format!("{u}_db"));
        assert_eq!(n.pgbouncer(), format!("{u}_pgbouncer"));
        assert_eq!(n.pgbouncer_replica(), format!("{u}_pgbouncer-replica"));
        assert_eq!(n.odoo_container(), format!("{u}_odoo"));
        assert_eq!(n.pg_volume(), format!("paasportal_pgdata_{u}"));
        assert_eq!(n.db_name(), u);
        assert_eq!(n.env_dir(), format!("/opt/paasportal/{u}"));
        assert_eq!(n.conf_path(), format!("/opt/paasportal/{u}/odoo.conf"));
        assert_eq!(n.addons_dir(), format!("/opt/paasportal/{u}/addons"));
        assert_eq!(
            n.repo_dir("platform-reporting"),
            format!("/opt/paasportal/{u}/addons/platform-reporting")
        );
        assert_eq!(n.repo_mount("my-project"), "/mnt/extra-addons/my-project");
        assert_eq!(n.data_dir(), format!("/opt/paasportal/{u}/data"));
        assert_eq!(n.logs_dir(), format!("/opt/paasportal/{u}/logs"));
        assert_eq!(n.router(), u);
        assert_eq!(n.service(), u);
        assert_eq!(n.ratelimit_middleware(), format!("{u}-ratelimit"));
    }

    #[test]
    fn replica_renames_the_primary() {
        let n = names(true);
        let u = n.env_uuid().to_owned();
        assert_eq!(n.db_container(), format!("postgres-primary-{u}"));
        assert_eq!(n.replica_container(), format!("postgres-replica-{u}"));
        assert!(n.replica_volume().starts_with("paasportal_pgdata_"));
    }

    #[test]
    fn base_dir_is_validated() {
        assert_eq!(BaseDir::new("/srv/pp/").unwrap().as_str(), "/srv/pp");
        assert_eq!(
            BaseDir::new("/").unwrap_err(),
            BaseDirError::Invalid("/".into())
        );
        assert!(matches!(
            BaseDir::new("srv"),
            Err(BaseDirError::NotAbsolute(_))
        ));
        for bad in [
            "/srv/../etc",
            "/srv//x",
            "/srv/a b",
            "/srv/$(id)",
            "/srv/./x",
        ] {
            assert!(
                matches!(BaseDir::new(bad), Err(BaseDirError::Invalid(_))),
                "{bad}"
            );
        }
        let n = EnvNames::new(Uuid::nil(), BaseDir::new("/data/envs").unwrap(), false);
        assert_eq!(
            n.conf_path(),
            "/data/envs/00000000-0000-0000-0000-000000000000/odoo.conf"
        );
    }
}
