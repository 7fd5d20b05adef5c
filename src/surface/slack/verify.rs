//! Request signing: every HTTP request from Slack carries an HMAC-SHA256 of
//! `v0:{timestamp}:{body}` under the signing secret, and a timestamp within five minutes.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far a request's timestamp may be from now, in seconds.
const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum Refused {
    #[error("missing signature headers")]
    Missing,
    #[error("timestamp too far from now")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a request's signature (constant time) and freshness against `now` (unix seconds).
pub(super) fn check(
    secret: &SecretString,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Refused::Missing);
    };
    let sent: i64 = timestamp.trim().parse().map_err(|_| Refused::Missing)?;
    if (now - sent).abs() > MAX_SKEW_SECS {
        return Err(Refused::Stale);
    }
    let sent_mac = signature
        .strip_prefix("v0=")
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or(Refused::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .map_err(|_| Refused::Mismatch)?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    // verify_slice compares in constant time.
    mac.verify_slice(&sent_mac).map_err(|_| Refused::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's published vector (shared/testdata/slack/signing_vector_python_slack_sdk.json).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    fn check_at(now: i64, signature: Option<&str>, body: &str) -> Result<(), Refused> {
        check(
            &SecretString::from(SECRET),
            Some(TIMESTAMP),
            signature,
            body.as_bytes(),
            now,
        )
    }

    #[test]
    fn slacks_vector_verifies() {
        assert_eq!(check_at(1531420618, Some(SIGNATURE), BODY), Ok(()));
        assert_eq!(check_at(1531420618 + 300, Some(SIGNATURE), BODY), Ok(()));
    }

    #[test]
    fn stale_changed_or_unsigned_requests_are_refused() {
        assert_eq!(
            check_at(1531420618 + 301, Some(SIGNATURE), BODY),
            Err(Refused::Stale)
        );
        assert_eq!(
            check_at(1531420618 - 301, Some(SIGNATURE), BODY),
            Err(Refused::Stale)
        );
        let changed = BODY.replacen("text=", "text=x", 1);
        assert_eq!(
            check_at(1531420618, Some(SIGNATURE), &changed),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            check_at(1531420618, Some("v0=00"), BODY),
            Err(Refused::Mismatch)
        );
        assert_eq!(check_at(1531420618, None, BODY), Err(Refused::Missing));
        let secret = SecretString::from(SECRET);
        assert_eq!(
            check(&secret, Some("soon"), Some(SIGNATURE), BODY.as_bytes(), 0),
            Err(Refused::Missing)
        );
    }
}
