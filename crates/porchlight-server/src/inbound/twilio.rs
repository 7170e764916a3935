//! Twilio's webhooks: `POST /sms/twilio` (an inbound text, answered with TwiML messages) and
//! `POST /voice/twilio` (the key a landline member pressed during a check-in call, answered
//! with spoken TwiML). Both need `X-Twilio-Signature` under a configured account's auth token
//! over `server.public_url` + the path.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use porchlight_core::model::Language;
use porchlight_core::text;
use porchlight_core::village::Sender;
use porchlight_notify::twilio::{signature, twiml};

use super::{Rejected, normalize_phone, param, record};
use crate::app::App;
use crate::config::ChannelConfig;

/// A TwiML answer.
fn twiml_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, twiml::CONTENT_TYPE)], body).into_response()
}

fn twilio_tokens(app: &App) -> Vec<&str> {
    app.config
        .channels
        .values()
        .filter_map(|c| match c {
            ChannelConfig::Twilio(t) | ChannelConfig::TwilioVoice(t) => Some(t.auth_token.as_str()),
            _ => None,
        })
        .collect()
}

/// Verifies a Twilio request and returns its form parameters.
fn verified_twilio(
    app: &App,
    path: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Rejected> {
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let Some(base) = app.config.public_url.as_deref() else {
        tracing::warn!(
            "rejected a Twilio request: server.public_url is not set, so signatures can't be checked"
        );
        return Err(Rejected::Forbidden);
    };
    let tokens = twilio_tokens(app);
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if tokens.is_empty()
        || signature.is_empty()
        // Twilio signs the full URL it called, query string included.
        || !signature::valid(
            &tokens,
            &match uri.query() {
                Some(q) => format!("{base}{path}?{q}"),
                None => format!("{base}{path}"),
            },
            &params,
            signature,
        )
    {
        metrics::counter!("porchlight_inbound_rejected_total", "endpoint" => path.to_string())
            .increment(1);
        tracing::warn!(
            endpoint = path,
            "rejected a request with a missing or wrong X-Twilio-Signature"
        );
        return Err(Rejected::Forbidden);
    }
    Ok(params)
}

/// `POST /sms/twilio`: an inbound text.
pub async fn sms_twilio(
    State(app): State<Arc<App>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match verified_twilio(&app, "/sms/twilio", &uri, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let from = normalize_phone(param(&params, "From").unwrap_or(""));
    let text = param(&params, "Body").unwrap_or("").to_string();
    tracing::info!(from = %porchlight_core::phone::redact(&from), "inbound SMS");
    let sid = param(&params, "MessageSid")
        .or_else(|| param(&params, "SmsSid"))
        .filter(|s| !s.is_empty())
        .map(|s| format!("twilio:{s}"));
    match record(&app, &Sender::Phone(from), &text, true, sid).await {
        Ok((committed, _)) => {
            let replies: Vec<String> = committed
                .direct
                .iter()
                .map(|e| e.message.text.clone())
                .collect();
            twiml_response(twiml::messages(&replies))
        }
        Err(r) => r.into_response(),
    }
}

/// `POST /voice/twilio`: the key a landline member pressed during a check-in call.
pub async fn voice_twilio(
    State(app): State<Arc<App>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match verified_twilio(&app, "/voice/twilio", &uri, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    // On an outbound call `To` is the member; on a call they make, `From` is.
    let direction = param(&params, "Direction").unwrap_or("outbound-api");
    let phone = if direction.starts_with("outbound") {
        param(&params, "To")
    } else {
        param(&params, "From")
    };
    let phone = normalize_phone(phone.unwrap_or(""));
    let digits = param(&params, "Digits").unwrap_or("").trim().to_string();
    // Spoken in the member's language.
    let store = app.store.clone();
    let who = phone.clone();
    let lang = tokio::task::spawn_blocking(move || store.person_by_phone(&who))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .map_or(Language::En, |p| p.language);
    let say = |line: text::VoiceLine| {
        twiml_response(twiml::say(
            text::voice_language(lang),
            text::voice_prompt(lang, line),
        ))
    };
    if digits.is_empty() {
        // No key is not an answer.
        return say(text::VoiceLine::NoKey);
    }
    // The spoken answer replaces any texted acknowledgement: a landline can't receive texts.
    let call = param(&params, "CallSid")
        .filter(|s| !s.is_empty())
        .map(|s| format!("twilio-call:{s}:{digits}"));
    match record(&app, &Sender::Phone(phone), &digits, true, call).await {
        Ok(_) if digits == "2" => say(text::VoiceLine::HelpAck),
        Ok(_) => say(text::VoiceLine::Thanks),
        Err(r) => r.into_response(),
    }
}
