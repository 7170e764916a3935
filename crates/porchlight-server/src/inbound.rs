//! Public endpoints: inbound SMS and calls from Twilio, the Android gateway's `sms:received`
//! webhook, and reply links. Each verifies what it can, records the reply durably (on disk
//! before the 2xx), and answers the way its caller expects.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use chrono::Utc;
use hmac::{Hmac, Mac};
use porchlight_core::model::Language;
use porchlight_core::reply::Role;
use porchlight_core::text::{self, MessageKind};
use porchlight_core::village::Sender;
use porchlight_store::Committed;
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::config::ChannelConfig;

type HmacSha1 = Hmac<sha1::Sha1>;
type HmacSha256 = Hmac<sha2::Sha256>;

/// Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1 over the URL followed by every POST
/// parameter as name + value, names sorted (values sorted within a repeated name).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac =
        HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL with and without its scheme's default port, as Twilio's own validator tries both.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let slash = if rest.contains('/') { "/" } else { "" };
            if let Some(bare) = host.strip_suffix(port) {
                out.push(format!("{scheme}{bare}{slash}{path}"));
            } else if !host.contains(':') {
                out.push(format!("{scheme}{host}{port}{slash}{path}"));
            }
        }
    }
    out
}

/// Checks a Twilio signature against every configured Twilio auth token, in constant time.
pub fn twilio_valid(
    tokens: &[&str],
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let mut ok = false;
    for token in tokens {
        for u in url_variants(url) {
            let expected = twilio_signature(token, &u, params);
            // Compare every candidate; `|` keeps the time independent of which one matched.
            ok |= bool::from(expected.as_bytes().ct_eq(signature.as_bytes()));
        }
    }
    ok
}

/// The Android gateway's `X-Signature`: lowercase hex HMAC-SHA256(key, body ‖ timestamp).
pub fn android_signature(key: &str, body: &[u8], timestamp: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn twiml(messages: &[String]) -> Response {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    if messages.is_empty() {
        body.push_str("<Response/>");
    } else {
        body.push_str("<Response>");
        for m in messages {
            body.push_str("<Message>");
            body.push_str(&xml_escape(m));
            body.push_str("</Message>");
        }
        body.push_str("</Response>");
    }
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "signature invalid").into_response()
}

