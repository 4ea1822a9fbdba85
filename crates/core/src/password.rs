//! Password hashing with Argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane).
//! Both functions are CPU-heavy: call them from a blocking thread.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters"),
    )
}

/// Hashes a password into a PHC string (`$argon2id$…`).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashing cannot fail with valid parameters")
        .to_string()
}

/// Whether `password` matches `phc`. A malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real verification, for unknown users (no timing oracle).
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("paasportal-dummy-password"));
    let _ = verify(password, phc);
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_differ() {
        let h = super::hash("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("correct horse", "not a hash"));
        assert_ne!(super::hash("correct horse"), h);
    }
}
