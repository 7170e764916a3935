//! The JSON body of webhook deliveries. Its JSON Schema is published in the repository at
//! `schemas/webhook-payload.schema.json`, and every payload type is tested against it.

use chrono::{DateTime, Utc};
use porchlight_core::text::MessageKind;
use serde::{Deserialize, Serialize};

use crate::{Delivery, MemberRef, Recipient};

/// A webhook body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// What happened, e.g. `checkin.missed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The message id, equal to the `webhook-id` header.
    pub id: String,
    /// The member it is about.
    pub member: Option<MemberRef>,
    /// The check-in it is about.
    pub checkin: Option<String>,
    /// Escalation level, 1-based.
    pub level: Option<u8>,
    /// The human-readable text (the same the SMS would carry).
    pub text: String,
    /// When the engine queued it.
    pub occurred_at: DateTime<Utc>,
    /// Who the webhook is for.
    pub recipient: RecipientRef,
    /// The daily summary in full (type `village.daily_summary` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Box<porchlight_core::summary::DailySummary>>,
}

/// The recipient, without contact details.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecipientRef {
    /// Person id.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl From<&Recipient> for RecipientRef {
    fn from(r: &Recipient) -> Self {
        RecipientRef {
            id: r.id.clone(),
            name: r.name.clone(),
        }
    }
}

/// The `type` of a message kind at a level.
pub fn event_type(kind: MessageKind, level: Option<u8>) -> &'static str {
    match kind {
        MessageKind::Prompt | MessageKind::Reminder | MessageKind::RollCall => "checkin.prompt",
        MessageKind::CheckOn | MessageKind::CheckOnReminder => "checkin.check_on",
        MessageKind::BuddyAlert | MessageKind::Alert if level.unwrap_or(1) <= 1 => "checkin.missed",
        MessageKind::BuddyAlert | MessageKind::Alert => "alert.escalated",
        MessageKind::HelpAlert => "checkin.help",
        MessageKind::HelpAck => "member.help_acknowledged",
        MessageKind::AllClear => "checkin.resolved",
        MessageKind::Exhausted => "alert.exhausted",
        MessageKind::ClaimExpired => "alert.claim_expired",
        MessageKind::ClaimTaken => "alert.claim_taken",
        MessageKind::OptedOut => "member.opted_out",
        MessageKind::Skipped => "checkin.skipped",
        MessageKind::AwayAck | MessageKind::BackAck => "member.away_changed",
        MessageKind::DeliveryFailed => "delivery.failed",
        MessageKind::BudgetWarning => "budget.warning",
        MessageKind::WhichMember => "alert.which_member",
        MessageKind::DailySummary => "village.daily_summary",
    }
}

impl WebhookPayload {
    /// The payload for a delivery.
    pub fn of(d: &Delivery) -> WebhookPayload {
        WebhookPayload {
            kind: event_type(d.kind, d.level).to_string(),
            id: d.id.clone(),
            member: d.member.clone(),
            checkin: d.checkin.clone(),
            level: d.level,
            text: d.text.clone(),
            occurred_at: d.occurred_at,
            recipient: RecipientRef::from(&d.to),
            summary: d.summary.clone(),
        }
    }
}
