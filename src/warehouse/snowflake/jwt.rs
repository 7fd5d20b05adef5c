//! Key-pair authentication: a JWT signed with the user's RSA key (RS256), naming the account,
//! the user and the key's public fingerprint, as Snowflake's drivers make it.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// How long a login token is valid; Snowflake accepts at most an hour.
const LIFETIME_SECS: i64 = 300;

/// A loaded private key, ready to sign login tokens.
pub(super) struct KeyPair {
    key: SigningKey<Sha256>,
    /// `SHA256:` and the base64 SHA-256 of the public key's DER, as `DESC USER` shows it.
    fingerprint: String,
}

impl KeyPair {
    /// Reads a PKCS#8 PEM key, encrypted (with `passphrase`) or not.
    pub(super) fn load(path: &Path, passphrase: Option<&SecretString>) -> Result<KeyPair, String> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the key at {}: {e}", path.display()))?;
        let key = match passphrase {
            Some(passphrase) => RsaPrivateKey::from_pkcs8_encrypted_pem(
                &pem,
                passphrase.expose_secret().as_bytes(),
            )
            .map_err(|e| {
                format!(
                    "cannot decrypt the key at {} with SNOWFLAKE_PRIVATE_KEY_PASSPHRASE ({e})",
                    path.display()
                )
            })?,
            None => RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| {
                format!(
                    "the key at {} is not an unencrypted PKCS#8 RSA key ({e}); an encrypted one \
                     needs SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
                    path.display()
                )
            })?,
        };
        let public = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| format!("cannot encode the public key: {e}"))?;
        let fingerprint = format!(
            "SHA256:{}",
            STANDARD.encode(Sha256::digest(public.as_bytes()))
        );
        Ok(KeyPair {
            key: SigningKey::new(key),
            fingerprint,
        })
    }

    /// A login token for `user` of `account`, issued at `now` (Unix seconds).
    pub(super) fn token(&self, account: &str, user: &str, now: i64) -> String {
        // The account without a region or cloud suffix, upper case, as Snowflake expects.
        let account = account.split('.').next().unwrap_or(account).to_uppercase();
        let user = user.to_uppercase();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": format!("{account}.{user}.{}", self.fingerprint),
            "sub": format!("{account}.{user}"),
            "iat": now,
            "exp": now + LIFETIME_SECS,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature = self.key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}
