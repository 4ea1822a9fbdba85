//! Generated secrets of an environment: the database password, the replication
//! password and the Odoo admin password. Letters and digits only, so they are safe
//! in odoo.conf, in PgBouncer's `userlist.txt` and in an environment variable; the
//! engine keeps them sealed with `SecretBox` and registers them with its redactor.

use rand::Rng;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;

/// Length of generated passwords: 32 × log2(62) ≈ 190 bits.
pub const PASSWORD_LEN: usize = 32;

/// A fresh random password of [`PASSWORD_LEN`] letters and digits, from the OS RNG.
pub fn generate_password() -> String {
    OsRng
        .sample_iter(&Alphanumeric)
        .take(PASSWORD_LEN)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_plain_and_fresh() {
        let a = generate_password();
        assert_eq!(a.len(), PASSWORD_LEN);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, generate_password());
    }
}
