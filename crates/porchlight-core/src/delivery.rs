//! What is known about delivering one queued message: every attempt, which of the person's
//! ways is being tried, and where it stands. Kept with the message in the store, so delivery
//! is visible per message and survives restarts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a message stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    #[default]
    Pending,
    /// A channel accepted it.
    Delivered,
    /// Every way failed, or it was held back by the budget.
    DeadLetter,
}

/// One attempt through one channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When.
    pub at: DateTime<Utc>,
    /// Channel name (from the config).
    pub channel: String,
    /// Index of the way being tried.
    pub way: usize,
    /// Whether the channel accepted the message.
    pub ok: bool,
    /// What happened (provider status, error; no secrets or phone numbers).
    pub detail: String,
    /// The provider's id for the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
}

/// Delivery state of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// Where it stands.
    #[serde(default)]
    pub status: DeliveryStatus,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// How many of the recipient's ways have been given up on (0 = trying their first).
    #[serde(default)]
    pub way: usize,
    /// Channels given up on for this message (permanent failure, opt-out, retries used up).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given_up: Vec<String>,
    /// Not before this instant (a retry's backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// SMS segments the text takes, once sent by SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<u32>,
    /// Why it was dead-lettered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl DeliveryState {
    /// Attempts made through a channel.
    pub fn attempts_on(&self, channel: &str) -> u32 {
        u32::try_from(
            self.attempts
                .iter()
                .filter(|a| a.channel == channel)
                .count(),
        )
        .unwrap_or(u32::MAX)
    }
}
