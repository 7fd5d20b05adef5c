//! Discord's signature on HTTP interactions: Ed25519 over `X-Signature-Timestamp` followed by
//! the raw body, with the application's public key.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// Whether `signature_hex` signs `timestamp` + `body` with `public_key`.
pub fn verify(public_key: &[u8; 32], timestamp: &str, body: &[u8], signature_hex: &str) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let Some(signature) = hex::decode(signature_hex.trim())
        .ok()
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
    else {
        return false;
    };
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify(&message, &Signature::from_bytes(&signature))
        .is_ok()
}
