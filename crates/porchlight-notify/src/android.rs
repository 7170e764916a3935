//! The `android-sms-gateway` channel: the self-hosted SMS gateway app on an Android phone
//! (capcom6/android-sms-gateway) in local-server mode — the cheapest way for a village to send
//! texts from its own SIM.
//!
//! `POST {base_url}/message` with basic auth and
//! `{"textMessage": {"text": "..."}, "phoneNumbers": ["+1..."], "id": "<message id>"}`;
//! success is 202 with `{"id", "state", ...}`. Passing our message id makes the gateway's id
//! stable across retries. A full queue answers 503, which retries like any 5xx.
//!
//! In: the gateway signs its webhooks (`sms:received`) with `X-Signature`, lowercase hex
//! HMAC-SHA256 over the body followed by `X-Timestamp` ([`signature`], [`signature_valid`]).

use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use crate::{
    BoxFuture, BuildError, Channel, Delivery, Receipt, SendError, http_client, retry_after,
};

/// How far a webhook's `X-Timestamp` may be from our clock, in seconds.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// The gateway's `X-Signature`: lowercase hex HMAC-SHA256(key, body ‖ timestamp).
pub fn signature(key: &str, body: &[u8], timestamp: &str) -> String {
    use hmac::{Hmac, Mac};
    match Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            mac.update(timestamp.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes a key of any length, so this arm is never taken; an empty signature
        // never equals a real one, so it would refuse rather than accept.
        Err(_) => String::new(),
    }
}

/// Whether a webhook is the gateway's: `signature` (any case) is [`signature`] under one of
/// the keys, compared in constant time, and `timestamp` (Unix seconds) is within
/// [`TIMESTAMP_TOLERANCE_SECS`] of `now`.
pub fn signature_valid(
    keys: &[&str],
    body: &[u8],
    timestamp: &str,
    signature_given: &str,
    now: i64,
) -> bool {
    use subtle::ConstantTimeEq;
    let given = signature_given.to_ascii_lowercase();
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (now - t).abs() <= TIMESTAMP_TOLERANCE_SECS);
    let mut ok = false;
    for k in keys {
        ok |= bool::from(
            signature(k, body, timestamp)
                .as_bytes()
                .ct_eq(given.as_bytes()),
        );
    }
    fresh && ok
}

/// Sends SMS through an Android phone running the gateway.
pub struct AndroidGateway {
    base_url: String,
    username: String,
    password: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for AndroidGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AndroidGateway")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Accepted {
    id: Option<String>,
    state: Option<String>,
}

impl AndroidGateway {
    /// A gateway at `base_url` (e.g. `http://192.168.1.20:8080`).
    pub fn new(
        base_url: &str,
        username: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<AndroidGateway, BuildError> {
        Ok(AndroidGateway {
            base_url: base_url.trim_end_matches('/').to_string(),
            username: username.to_string(),
            password: password.to_string(),
            client: http_client(timeout)?,
        })
    }
}

impl Channel for AndroidGateway {
    fn kind(&self) -> crate::ChannelKind {
        crate::ChannelKind::AndroidSmsGateway
    }
    fn is_sms(&self) -> bool {
        true
    }
    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move {
            let to =
                d.to.phone
                    .as_deref()
                    .ok_or_else(|| SendError::permanent("recipient has no phone number"))?;
            let body = json!({
                "textMessage": { "text": d.text },
                "phoneNumbers": [to],
                "id": d.id,
            });
            let now = Utc::now();
            let resp = self
                .client
                .post(format!("{}/message", self.base_url))
                .basic_auth(&self.username, Some(&self.password))
                .json(&body)
                .send()
                .await
                .map_err(|e| SendError::from_reqwest(&e))?;
            let status = resp.status().as_u16();
            let ra = retry_after(resp.headers(), now);
            if resp.status().is_success() {
                let accepted: Accepted = resp.json().await.unwrap_or(Accepted {
                    id: None,
                    state: None,
                });
                return Ok(Receipt {
                    provider_id: accepted.id,
                    status: accepted.state,
                });
            }
            Err(SendError::from_status(
                status,
                ra,
                format!("gateway answered {status}"),
            ))
        })
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;

    #[test]
    fn android_signature_is_hex_hmac_of_body_and_timestamp() {
        let sig = signature("key", b"{\"a\":1}", "1700000000");
        assert_eq!(sig.len(), 64);
        assert!(
            sig.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(sig, signature("key", b"{\"a\":1}", "1700000001"));
        assert_ne!(sig, signature("other", b"{\"a\":1}", "1700000000"));
    }

    #[test]
    fn a_valid_signature_must_be_fresh_and_match_a_key() {
        let sig = signature("key", b"body", "1700000000");
        assert!(signature_valid(
            &["other", "key"],
            b"body",
            "1700000000",
            &sig,
            1_700_000_300
        ));
        assert!(signature_valid(
            &["key"],
            b"body",
            "1700000000",
            &sig.to_ascii_uppercase(),
            1_700_000_000
        ));
        assert!(!signature_valid(
            &["key"],
            b"body",
            "1700000000",
            &sig,
            1_700_000_301
        ));
        assert!(!signature_valid(
            &["key"],
            b"body2",
            "1700000000",
            &sig,
            1_700_000_000
        ));
        assert!(!signature_valid(
            &["other"],
            b"body",
            "1700000000",
            &sig,
            1_700_000_000
        ));
        assert!(!signature_valid(
            &[],
            b"body",
            "1700000000",
            &sig,
            1_700_000_000
        ));
        assert!(!signature_valid(&["key"], b"body", "", &sig, 1_700_000_000));
    }
}
