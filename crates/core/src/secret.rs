//! Secrets at rest: XChaCha20-Poly1305 with a 32-byte master key, stored as `nonce ‖ ciphertext`.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const NONCE_LEN: usize = 24;

/// Why a secret could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("master key must be 32 bytes, got {0}")]
    KeyLength(usize),
    #[error("encrypted secret is truncated")]
    Truncated,
    #[error("secret cannot be decrypted with this master key (wrong key or tampered data)")]
    Decrypt,
    #[error("decrypted secret is not UTF-8")]
    NotUtf8,
}

/// Encrypts and decrypts secrets with the master key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    /// A box for a 32-byte master key.
    pub fn new(key: &[u8]) -> Result<Self, SecretError> {
        if key.len() != 32 {
            return Err(SecretError::KeyLength(key.len()));
        }
        Ok(SecretBox {
            cipher: XChaCha20Poly1305::new_from_slice(key)
                .map_err(|_| SecretError::KeyLength(key.len()))?,
        })
    }

    /// A fresh random master key.
    pub fn generate_key() -> [u8; 32] {
        XChaCha20Poly1305::generate_key(&mut OsRng).into()
    }

    /// Encrypts `plain` under a fresh random nonce.
    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory data");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts what [`SecretBox::seal`] produced.
    pub fn open(&self, sealed: &[u8]) -> Result<String, SecretError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(SecretError::Truncated);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| SecretError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| SecretError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let b = SecretBox::new(&SecretBox::generate_key()).unwrap();
        let sealed = b.seal("hunter2");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(b.open(&sealed).unwrap(), "hunter2");
        assert_ne!(b.seal("hunter2"), sealed, "nonces must differ");
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(matches!(b.open(&bad), Err(SecretError::Decrypt)));
        let other = SecretBox::new(&SecretBox::generate_key()).unwrap();
        assert!(other.open(&sealed).is_err());
        assert!(matches!(
            SecretBox::new(&[0; 16]),
            Err(SecretError::KeyLength(16))
        ));
    }
}
