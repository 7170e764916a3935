//! The Android SMS gateway's webhook: `POST /sms/android-sms-gateway`, an `sms:received`
//! signed with the channel's signing key (`X-Signature`, `X-Timestamp`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use porchlight_core::village::Sender;

use super::{forbidden, normalize_phone, record};
use crate::app::App;
use crate::config::ChannelConfig;

#[derive(serde::Deserialize)]
struct GatewayEnvelope {
    event: String,
    /// The event's id: the same on every retry of one webhook.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payload: Option<GatewayPayload>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GatewayPayload {
    message: String,
    sender: String,
}

/// An `sms:received` as read: the normalised sender, the text, and the replay id.
pub(crate) type GatewaySms = (String, String, Option<String>);

/// A verified gateway webhook's body read: `Some((sender, text, replay id))` for an
/// `sms:received`, `None` for another event (acknowledged and ignored), or the 400 to answer.
/// Pure, so the fuzz harness ([`crate::fuzzing`]) reaches it.
pub(crate) fn read_gateway(body: &[u8]) -> Result<Option<GatewaySms>, (StatusCode, String)> {
    let envelope: GatewayEnvelope = serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("not a gateway webhook: {e}"),
        )
    })?;
    if envelope.event != "sms:received" {
        // Other events (sent, delivered, failed) are acknowledged and ignored.
        return Ok(None);
    }
    let Some(payload) = envelope.payload else {
        return Err((
            StatusCode::BAD_REQUEST,
            "sms:received without a payload".to_string(),
        ));
    };
    let from = normalize_phone(&payload.sender);
    let id = envelope
        .id
        .filter(|s| !s.is_empty())
        .map(|s| format!("android:{s}"));
    Ok(Some((from, payload.message, id)))
}

/// `POST /sms/android-sms-gateway`: the gateway's `sms:received` webhook.
pub async fn sms_android(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let keys: Vec<&str> = app
        .config
        .channels
        .values()
        .filter_map(|c| match c {
            ChannelConfig::Android {
                signing_key: Some(k),
                ..
            } => Some(k.expose()),
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        // No gateway configured to sign its webhooks: nothing here can be trusted.
        tracing::warn!(
            "rejected an Android gateway webhook: no android-sms-gateway channel with a signing key"
        );
        return forbidden();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let now = Utc::now().timestamp();
    if !porchlight_notify::android::signature_valid(
        &keys,
        &body,
        header("x-timestamp"),
        header("x-signature"),
        now,
    ) {
        metrics::counter!("porchlight_inbound_rejected_total", "endpoint" => "/sms/android-sms-gateway").increment(1);
        tracing::warn!("rejected an Android gateway webhook: bad or stale signature");
        return forbidden();
    }
    let (from, message, id) = match read_gateway(&body) {
        Ok(Some(m)) => m,
        Ok(None) => return StatusCode::NO_CONTENT.into_response(),
        Err(r) => return r.into_response(),
    };
    match record(&app, &Sender::Phone(from), &message, false, id).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => r.into_response(),
    }
}
