//! The private test sshd's coordinates, from the `PAASPORTAL_TEST_SSH_*` variables.

use paasportal_engine::transport::{SshAuth, SshTarget};
use paasportal_testkit::require_env;

/// Everything `scripts/lib/services.sh`'s `pp_start_sshd` exports.
#[derive(Clone)]
pub struct SshEnv {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub key: String,
    pub key_encrypted: String,
    pub key_passphrase: String,
    pub wrong_key: String,
    pub password: String,
    pub host_pubkey: String,
}

fn read(var: &str) -> String {
    let path = require_env(var);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{var}={path} cannot be read: {e}"))
}

impl SshEnv {
    /// Reads the variables; panics naming a missing one.
    pub fn load() -> SshEnv {
        SshEnv {
            host: require_env("PAASPORTAL_TEST_SSH_HOST"),
            port: require_env("PAASPORTAL_TEST_SSH_PORT")
                .parse()
                .expect("PAASPORTAL_TEST_SSH_PORT is a port number"),
            user: require_env("PAASPORTAL_TEST_SSH_USER"),
            key: read("PAASPORTAL_TEST_SSH_KEY"),
            key_encrypted: read("PAASPORTAL_TEST_SSH_KEY_ENCRYPTED"),
            key_passphrase: require_env("PAASPORTAL_TEST_SSH_KEY_PASSPHRASE"),
            wrong_key: read("PAASPORTAL_TEST_SSH_WRONG_KEY"),
            password: require_env("PAASPORTAL_TEST_SSH_PASSWORD"),
            host_pubkey: read("PAASPORTAL_TEST_SSH_HOST_PUBKEY"),
        }
    }

    /// A target authenticating with the unencrypted test key.
    pub fn key_target(&self) -> SshTarget {
        self.target(SshAuth::Key {
            private_key: self.key.clone(),
            passphrase: None,
        })
    }

    /// A target with the given authentication.
    pub fn target(&self, auth: SshAuth) -> SshTarget {
        SshTarget {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            auth,
            pinned_host_key: None,
        }
    }
}
