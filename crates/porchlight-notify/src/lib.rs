//! Porchlight's delivery: getting every queued message to a real phone or endpoint.
//!
//! # Layout
//! - [`Channel`]: the trait the dispatcher owns and every adapter implements, with a small
//!   error type ([`SendError`]) that says whether a failure is worth retrying.
//! - Adapters: [`log::LogChannel`], [`webhook::WebhookChannel`] (Standard Webhooks),
//!   [`twilio::TwilioSms`], [`twilio::TwilioVoice`], [`android::AndroidGateway`].
//! - [`retry`]: exponential backoff with full jitter, honouring `Retry-After`.
//! - [`dispatch`]: drains the outbox through the adapters — in order per recipient,
//!   concurrently across recipients, falling back along a person's ways of being reached,
//!   dead-lettering only when none works. It reaches the store only through the [`dispatch::Queue`]
//!   trait it owns.
//! - [`payload`]: the webhook JSON payload (its schema is `schemas/webhook-payload.schema.json`).
//!
//! Used by the `porchlight` binary (serve and simulate).

#![warn(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use porchlight_core::model::Language;
use porchlight_core::text::MessageKind;
use serde::{Deserialize, Serialize};

pub mod android;
pub mod dispatch;
pub mod log;
pub mod payload;
pub mod retry;
pub mod twilio;
pub mod webhook;

/// A boxed future, so channels can live behind `dyn Channel`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who a message goes to, as far as an adapter needs to know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    /// Person id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// E.164 phone number, for SMS and voice.
    pub phone: Option<String>,
    /// Language for spoken prompts.
    pub language: Language,
}

/// A member a message is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberRef {
    /// Member id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// One message to deliver through one channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// The outbox message id (`msg_…`): the same on every retry and every channel.
    pub id: String,
    /// Recipient.
    pub to: Recipient,
    /// What the message is.
    pub kind: MessageKind,
    /// The text, reply link included.
    pub text: String,
    /// The member it is about.
    pub member: Option<MemberRef>,
    /// The check-in it is about.
    pub checkin: Option<String>,
    /// Escalation level.
    pub level: Option<u8>,
    /// When the engine queued it.
    pub occurred_at: DateTime<Utc>,
    /// The daily summary in full (for a daily summary; webhooks carry it).
    pub summary: Option<Box<porchlight_core::summary::DailySummary>>,
}

/// What a provider said on success.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The provider's id for the message (Twilio `sid`, gateway `id`).
    pub provider_id: Option<String>,
    /// The provider's status word (`queued`, `Pending`, ...).
    pub status: Option<String>,
}

/// How a failed attempt should be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Try the same channel again later (408, 429, 5xx, timeouts, connection errors).
    Retryable,
    /// This channel will never take this message (other 4xx, bad number, no phone).
    Permanent,
    /// The recipient opted out of SMS (Twilio 21610): permanent, and coordinators must know.
    OptedOut,
}

/// A failed attempt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct SendError {
    /// Retry, give up on this channel, or opted out.
    pub failure: Failure,
    /// The provider's `Retry-After`, when given.
    pub retry_after: Option<Duration>,
    /// What happened (no secrets). It may quote the provider, whose words can name the
    /// recipient's number (Twilio's error 21211): it is kept for coordinators, and logged only
    /// through [`porchlight_core::phone::redact_text`].
    pub detail: String,
}

impl SendError {
    /// A retryable failure.
    pub fn retryable(detail: impl Into<String>) -> SendError {
        SendError {
            failure: Failure::Retryable,
            retry_after: None,
            detail: detail.into(),
        }
    }

    /// A permanent failure.
    pub fn permanent(detail: impl Into<String>) -> SendError {
        SendError {
            failure: Failure::Permanent,
            retry_after: None,
            detail: detail.into(),
        }
    }

    /// Classifies a transport error from reqwest: timeouts and connection failures retry.
    pub fn from_reqwest(e: &reqwest::Error) -> SendError {
        if e.is_timeout() {
            SendError::retryable("timed out")
        } else if e.is_connect() {
            SendError::retryable("connection failed")
        } else if e.is_request() || e.is_body() {
            SendError::retryable(format!("request failed: {}", without_url(e)))
        } else {
            SendError::permanent(format!("request could not be built: {}", without_url(e)))
        }
    }

    /// Classifies an HTTP status: 408, 429 and 5xx retry; other 4xx are permanent.
    pub fn from_status(
        status: u16,
        retry_after: Option<Duration>,
        detail: impl Into<String>,
    ) -> SendError {
        let failure = if status == 408 || status == 429 || status >= 500 {
            Failure::Retryable
        } else {
            Failure::Permanent
        };
        SendError {
            failure,
            retry_after,
            detail: detail.into(),
        }
    }
}

/// reqwest's messages include the URL, which may hold an account id: leave it out.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "<url>");
    }
    s
}

/// Reads `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok()
}

/// What kind of adapter a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// Writes messages to the log (development, and the fallback when it is the only one).
    Log,
    /// A Standard Webhooks endpoint.
    Webhook,
    /// Twilio SMS.
    Twilio,
    /// Twilio voice calls.
    TwilioVoice,
    /// An Android SMS gateway phone.
    AndroidSmsGateway,
}

impl ChannelKind {
    /// Every kind.
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::Log,
        ChannelKind::Webhook,
        ChannelKind::Twilio,
        ChannelKind::TwilioVoice,
        ChannelKind::AndroidSmsGateway,
    ];

    /// The name used in config files, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Log => "log",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Twilio => "twilio",
            ChannelKind::TwilioVoice => "twilio-voice",
            ChannelKind::AndroidSmsGateway => "android-sms-gateway",
        }
    }
}

impl std::fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a channel kind.
#[derive(Debug, thiserror::Error)]
#[error("unknown channel kind {0:?}")]
pub struct UnknownKind(pub String);

impl std::str::FromStr for ChannelKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

impl PartialEq<&str> for ChannelKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A way of sending messages. The dispatcher owns this trait; adapters implement it.
pub trait Channel: Send + Sync {
    /// The adapter kind.
    fn kind(&self) -> ChannelKind;
    /// Whether it sends SMS (counts against the village's SMS budget).
    fn is_sms(&self) -> bool {
        false
    }
    /// Attempts one delivery.
    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Receipt, SendError>>;
}

/// Why a channel could not be built (at start-up: the daemon refuses to run without it).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The HTTP client (its TLS set-up) could not be made.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// A webhook secret that is not `whsec_` followed by base64.
    #[error("the webhook secret is not a whsec_<base64> secret: {0}")]
    WebhookSecret(#[source] standardwebhooks::WebhookError),
}

/// An HTTP client with the timeouts deliveries use.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("porchlight/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(BuildError::HttpClient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                SendError::from_status(s, None, "").failure,
                Failure::Retryable,
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 410, 422] {
            assert_eq!(
                SendError::from_status(s, None, "").failure,
                Failure::Permanent,
                "{s}"
            );
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now: DateTime<Utc> = "2026-11-24T12:00:00Z".parse().unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        h.insert(
            "retry-after",
            "Tue, 24 Nov 2026 12:00:30 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }
}
