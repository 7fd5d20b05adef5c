//! Encryption of stored bot tokens: ChaCha20-Poly1305 with a random nonce per token, stored
//! as base64 of nonce and ciphertext. A database dump alone does not give away workspaces.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use secrecy::{ExposeSecret, SecretString};

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub(super) struct TokenCipher(ChaCha20Poly1305);

#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("the token key is not 32 bytes of base64")]
    BadKey,
    #[error("a stored token cannot be decrypted (wrong SLACK_TOKEN_KEY, or damaged data)")]
    Undecryptable,
}

impl TokenCipher {
    /// From the configured key: 32 bytes in base64.
    pub(super) fn new(key: &SecretString) -> Result<Self, CipherError> {
        let bytes = STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| CipherError::BadKey)?;
        ChaCha20Poly1305::new_from_slice(&bytes)
            .map(TokenCipher)
            .map_err(|_| CipherError::BadKey)
    }

    pub(super) fn encrypt(&self, token: &SecretString) -> Result<String, CipherError> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(&nonce, token.expose_secret().as_bytes())
            .map_err(|_| CipherError::Undecryptable)?;
        let mut stored = nonce.to_vec();
        stored.extend(sealed);
        Ok(STANDARD.encode(stored))
    }

    pub(super) fn decrypt(&self, stored: &str) -> Result<SecretString, CipherError> {
        let bytes = STANDARD
            .decode(stored)
            .map_err(|_| CipherError::Undecryptable)?;
        if bytes.len() <= NONCE_LEN {
            return Err(CipherError::Undecryptable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CipherError::Undecryptable)?;
        let plain = self
            .0
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| CipherError::Undecryptable)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CipherError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    #[test]
    fn tokens_round_trip_and_never_appear_in_storage() {
        let cipher = TokenCipher::new(&SecretString::from(KEY)).expect("key");
        let token = SecretString::from("xoxb-1234-secret");
        let stored = cipher.encrypt(&token).expect("encrypts");
        assert!(!stored.contains("xoxb"));
        assert_ne!(
            stored,
            cipher.encrypt(&token).expect("encrypts"),
            "a fresh nonce each time"
        );
        assert_eq!(
            cipher.decrypt(&stored).expect("decrypts").expose_secret(),
            "xoxb-1234-secret"
        );
    }

    #[test]
    fn a_wrong_key_or_damaged_data_is_refused() {
        let cipher = TokenCipher::new(&SecretString::from(KEY)).expect("key");
        let stored = cipher
            .encrypt(&SecretString::from("xoxb-1"))
            .expect("encrypts");
        let other = TokenCipher::new(&SecretString::from(STANDARD.encode([7u8; 32]))).expect("key");
        assert!(other.decrypt(&stored).is_err());
        assert!(cipher.decrypt("AAAA").is_err());
        assert!(cipher.decrypt("not base64!").is_err());
        assert!(TokenCipher::new(&SecretString::from("c2hvcnQ=")).is_err());
    }
}
