//! End-to-end: the Android SMS gateway's `sms:received` webhook reaching the real daemon
//! (PROTOCOLS.md, "Android SMS gateway"), checked against a signature vector computed outside
//! Rust, then the real binary accepting exactly that body and signer and refusing a flipped
//! byte, a stale or future timestamp, missing headers, and recording a replay once.

#[path = "common/daemon.rs"]
mod support;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use support::common;
use support::{Admin, MARY_PHONE, Recorder, client};

/// The signing key the gateway and the daemon share.
const KEY: &str = "gateway-signing-key-7f3a";

/// A webhook exactly as the gateway sends it (envelope and `sms:received` payload).
const BODY: &str = r#"{"deviceId":"ffffffff-device-0001","event":"sms:received","id":"Ey6ECgOkVVFjz3CL48B8C","webhookId":"LreFUt-Z3sSq0JufY9uWB","payload":{"messageId":"abc123","message":"ok","sender":"+12025550143","recipient":"+12025550100","simNumber":1,"receivedAt":"2026-11-24T09:05:00.000+00:00"}}"#;

/// `X-Signature` for [`BODY`] at `X-Timestamp: 1764000000`, computed independently of this
/// code base with Python's standard library:
///
/// ```text
/// python3 -c 'import hmac,hashlib,sys; print(hmac.new(b"gateway-signing-key-7f3a",
///     open("body.json","rb").read() + b"1764000000", hashlib.sha256).hexdigest())'
/// ```
const VECTOR: &str = "d782db122191615893f229c6450b27774bb514b543425bc6e6523b9e14a38015";

