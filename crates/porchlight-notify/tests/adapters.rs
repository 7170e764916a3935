//! The channel adapters against real HTTP receivers on 127.0.0.1: exact requests (method,
//! path, headers, body, auth, signature) and how each answer is classified.
//!
//! Every receiver is an axum server bound to an ephemeral port *before* it is spawned, so a
//! request can never race the server's start; it records every request and answers from a
//! script.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use porchlight_core::model::Language;
use porchlight_core::text::MessageKind;
use porchlight_notify::android::AndroidGateway;
use porchlight_notify::payload::{WebhookPayload, event_type};
use porchlight_notify::twilio::{TwilioAccount, TwilioSms, TwilioVoice};
use porchlight_notify::webhook::WebhookChannel;
use porchlight_notify::{Channel, Delivery, Failure, MemberRef, Receipt, Recipient, SendError};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A recording receiver.

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    /// `user:password` from a basic Authorization header.
    fn basic_auth(&self) -> String {
        let value = self.header("authorization");
        let encoded = value
            .strip_prefix("Basic ")
            .unwrap_or_else(|| panic!("not basic auth: {value}"));
        String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
    }

    /// The form fields, by name; panics on a repeated name.
    fn form(&self) -> BTreeMap<String, String> {
        let pairs = form_decode(&self.body);
        let map: BTreeMap<String, String> = pairs.iter().cloned().collect();
        assert_eq!(map.len(), pairs.len(), "repeated form fields: {pairs:?}");
        map
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An answer the receiver gives.
#[derive(Clone, Debug)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn new(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".to_string())],
            body: body.to_string(),
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Answers in order; the last one repeats.
    replies: Arc<Mutex<VecDeque<Reply>>>,
}

async fn record(
    State(r): State<Receiver>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    r.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers,
        body,
    });
    let reply = {
        let mut q = r.replies.lock().unwrap();
        if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            q.front()
                .cloned()
                .unwrap_or_else(|| Reply::new(599, "unscripted"))
        }
    };
    let mut b = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        b = b.header(*k, v);
    }
    b.body(Body::from(reply.body)).unwrap()
}

struct Server {
    url: String,
    rx: Receiver,
}

impl Server {
    async fn start(reply: Reply) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let rx = Receiver {
            seen: Arc::new(Mutex::new(Vec::new())),
            replies: Arc::new(Mutex::new(VecDeque::from([reply]))),
        };
        let app = axum::Router::new().fallback(record).with_state(rx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server {
            url: format!("http://{addr}"),
            rx,
        }
    }

    fn answer(&self, reply: Reply) {
        *self.rx.replies.lock().unwrap() = VecDeque::from([reply]);
    }

    fn seen(&self) -> Vec<Seen> {
        self.rx.seen.lock().unwrap().clone()
    }

    fn only(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(seen.len(), 1, "expected exactly one request: {seen:?}");
        seen[0].clone()
    }

    fn last(&self) -> Seen {
        self.seen().last().cloned().expect("no request")
    }
}

