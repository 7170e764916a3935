//! Public endpoints: inbound SMS and calls from Twilio ([`twilio`]), the Android gateway's
//! `sms:received` webhook ([`android`]), and reply links ([`links`]). Each verifies what it
//! can, records the reply durably (on disk before the 2xx), and answers the way its caller
//! expects. What the providers sign and read (signatures, TwiML) is in `porchlight_notify`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use porchlight_core::village::Sender;
use porchlight_store::Committed;

use crate::app::App;

pub mod android;
pub mod links;
pub mod twilio;

pub(crate) use android::read_gateway;
pub use android::sms_android;
pub use links::{link_answer, link_page};
pub use porchlight_notify::android::signature as android_signature;
pub use porchlight_notify::twilio::signature::{sign as twilio_signature, valid as twilio_valid};
pub use twilio::{sms_twilio, voice_twilio};

pub(crate) fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "signature invalid").into_response()
}

/// Why an inbound request was not taken.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rejected {
    /// Missing or wrong signature: 403, nothing recorded.
    Forbidden,
    /// We could not record it: 500, so the sender retries.
    Internal,
    /// Storage can't make it durable now (disk full, read-only): 503, so the sender retries.
    Unavailable,
}

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        match self {
            Rejected::Forbidden => forbidden(),
            Rejected::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, "cannot record the reply").into_response()
            }
            Rejected::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "10")],
                "storage unavailable; nothing was recorded, try again",
            )
                .into_response(),
        }
    }
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn normalize_phone(raw: &str) -> String {
    porchlight_core::phone::parse_e164(raw, None).unwrap_or_else(|_| raw.trim().to_string())
}

/// Records an inbound reply, durable before this returns (the store writer group-commits;
/// this task awaits it without blocking the runtime). With `direct`, answers to the sender are
/// returned in [`Committed::direct`] for the HTTP response instead of being queued.
/// `provider_id` (Twilio's `MessageSid`, the gateway's event id) makes a replay a no-op that
/// is answered like the original.
pub(crate) async fn record(
    app: &App,
    from: &Sender,
    text: &str,
    direct: bool,
    provider_id: Option<String>,
) -> Result<(Committed, Option<String>), Rejected> {
    let now = app.now();
    let result = app
        .store
        .reply_async(from.clone(), text.to_string(), direct, provider_id, now)
        .await;
    let (out, committed) = match result {
        Ok(Some(r)) => r,
        Ok(None) => {
            metrics::counter!("porchlight_inbound_replayed_total").increment(1);
            tracing::info!(
                "inbound message already recorded (a provider retry); not recorded again"
            );
            return Ok((Committed::default(), None));
        }
        Err(porchlight_store::StoreError::Unavailable(why)) => {
            tracing::error!(reason = %why, "cannot make an inbound reply durable; answering 503");
            return Err(Rejected::Unavailable);
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record an inbound reply");
            return Err(Rejected::Internal);
        }
    };
    crate::app::observe_outcome(&out);
    let person = committed.events.iter().find_map(|(_, e)| e.by.clone());
    app.after_commit(&committed);
    metrics::counter!("porchlight_inbound_total").increment(1);
    Ok((committed, person))
}