/// Why an inbound request was not taken.
#[derive(Debug, Clone, Copy)]
enum Rejected {
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

fn twilio_tokens(app: &App) -> Vec<&str> {
    app.config
        .channels
        .values()
        .filter_map(|c| match c {
            ChannelConfig::Twilio(t) | ChannelConfig::TwilioVoice(t) => Some(t.auth_token.expose()),
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
        || !twilio_valid(
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

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn normalize_phone(raw: &str) -> String {
    porchlight_core::phone::parse_e164(raw, None).unwrap_or_else(|_| raw.trim().to_string())
}

/// Texts of the answers to the sender in a commit (help reassurance, away/back
/// acknowledgements), to show on a reply-link page.
fn answers_to(committed: &Committed, person: Option<&str>) -> Vec<String> {
    committed
        .messages
        .iter()
        .chain(&committed.direct)
        .filter(|e| {
            matches!(
                e.message.kind,
                MessageKind::HelpAck | MessageKind::AwayAck | MessageKind::BackAck
            )
        })
        .filter(|e| person == Some(e.message.to.as_str()))
        .map(|e| e.message.text.clone())
        .collect()
}

/// Records an inbound reply, durable before this returns (the store writer group-commits;
/// this task awaits it without blocking the runtime). With `direct`, answers to the sender are
/// returned in [`Committed::direct`] for the HTTP response instead of being queued.
/// `provider_id` (Twilio's `MessageSid`, the gateway's event id) makes a replay a no-op that
/// is answered like the original.
async fn record(
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
            twiml(&replies)
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
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"{}\">{}</Say></Response>",
            text::voice_language(lang),
            xml_escape(text::voice_prompt(lang, line))
        );
        ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
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

/// How far an Android gateway timestamp may be from our clock.
const GATEWAY_TOLERANCE_SECS: i64 = 300;

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
    {
        let ts = headers
            .get("x-timestamp")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let sig = headers
            .get("x-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let fresh = ts
            .parse::<i64>()
            .is_ok_and(|t| (Utc::now().timestamp() - t).abs() <= GATEWAY_TOLERANCE_SECS);
        let mut ok = false;
        for k in &keys {
            ok |= bool::from(
                android_signature(k, &body, ts)
                    .as_bytes()
                    .ct_eq(sig.as_bytes()),
            );
        }
        if !fresh || !ok {
            metrics::counter!("porchlight_inbound_rejected_total", "endpoint" => "/sms/android-sms-gateway").increment(1);
            tracing::warn!("rejected an Android gateway webhook: bad or stale signature");
            return forbidden();
        }
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

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;font-size:1.5rem;line-height:1.5;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111;background:#fff}\
h1{font-size:2rem}button{display:block;width:100%;font-size:1.6rem;padding:1.2rem;margin:1rem 0;border-radius:.6rem;border:3px solid #111;cursor:pointer}\
.ok{background:#e6f4ea}.help{background:#fde8e8}.other{background:#f1f1f1}p.note{font-size:1.1rem;color:#333}";

fn page(lang: &str, title: &str, body: &str) -> Html<String> {
    let title = html_escape(title);
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>{PAGE_STYLE}</style></head><body><main>{body}</main></body></html>"
    ))
}

fn html_escape(s: &str) -> String {
    xml_escape(s).replace('\'', "&#39;")
}

/// What a reply-link page needs: the link, and the recipient's and member's records.
type LinkView = (
    porchlight_store::LinkToken,
    Option<porchlight_core::model::Person>,
    Option<porchlight_core::model::Person>,
);

/// Reads a link and its people off the async workers; `None` for an unknown or expired link.
async fn link_view(app: &App, token: String, now: chrono::DateTime<Utc>) -> Option<LinkView> {
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || {
        let link = store.link(&token).ok().flatten()?;
        let person = store.person(&link.person).ok().flatten();
        let member = store.person(&link.context.member).ok().flatten();
        Some((link, person, member))
    })
    .await
    .ok()
    .flatten()
    .filter(|(l, _, _)| l.expires_at > now)
}

/// The page's question and buttons, in the recipient's language.
fn link_choices(view: &LinkView) -> (Language, String, Vec<text::LinkChoice>) {
    let (link, person, member) = view;
    let lang = person.as_ref().map_or(Language::En, |p| p.language);
    let words = text::link_page_strings(lang);
    let name = person.as_ref().map_or(words.someone, |p| p.first_name());
    let member_name = member.as_ref().map_or(words.them, |p| p.first_name());
    let (question, choices) = text::link_page_choices(lang, link.context.role, name, member_name);
    (lang, question, choices)
}

fn expired(lang: Language) -> Response {
    let w = text::link_page_strings(lang);
    (
        StatusCode::NOT_FOUND,
        page(
            w.html_lang,
            w.expired_title,
            &format!(
                "<h1>{}</h1><p>{}</p>",
                html_escape(w.expired_heading),
                html_escape(w.expired_body)
            ),
        ),
    )
        .into_response()
}

/// `GET /r/{token}`: a large, accessible page with the choices, in the recipient's language.
/// It records nothing: link scanners and previews fetch it too.
pub async fn link_page(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let Some(view) = link_view(&app, token, app.now()).await else {
        return expired(Language::En);
    };
    let (lang, question, choices) = link_choices(&view);
    let w = text::link_page_strings(lang);
    let mut body = format!("<h1>{}</h1><form method=\"post\">", html_escape(&question));
    for c in choices {
        body.push_str(&format!(
            "<button class=\"{}\" type=\"submit\" name=\"answer\" value=\"{}\">{}</button>",
            c.class,
            html_escape(c.value),
            html_escape(&c.label)
        ));
    }
    body.push_str(&format!(
        "</form><p class=\"note\">{}</p>",
        html_escape(w.footer)
    ));
    page(w.html_lang, w.title, &body).into_response()
}

/// `POST /r/{token}`: records the chosen answer. Only the page's own answers are accepted (a
/// forged `answer=stop` must not opt anyone out).
pub async fn link_answer(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let now = app.now();
    let Some(view) = link_view(&app, token.clone(), now).await else {
        return expired(Language::En);
    };
    let (lang, _, choices) = link_choices(&view);
    let w = text::link_page_strings(lang);
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    // No default: a link scanner that posts an empty form must not answer "I'm OK".
    let Some(choice) =
        param(&params, "answer").and_then(|a| choices.iter().find(|c| c.value == a.trim()))
    else {
        return (
            StatusCode::BAD_REQUEST,
            page(
                w.html_lang,
                w.choose_title,
                &format!("<h1>{}</h1>", html_escape(w.choose_heading)),
            ),
        )
            .into_response();
    };
    let answer = choice.value.to_string();
    let help = choice.class == "help";
    let store = app.store.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        let c = store.reply_link(&token, &answer, now)?;
        let person = store.link(&token)?.map(|l| l.person);
        Ok::<_, porchlight_store::StoreError>((c, person))
    })
    .await
    .unwrap_or_else(|e| {
        Err(porchlight_store::StoreError::Unavailable(format!(
            "link task failed: {e}"
        )))
    });
    match recorded {
        Ok((committed, link_person)) => {
            app.after_commit(&committed);
            let direct = answers_to(&committed, link_person.as_deref());
            let said = if help && view.0.context.role == Role::Member {
                w.help_body
            } else {
                w.thanks_body
            };
            let mut body = format!(
                "<h1>{}</h1><p>{}</p>",
                html_escape(w.thanks_heading),
                html_escape(said)
            );
            for d in direct {
                body.push_str(&format!("<p>{}</p>", html_escape(&d)));
            }
            page(w.html_lang, w.thanks_title, &body).into_response()
        }
        Err(porchlight_store::StoreError::NotFound(_)) => expired(lang),
        Err(porchlight_store::StoreError::Unavailable(why)) => {
            tracing::error!(reason = %why, "cannot make a link answer durable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "10")],
                "storage unavailable; nothing was recorded, try again",
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record a link answer");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot record the answer",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn twilio_public_vectors() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let p = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            twilio_signature("12345", url, &p),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert!(twilio_valid(
            &["12345"],
            url,
            &p,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!twilio_valid(
            &["12345"],
            url,
            &p,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ"
        ));
        assert!(!twilio_valid(
            &["54321"],
            url,
            &p,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        let p2 = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            twilio_signature("12345", url, &p2),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert_eq!(
            twilio_signature(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &p2
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        // Signed with the port, checked against the URL without it (and the other way).
        assert!(twilio_valid(
            &["12345"],
            url,
            &p2,
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        assert!(twilio_valid(
            &["12345"],
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &p2,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let repeated = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            twilio_signature("12345", url, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn android_signature_is_hex_hmac_of_body_and_timestamp() {
        let sig = android_signature("key", b"{\"a\":1}", "1700000000");
        assert_eq!(sig.len(), 64);
        assert!(
            sig.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(sig, android_signature("key", b"{\"a\":1}", "1700000001"));
        assert_ne!(sig, android_signature("other", b"{\"a\":1}", "1700000000"));
    }
}