/// `application/x-www-form-urlencoded` decoding, kept here so the test does not trust the
/// encoder's own library to read back what it wrote.
fn form_decode(body: &[u8]) -> Vec<(String, String)> {
    fn dec(s: &[u8]) -> String {
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b'%' => {
                    let hex = std::str::from_utf8(&s[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|b| *b == b'&')
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            (dec(it.next().unwrap()), dec(it.next().unwrap_or(b"")))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

const PHONE: &str = "+15551230001";
const TIMEOUT: Duration = Duration::from_secs(10);

fn occurred() -> DateTime<Utc> {
    "2026-11-24T14:05:00Z".parse().unwrap()
}

fn delivery(kind: MessageKind, level: Option<u8>) -> Delivery {
    Delivery {
        id: "msg_01JD8ZQ7X3".to_string(),
        to: Recipient {
            id: "rosa".to_string(),
            name: "Rosa Diaz".to_string(),
            phone: Some(PHONE.to_string()),
            language: Language::En,
        },
        kind,
        text: "Mary has not checked in today. Can you check on her? Reply 1 if you will: https://porch.example/r/k3y".to_string(),
        member: Some(MemberRef {
            id: "mary".to_string(),
            name: "Mary Lopez".to_string(),
        }),
        checkin: Some("ci_mary_2026-11-24".to_string()),
        level,
        occurred_at: occurred(),
        summary: None,
    }
}

/// Every message kind; the match below stops compiling when a kind is added, so this list
/// cannot silently fall behind.
const ALL_KINDS: [MessageKind; 21] = [
    MessageKind::Prompt,
    MessageKind::Reminder,
    MessageKind::CheckOn,
    MessageKind::CheckOnReminder,
    MessageKind::RollCall,
    MessageKind::BuddyAlert,
    MessageKind::Alert,
    MessageKind::HelpAlert,
    MessageKind::HelpAck,
    MessageKind::AllClear,
    MessageKind::Exhausted,
    MessageKind::OptedOut,
    MessageKind::Skipped,
    MessageKind::ClaimExpired,
    MessageKind::ClaimTaken,
    MessageKind::AwayAck,
    MessageKind::BackAck,
    MessageKind::DeliveryFailed,
    MessageKind::BudgetWarning,
    MessageKind::WhichMember,
    MessageKind::DailySummary,
];

#[allow(dead_code)]
fn every_kind_is_listed(k: MessageKind) {
    match k {
        MessageKind::Prompt
        | MessageKind::Reminder
        | MessageKind::CheckOn
        | MessageKind::CheckOnReminder
        | MessageKind::RollCall
        | MessageKind::BuddyAlert
        | MessageKind::Alert
        | MessageKind::HelpAlert
        | MessageKind::HelpAck
        | MessageKind::AllClear
        | MessageKind::Exhausted
        | MessageKind::OptedOut
        | MessageKind::Skipped
        | MessageKind::ClaimExpired
        | MessageKind::ClaimTaken
        | MessageKind::AwayAck
        | MessageKind::BackAck
        | MessageKind::DeliveryFailed
        | MessageKind::BudgetWarning
        | MessageKind::WhichMember
        | MessageKind::DailySummary => {}
    }
}

/// A `whsec_` secret with a padded base64 key (32 bytes → 44 characters, one `=`).
fn secret() -> String {
    let key: Vec<u8> = (1u8..=32).collect();
    let b64 = STANDARD.encode(&key);
    assert!(b64.ends_with('='), "the key should need padding: {b64}");
    format!("whsec_{b64}")
}

fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/webhook-payload.schema.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema())
        .unwrap()
}

fn account(base: &str) -> TwilioAccount {
    TwilioAccount {
        base_url: base.to_string(),
        account_sid: "AC123".to_string(),
        auth_token: "token".to_string(),
        from: Some("+15005550006".to_string()),
        messaging_service_sid: None,
        status_callback: None,
    }
}

fn err(r: Result<Receipt, SendError>) -> SendError {
    r.expect_err("the send should have failed")
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks.

#[test]
fn standard_webhooks_public_vectors() {
    let wh = standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_eq!(
        wh.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#
        )
        .unwrap(),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    let wh = standardwebhooks::Webhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    assert_eq!(
        wh.sign(
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#
        )
        .unwrap(),
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    );
}

#[tokio::test]
async fn webhook_posts_a_signed_payload_with_a_stable_id() {
    let server = Server::start(Reply::empty(200)).await;
    let url = format!("{}/hooks/porchlight", server.url);
    let ch = WebhookChannel::new(&url, &secret(), TIMEOUT).unwrap();
    assert_eq!(ch.kind(), "webhook");
    assert!(!ch.is_sms());
    let d = delivery(MessageKind::Alert, Some(2));

    let before = Utc::now().timestamp();
    let receipt = ch.send(&d).await.unwrap();
    let after = Utc::now().timestamp();
    assert_eq!(
        receipt,
        Receipt {
            provider_id: None,
            status: Some("200".into())
        }
    );

    let req = server.only();
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path, "/hooks/porchlight");
    assert_eq!(req.query, None);
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(req.header("webhook-id"), "msg_01JD8ZQ7X3");
    let ts: i64 = req
        .header("webhook-timestamp")
        .parse()
        .expect("webhook-timestamp is an integer");
    assert!(before <= ts && ts <= after, "{before} <= {ts} <= {after}");
    let sig = req.header("webhook-signature");
    assert!(sig.starts_with("v1,"), "{sig}");

    // A receiver's stock library accepts it…
    let verifier = standardwebhooks::Webhook::new(&secret()).unwrap();
    verifier
        .verify(&req.body, &req.headers)
        .expect("the stock verifier accepts the signature");
    assert_eq!(sig, verifier.sign(&d.id, ts, &req.body).unwrap());
    // …and rejects it under another key or with another body.
    let other =
        standardwebhooks::Webhook::new(&format!("whsec_{}", STANDARD.encode([9u8; 32]))).unwrap();
    assert!(other.verify(&req.body, &req.headers).is_err());
    assert!(
        verifier
            .verify(&req.body[..req.body.len() - 1], &req.headers)
            .is_err()
    );

    // The body is exactly the payload, without the recipient's phone number.
    assert_eq!(
        req.json(),
        json!({
            "type": "alert.escalated",
            "id": "msg_01JD8ZQ7X3",
            "member": {"id": "mary", "name": "Mary Lopez"},
            "checkin": "ci_mary_2026-11-24",
            "level": 2,
            "text": d.text,
            "occurred_at": "2026-11-24T14:05:00Z",
            "recipient": {"id": "rosa", "name": "Rosa Diaz"}
        })
    );
    let parsed: WebhookPayload = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(parsed, WebhookPayload::of(&d));
    assert!(!String::from_utf8_lossy(&req.body).contains(PHONE));

    // A second attempt of the same delivery keeps the same webhook-id, freshly signed.
    ch.send(&d).await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("webhook-id"), "msg_01JD8ZQ7X3");
    assert_eq!(seen[1].body, seen[0].body);
    verifier.verify(&seen[1].body, &seen[1].headers).unwrap();
}

#[tokio::test]
async fn webhook_classifies_answers() {
    let server = Server::start(Reply::empty(200)).await;
    let ch = WebhookChannel::new(&format!("{}/h", server.url), &secret(), TIMEOUT).unwrap();
    let d = delivery(MessageKind::HelpAlert, Some(1));

    for status in [200u16, 201, 202, 204] {
        server.answer(Reply::empty(status));
        assert_eq!(
            ch.send(&d).await.unwrap(),
            Receipt {
                provider_id: None,
                status: Some(status.to_string())
            },
            "{status}"
        );
    }

    let cases: Vec<(Reply, Failure, Option<Duration>)> = vec![
        (Reply::empty(410), Failure::Permanent, None),
        (Reply::empty(400), Failure::Permanent, None),
        (Reply::empty(500), Failure::Retryable, None),
        (Reply::empty(503), Failure::Retryable, None),
        (Reply::empty(429), Failure::Retryable, None),
        (Reply::empty(408), Failure::Retryable, None),
        (
            Reply::empty(429).header("retry-after", "2"),
            Failure::Retryable,
            Some(Duration::from_secs(2)),
        ),
    ];
    let mut requests = 4;
    for (reply, failure, retry_after) in cases {
        let status = reply.status;
        server.answer(reply);
        let e = err(ch.send(&d).await);
        requests += 1;
        assert_eq!(server.seen().len(), requests, "{status} was not requested");
        assert_eq!(e.failure, failure, "{status}: {e:?}");
        assert_eq!(e.retry_after, retry_after, "{status}: {e:?}");
        assert!(e.detail.contains(&status.to_string()), "{status}: {e:?}");
    }
}

#[test]
fn schema_is_a_valid_2020_12_schema_with_a_description() {
    let s = schema();
    jsonschema::meta::validate(&s).expect("valid against its meta-schema");
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(s["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(s["additionalProperties"], false);
    let mut required: Vec<&str> = s["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        [
            "checkin",
            "id",
            "level",
            "member",
            "occurred_at",
            "recipient",
            "text",
            "type"
        ]
    );
}

#[test]
fn schema_type_enum_is_exactly_the_event_types() {
    let s = schema();
    let mut in_schema: Vec<String> = s["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    in_schema.sort();
    let mut produced: Vec<String> = ALL_KINDS
        .iter()
        .flat_map(|k| [None, Some(1), Some(2), Some(3)].map(|l| event_type(*k, l).to_string()))
        .collect();
    produced.sort();
    produced.dedup();
    assert_eq!(in_schema, produced);
}

#[test]
fn schema_rejects_malformed_payloads() {
    let v = validator();
    let good =
        serde_json::to_value(WebhookPayload::of(&delivery(MessageKind::Alert, Some(1)))).unwrap();
    v.validate(&good).unwrap();

    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut p = good.clone();
        f(&mut p);
        p
    };
    let bad = [
        (
            "unknown type",
            mutate(&|p| p["type"] = json!("checkin.lost")),
        ),
        (
            "id without msg_",
            mutate(&|p| p["id"] = json!("01JD8ZQ7X3")),
        ),
        ("level 0", mutate(&|p| p["level"] = json!(0))),
        ("level as a string", mutate(&|p| p["level"] = json!("1"))),
        (
            "occurred_at not a date-time",
            mutate(&|p| p["occurred_at"] = json!("yesterday")),
        ),
        ("extra property", mutate(&|p| p["phone"] = json!(PHONE))),
        (
            "phone in recipient",
            mutate(&|p| p["recipient"]["phone"] = json!(PHONE)),
        ),
        (
            "member without a name",
            mutate(&|p| p["member"] = json!({"id": "mary"})),
        ),
        ("checkin a number", mutate(&|p| p["checkin"] = json!(7))),
        (
            "missing member",
            mutate(&|p| {
                p.as_object_mut().unwrap().remove("member");
            }),
        ),
        (
            "missing type",
            mutate(&|p| {
                p.as_object_mut().unwrap().remove("type");
            }),
        ),
    ];
    for (what, p) in bad {
        assert!(!v.is_valid(&p), "{what} was accepted: {p}");
    }
}

#[tokio::test]
async fn a_daily_summary_webhook_carries_the_full_list_and_the_schema_accepts_it() {
    use porchlight_core::engine::MemberState;
    use porchlight_core::model::Member;
    let server = Server::start(Reply::empty(204)).await;
    let ch = WebhookChannel::new(&format!("{}/h", server.url), &secret(), TIMEOUT).unwrap();
    let now = occurred();
    let members: Vec<MemberState> = (0..40)
        .map(|i| {
            let mut st = MemberState::new(Member::new(format!("m{i:02}")), chrono_tz::UTC, now);
            st.member.paused = i % 2 == 0;
            st.opted_out = i % 5 == 0;
            st
        })
        .collect();
    let summary = porchlight_core::summary::build(
        "Maple",
        now.date_naive(),
        &members,
        &[],
        &|id| format!("Member {id}"),
        now,
        false,
    );
    let mut d = delivery(MessageKind::DailySummary, None);
    d.member = None;
    d.checkin = None;
    d.text = porchlight_core::summary::text(&summary, Language::En, &Default::default());
    d.summary = Some(Box::new(summary.clone()));
    ch.send(&d).await.unwrap();
    let body = server.last().json();
    if let Err(e) = validator().validate(&body) {
        panic!("{e}: {body}");
    }
    assert_eq!(body["type"], "village.daily_summary");
    // Every member is in the payload, and all 8 opted out need attention, though the SMS
    // text has room for only some of their names.
    assert_eq!(body["summary"]["members"].as_array().unwrap().len(), 40);
    assert_eq!(body["summary"]["attention"].as_array().unwrap().len(), 8);
    assert_eq!(body["summary"]["counts"]["opted_out"], 8);
    let back: WebhookPayload = serde_json::from_value(body).unwrap();
    assert_eq!(back.summary.as_deref(), Some(&summary));
}

#[tokio::test]
async fn every_kind_and_level_sends_a_payload_the_schema_accepts() {
    let server = Server::start(Reply::empty(204)).await;
    let ch = WebhookChannel::new(&format!("{}/h", server.url), &secret(), TIMEOUT).unwrap();
    let v = validator();
    let verifier = standardwebhooks::Webhook::new(&secret()).unwrap();
    let mut n = 0;
    for kind in ALL_KINDS {
        for level in [None, Some(1), Some(2)] {
            let mut d = delivery(kind, level);
            if level.is_none() {
                // Messages outside an escalation may be about nobody in particular.
                d.member = None;
                d.checkin = None;
            }
            ch.send(&d).await.unwrap();
            n += 1;
            let req = server.last();
            assert_eq!(server.seen().len(), n);
            verifier.verify(&req.body, &req.headers).unwrap();
            let body = req.json();
            if let Err(e) = v.validate(&body) {
                panic!("{kind:?} at {level:?}: {e}: {body}");
            }
            assert_eq!(body["type"], event_type(kind, level), "{kind:?} {level:?}");
            assert_eq!(body["level"], json!(level));
        }
    }
    assert_eq!(n, ALL_KINDS.len() * 3);
}

// ---------------------------------------------------------------------------------------------
// Twilio SMS.

#[tokio::test]
async fn twilio_sms_posts_the_form_with_basic_auth() {
    let server = Server::start(Reply::new(
        201,
        r#"{"sid":"SM1","status":"queued","num_segments":"1","to":"+15551230001","from":"+15005550006","error_code":null,"error_message":null}"#,
    ))
    .await;
    let ch = TwilioSms::new(account(&server.url), TIMEOUT).unwrap();
    assert_eq!(ch.kind(), "twilio");
    assert!(ch.is_sms());
    let mut d = delivery(MessageKind::Prompt, None);
    d.text = "Good morning Mary! Reply 1 if OK, 2 for help & more: https://porch.example/r/a+b=c ñ"
        .into();

    let receipt = ch.send(&d).await.unwrap();
    assert_eq!(
        receipt,
        Receipt {
            provider_id: Some("SM1".into()),
            status: Some("queued".into())
        }
    );
    let req = server.only();
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path, "/2010-04-01/Accounts/AC123/Messages.json");
    assert_eq!(req.query, None);
    assert_eq!(req.basic_auth(), "AC123:token");
    assert_eq!(
        req.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        req.form(),
        BTreeMap::from([
            ("To".to_string(), PHONE.to_string()),
            ("From".to_string(), "+15005550006".to_string()),
            ("Body".to_string(), d.text.clone()),
        ])
    );
}

#[tokio::test]
async fn twilio_sms_uses_the_messaging_service_and_status_callback() {
    let server = Server::start(Reply::new(201, r#"{"sid":"SM2","status":"accepted"}"#)).await;
    let mut acct = account(&format!("{}/", server.url));
    acct.messaging_service_sid = Some("MG9".into());
    acct.status_callback = Some("https://porch.example/sms/status".into());
    let ch = TwilioSms::new(acct, TIMEOUT).unwrap();
    let d = delivery(MessageKind::Reminder, None);

    let receipt = ch.send(&d).await.unwrap();
    assert_eq!(receipt.provider_id.as_deref(), Some("SM2"));
    assert_eq!(receipt.status.as_deref(), Some("accepted"));
    let req = server.only();
    // A trailing slash on the base URL does not double the slash.
    assert_eq!(req.path, "/2010-04-01/Accounts/AC123/Messages.json");
    assert_eq!(
        req.form(),
        BTreeMap::from([
            ("To".to_string(), PHONE.to_string()),
            ("MessagingServiceSid".to_string(), "MG9".to_string()),
            ("Body".to_string(), d.text.clone()),
            (
                "StatusCallback".to_string(),
                "https://porch.example/sms/status".to_string()
            ),
        ])
    );
}

#[tokio::test]
async fn twilio_sms_classifies_errors() {
    let server = Server::start(Reply::empty(500)).await;
    let ch = TwilioSms::new(account(&server.url), TIMEOUT).unwrap();
    let d = delivery(MessageKind::Prompt, None);
    let cases = [
        (
            Reply::new(
                400,
                r#"{"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"https://www.twilio.com/docs/errors/21610","status":400}"#,
            ),
            Failure::OptedOut,
            Some("21610"),
        ),
        (
            Reply::new(
                400,
                r#"{"code":21211,"message":"The 'To' number is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#,
            ),
            Failure::Permanent,
            Some("21211"),
        ),
        (
            Reply::new(
                429,
                r#"{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}"#,
            ),
            Failure::Retryable,
            Some("20429"),
        ),
        (Reply::empty(500), Failure::Retryable, None),
        (
            Reply::new(503, "<html>Service Unavailable</html>"),
            Failure::Retryable,
            None,
        ),
        (
            Reply::new(
                401,
                r#"{"code":20003,"message":"Authenticate","status":401}"#,
            ),
            Failure::Permanent,
            Some("20003"),
        ),
    ];
    let mut requests = 0;
    for (reply, failure, code) in cases {
        let status = reply.status;
        server.answer(reply);
        let e = err(ch.send(&d).await);
        requests += 1;
        assert_eq!(server.seen().len(), requests);
        assert_eq!(e.failure, failure, "{status}: {e:?}");
        assert!(e.detail.contains(&status.to_string()), "{e:?}");
        if let Some(code) = code {
            assert!(e.detail.contains(code), "{e:?}");
        }
        assert!(!e.detail.contains(PHONE), "a phone number leaked: {e:?}");
        assert!(!e.detail.contains("token"), "the token leaked: {e:?}");
    }
    // 429 with Retry-After is honoured.
    server.answer(Reply::new(429, r#"{"code":20429,"status":429}"#).header("retry-after", "7"));
    let e = err(ch.send(&d).await);
    assert_eq!(e.failure, Failure::Retryable);
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn sms_and_voice_without_a_phone_fail_permanently_without_a_request() {
    let server = Server::start(Reply::new(201, r#"{"sid":"SM1","status":"queued"}"#)).await;
    let mut d = delivery(MessageKind::Prompt, None);
    d.to.phone = None;
    let channels: Vec<Box<dyn Channel>> = vec![
        Box::new(TwilioSms::new(account(&server.url), TIMEOUT).unwrap()),
        Box::new(TwilioVoice::new(account(&server.url), "https://porch.example", TIMEOUT).unwrap()),
        Box::new(AndroidGateway::new(&server.url, "sms", "pw", TIMEOUT).unwrap()),
    ];
    for ch in channels {
        let e = err(ch.send(&d).await);
        assert_eq!(e.failure, Failure::Permanent, "{}", ch.kind());
        assert_eq!(e.detail, "recipient has no phone number", "{}", ch.kind());
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}

// ---------------------------------------------------------------------------------------------
// Twilio Voice.

#[tokio::test]
async fn twilio_voice_places_a_call_that_gathers_one_key() {
    let server = Server::start(Reply::new(201, r#"{"sid":"CA1","status":"queued"}"#)).await;
    let ch = TwilioVoice::new(account(&server.url), "https://porch.example/", TIMEOUT).unwrap();
    assert_eq!(ch.kind(), "twilio-voice");
    assert!(!ch.is_sms(), "calls do not count against the SMS budget");
    let mut d = delivery(MessageKind::Prompt, None);
    d.text = "Hi <Mary> & Bob's \"check\" https://porch.example/r/x".into();

    let receipt = ch.send(&d).await.unwrap();
    assert_eq!(
        receipt,
        Receipt {
            provider_id: Some("CA1".into()),
            status: Some("queued".into())
        }
    );
    let req = server.only();
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path, "/2010-04-01/Accounts/AC123/Calls.json");
    assert_eq!(req.basic_auth(), "AC123:token");
    assert_eq!(
        req.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let form = req.form();
    assert_eq!(
        form.keys().map(String::as_str).collect::<Vec<_>>(),
        ["From", "To", "Twiml"]
    );
    assert_eq!(form["To"], PHONE);
    assert_eq!(form["From"], "+15005550006");
    let twiml = &form["Twiml"];
    assert!(
        twiml.starts_with(
            r#"<Response><Gather numDigits="1" action="https://porch.example/voice/twilio""#
        ),
        "{twiml}"
    );
    assert_eq!(
        twiml,
        concat!(
            r#"<Response><Gather numDigits="1" action="https://porch.example/voice/twilio" method="POST">"#,
            r#"<Say language="en-US">Hi &lt;Mary&gt; &amp; Bob&apos;s &quot;check&quot; Press 1 if you are OK, 2 if you need help.</Say>"#,
            r#"</Gather><Say language="en-US">We did not get a key. Goodbye.</Say></Response>"#
        )
    );

    // Spanish speakers hear Spanish.
    d.to.language = Language::Es;
    d.text = "Hola Maria".into();
    ch.send(&d).await.unwrap();
    let twiml = server.last().form()["Twiml"].clone();
    assert!(
        twiml.contains(r#"<Say language="es-US">Hola Maria Marque 1"#),
        "{twiml}"
    );
    assert!(!twiml.contains("en-US"), "{twiml}");

    // Calls share the Twilio error handling: a bad number is permanent, a 503 retries.
    server.answer(Reply::new(
        400,
        r#"{"code":21211,"message":"bad To","status":400}"#,
    ));
    assert_eq!(err(ch.send(&d).await).failure, Failure::Permanent);
    server.answer(Reply::new(503, "{}"));
    assert_eq!(err(ch.send(&d).await).failure, Failure::Retryable);
}

// ---------------------------------------------------------------------------------------------
// Android SMS gateway.

#[tokio::test]
async fn android_gateway_posts_json_with_our_id() {
    let server = Server::start(Reply::new(
        202,
        r#"{"id":"x","deviceId":"dev1","state":"Pending","recipients":[{"phoneNumber":"+15551230001","state":"Pending","error":null}]}"#,
    ))
    .await;
    let ch = AndroidGateway::new(&format!("{}/", server.url), "sms", "pw", TIMEOUT).unwrap();
    assert_eq!(ch.kind(), "android-sms-gateway");
    assert!(ch.is_sms());
    let d = delivery(MessageKind::CheckOn, Some(1));

    let receipt = ch.send(&d).await.unwrap();
    assert_eq!(
        receipt,
        Receipt {
            provider_id: Some("x".into()),
            status: Some("Pending".into())
        }
    );
    let req = server.only();
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path, "/message");
    assert_eq!(req.basic_auth(), "sms:pw");
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(
        req.json(),
        json!({
            "textMessage": {"text": d.text},
            "phoneNumbers": [PHONE],
            "id": "msg_01JD8ZQ7X3"
        })
    );

    server.answer(Reply::new(
        503,
        r#"{"error":"QueueLimitExceeded","message":"queue is full"}"#,
    ));
    let e = err(ch.send(&d).await);
    assert_eq!(e.failure, Failure::Retryable);
    assert!(e.detail.contains("503"), "{e:?}");
    // A retry carries the same id, so the gateway can tell it is the same message.
    assert_eq!(server.last().json()["id"], "msg_01JD8ZQ7X3");

    server.answer(Reply::new(400, r#"{"message":"bad phone"}"#));
    assert_eq!(err(ch.send(&d).await).failure, Failure::Permanent);
    server.answer(Reply::new(401, r#"{"message":"unauthorized"}"#));
    assert_eq!(err(ch.send(&d).await).failure, Failure::Permanent);
    assert_eq!(server.seen().len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Transport failures, for every HTTP adapter.

fn http_channels(base: &str, timeout: Duration) -> Vec<Box<dyn Channel>> {
    vec![
        Box::new(WebhookChannel::new(&format!("{base}/h"), &secret(), timeout).unwrap()),
        Box::new(TwilioSms::new(account(base), timeout).unwrap()),
        Box::new(TwilioVoice::new(account(base), "https://porch.example", timeout).unwrap()),
        Box::new(AndroidGateway::new(base, "sms", "pw", timeout).unwrap()),
    ]
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_and_retries() {
    // Accepts connections and holds them without ever answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(0usize));
    let count = accepted.clone();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            *count.lock().unwrap() += 1;
            held.push(socket);
        }
    });

    let d = delivery(MessageKind::HelpAlert, Some(1));
    for ch in http_channels(&base, Duration::from_millis(300)) {
        let start = Instant::now();
        let e = err(ch.send(&d).await);
        let took = start.elapsed();
        assert_eq!(e.failure, Failure::Retryable, "{}: {e:?}", ch.kind());
        assert_eq!(e.detail, "timed out", "{}", ch.kind());
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "{}: {took:?}",
            ch.kind()
        );
    }
    assert_eq!(
        *accepted.lock().unwrap(),
        4,
        "each adapter reached the receiver"
    );
    hold.abort();
}

#[tokio::test]
async fn a_refused_connection_retries() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let d = delivery(MessageKind::Alert, Some(1));
    for ch in http_channels(&base, Duration::from_secs(5)) {
        let e = err(ch.send(&d).await);
        assert_eq!(e.failure, Failure::Retryable, "{}: {e:?}", ch.kind());
        assert_eq!(e.detail, "connection failed", "{}", ch.kind());
        assert!(!e.detail.contains("AC123"));
    }
}