/// The test's own signer: lowercase hex HMAC-SHA256(key, body ‖ timestamp).
fn sign(key: &str, body: &[u8], ts: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    mac.update(ts.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_signers_agree_with_the_independent_vector() {
    assert_eq!(sign(KEY, BODY.as_bytes(), "1764000000"), VECTOR);
    assert_eq!(
        porchlight_server::inbound::android_signature(KEY, BODY.as_bytes(), "1764000000"),
        VECTOR,
        "the daemon's verifier computes the same signature"
    );
    // Every input is covered: key, body and timestamp.
    assert_ne!(sign("other-key", BODY.as_bytes(), "1764000000"), VECTOR);
    assert_ne!(sign(KEY, BODY.as_bytes(), "1764000001"), VECTOR);
    assert_ne!(
        sign(
            KEY,
            BODY.replace("\"ok\"", "\"ko\"").as_bytes(),
            "1764000000"
        ),
        VECTOR
    );
}

/// The gateway's local message API, accepting everything with 202: a view over the shared
/// [`Recorder`].
struct FakeGateway {
    recorder: Recorder,
    base: String,
}

impl FakeGateway {
    async fn start() -> FakeGateway {
        let recorder = Recorder::start().await;
        FakeGateway {
            base: recorder.base.clone(),
            recorder,
        }
    }

    /// The messages posted to `/message`, as JSON.
    fn sent(&self) -> Vec<Value> {
        self.recorder
            .at_path("/message")
            .iter()
            .map(|r| r.json())
            .collect()
    }
}

async fn post_webhook(base: &str, body: &[u8], ts: Option<&str>, sig: Option<&str>) -> u16 {
    let mut req = client()
        .post(format!("{base}/sms/android-sms-gateway"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(ts) = ts {
        req = req.header("X-Timestamp", ts);
    }
    if let Some(sig) = sig {
        req = req.header("X-Signature", sig);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn event_count(admin: &Admin) -> usize {
    admin.get("/api/v1/events").await.as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_gateway_webhook_answers_and_forgeries_stale_and_replays_do_not() {
    let gateway = FakeGateway::start().await;
    let config = format!(
        "[policy]\nwindow = \"120s\"\nreminders = []\n\n[channels.phone]\nkind = \"android-sms-gateway\"\nbase_url = \"{}\"\nusername = \"sms\"\npassword_env = \"SMS_GATEWAY_PASSWORD\"\nsigning_key_env = \"SMS_GATEWAY_SIGNING_KEY\"\n",
        gateway.base
    );
    let d = common::start(
        &config,
        &[
            ("SMS_GATEWAY_PASSWORD", "gateway-password"),
            ("SMS_GATEWAY_SIGNING_KEY", KEY),
        ],
    );
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({
            "name": "Mary Lopez", "phone": MARY_PHONE, "checkin": common::cron_in(6),
        }))
        .await;
    // The prompt goes out through the gateway's message API.
    let prompt = common::wait_for(40, "Mary's prompt at the gateway", || {
        gateway.sent().first().cloned()
    });
    assert_eq!(prompt["phoneNumbers"][0], MARY_PHONE, "{prompt}");
    admin.wait_state(40, "mary-lopez", "prompted");
    let before = event_count(&admin).await;

    let now = chrono::Utc::now().timestamp();
    let ts = now.to_string();
    let good = sign(KEY, BODY.as_bytes(), &ts);
    let base = d.base.as_str();

    // A flipped byte in the signature, in the body, or the wrong key.
    let mut flipped = good.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(
        post_webhook(base, BODY.as_bytes(), Some(&ts), Some(&flipped)).await,
        403
    );
    let mut body = BODY.as_bytes().to_vec();
    let at = BODY.find("\"ok\"").unwrap() + 1;
    body[at] = b'O';
    assert_eq!(post_webhook(base, &body, Some(&ts), Some(&good)).await, 403);
    let other = sign("not-the-key", BODY.as_bytes(), &ts);
    assert_eq!(
        post_webhook(base, BODY.as_bytes(), Some(&ts), Some(&other)).await,
        403
    );
    // The timestamp is signed: moving it breaks the signature.
    let moved = (now - 1).to_string();
    assert_eq!(
        post_webhook(base, BODY.as_bytes(), Some(&moved), Some(&good)).await,
        403
    );
    // Correctly signed but stale or from the future (beyond 5 minutes).
    for off in [-330i64, 330, -86_400] {
        let t = (now + off).to_string();
        let s = sign(KEY, BODY.as_bytes(), &t);
        assert_eq!(
            post_webhook(base, BODY.as_bytes(), Some(&t), Some(&s)).await,
            403,
            "timestamp {off} s away"
        );
    }
    // The fixed vector itself is stale today: refused.
    assert_eq!(
        post_webhook(base, BODY.as_bytes(), Some("1764000000"), Some(VECTOR)).await,
        403
    );
    // Missing headers, an empty signature.
    assert_eq!(
        post_webhook(base, BODY.as_bytes(), None, Some(&good)).await,
        403
    );
    assert_eq!(
        post_webhook(base, BODY.as_bytes(), Some(&ts), None).await,
        403
    );
    assert_eq!(
        post_webhook(base, BODY.as_bytes(), Some(&ts), Some("")).await,
        403
    );
    assert_eq!(admin.state("mary-lopez").await, "prompted");
    assert_eq!(
        event_count(&admin).await,
        before,
        "refused requests record nothing"
    );

    // Exactly the vector's body, signed the same way with a fresh timestamp: accepted.
    let status = post_webhook(base, BODY.as_bytes(), Some(&ts), Some(&good)).await;
    assert!((200..300).contains(&status), "genuine webhook: {status}");
    admin.wait_state(45, "mary-lopez", "answered");
    let after = event_count(&admin).await;
    assert!(after > before, "the answer is recorded");

    // The same request again (a replay), and the gateway's retry with a new timestamp: 2xx,
    // so the gateway stops retrying, and nothing recorded twice.
    let status = post_webhook(base, BODY.as_bytes(), Some(&ts), Some(&good)).await;
    assert!((200..300).contains(&status), "replay: {status}");
    let later = (now + 20).to_string();
    let resigned = sign(KEY, BODY.as_bytes(), &later);
    let status = post_webhook(base, BODY.as_bytes(), Some(&later), Some(&resigned)).await;
    assert!((200..300).contains(&status), "retry: {status}");
    assert_eq!(
        event_count(&admin).await,
        after,
        "a replay is recorded once"
    );
}
