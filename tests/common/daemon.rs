//! Shared by the `daemon_*` end-to-end tests (it has no tests of its own): local receivers
//! standing in for Twilio and for a Standard Webhooks endpoint, Twilio request signing, and
//! small helpers over the admin API and the CLI.
//!
//! A test file includes it with `#[path = "common/daemon.rs"] mod support;` and reaches the
//! daemon helpers as `support::common`.
#![allow(dead_code)]

#[path = "mod.rs"]
pub mod common;
#[path = "recorder.rs"]
pub mod recorder;

use std::future::Future;
use std::process::{Command, Output};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;

pub use recorder::Recorder;

/// Public base URL the daemons run with: Twilio signs `{PUBLIC_URL}{path}`.
pub const PUBLIC_URL: &str = "https://porchlight.example.org";
/// The fake Twilio account.
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
/// Its auth token (given to the daemon as `TWILIO_AUTH_TOKEN`).
pub const AUTH_TOKEN: &str = "twilio-test-auth-token-42";
/// The village's Twilio number.
pub const VILLAGE_NUMBER: &str = "+12025550100";
/// The Standard Webhooks secret (given to the daemon as `PORCHLIGHT_WEBHOOK_SECRET`).
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Mary, the member most tests follow.
pub const MARY_PHONE: &str = "+12025550143";
/// Harold, her neighbor buddy.
pub const HAROLD_PHONE: &str = "+12025550144";
/// The coordinators' desk phone.
pub const DESK_PHONE: &str = "+12025550145";

/// The environment a daemon with Twilio and webhook channels needs.
pub fn channel_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("PORCHLIGHT_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ]
}

/// Runs a future to completion from synchronous code (a `common::wait_for` closure) inside a
/// multi-thread test runtime.
pub fn block<F: Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

/// An HTTP client for talking to a daemon: a daemon that stops answering fails the test
/// instead of hanging it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

// ----- fake Twilio -------------------------------------------------------------------------

/// One request the fake Twilio received.
#[derive(Clone, Debug)]
pub struct TwilioRequest {
    /// `Messages` or `Calls`.
    pub resource: String,
    /// The account SID in the path.
    pub account: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The form fields, in order.
    pub form: Vec<(String, String)>,
    /// When it arrived.
    pub at: Instant,
}

impl TwilioRequest {
    /// A form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `To` field.
    pub fn to(&self) -> &str {
        self.field("To").unwrap_or("")
    }

    /// The `Body` field.
    pub fn body(&self) -> &str {
        self.field("Body").unwrap_or("")
    }
}

/// A local stand-in for `api.twilio.com`, a view over the shared [`Recorder`]: records
/// `Messages.json` and `Calls.json` posts and answers 201 `{"sid": ..., "status": "queued"}`.
pub struct FakeTwilio {
    /// `http://127.0.0.1:PORT`, for the channel's `base_url`.
    pub base_url: String,
    /// Everything received.
    pub recorder: Recorder,
}

impl FakeTwilio {
    /// Starts it on 127.0.0.1:0.
    pub async fn start() -> FakeTwilio {
        let recorder = Recorder::start().await;
        FakeTwilio {
            base_url: recorder.base.clone(),
            recorder,
        }
    }

    /// Every request to the Twilio API so far, in arrival order.
    pub fn requests(&self) -> Vec<TwilioRequest> {
        self.recorder
            .all()
            .into_iter()
            .filter_map(|r| {
                let rest = r.path.strip_prefix("/2010-04-01/Accounts/")?;
                let (account, resource) = rest.split_once('/')?;
                let resource = match resource {
                    "Messages.json" => "Messages",
                    "Calls.json" => "Calls",
                    _ => return None,
                };
                Some(TwilioRequest {
                    resource: resource.to_string(),
                    account: account.to_string(),
                    authorization: r.header(header::AUTHORIZATION.as_str()).map(str::to_string),
                    form: r.form(),
                    at: r.at,
                })
            })
            .collect()
    }

    /// Every SMS sent so far.
    pub fn messages(&self) -> Vec<TwilioRequest> {
        self.of("Messages")
    }

    /// Every call placed so far.
    pub fn calls(&self) -> Vec<TwilioRequest> {
        self.of("Calls")
    }

    fn of(&self, resource: &str) -> Vec<TwilioRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.resource == resource)
            .collect()
    }

    /// SMS sent to `phone` so far.
    pub fn sms_to(&self, phone: &str) -> Vec<TwilioRequest> {
        self.messages()
            .into_iter()
            .filter(|r| r.to() == phone)
            .collect()
    }

    /// The first SMS to `phone` whose body contains `needle`, if any.
    pub fn find_sms(&self, phone: &str, needle: &str) -> Option<TwilioRequest> {
        self.sms_to(phone)
            .into_iter()
            .find(|r| r.body().contains(needle))
    }

    /// The `[channels.NAME]` table of a `twilio` channel pointing here.
    pub fn channel(&self, name: &str, kind: &str) -> String {
        format!(
            "[channels.{name}]\nkind = \"{kind}\"\nbase_url = \"{}\"\naccount_sid = \"{ACCOUNT_SID}\"\nauth_token_env = \"TWILIO_AUTH_TOKEN\"\nfrom = \"{VILLAGE_NUMBER}\"\n",
            self.base_url
        )
    }
}

// ----- webhook receiver --------------------------------------------------------------------

/// One webhook the receiver got.
#[derive(Clone, Debug)]
pub struct Hook {
    /// Every header, as received.
    pub headers: http::HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// The body as JSON (`Null` if it was not JSON).
    pub json: Value,
    /// When it arrived.
    pub at: Instant,
}

/// The path webhooks are posted to.
const HOOK_PATH: &str = "/hooks/porchlight";

/// A local webhook endpoint, a view over the shared [`Recorder`]: records headers and raw
/// body, answers 200.
pub struct WebhookReceiver {
    /// The URL to configure.
    pub url: String,
    /// Everything received.
    pub recorder: Recorder,
}

impl WebhookReceiver {
    /// Starts it on 127.0.0.1:0.
    pub async fn start() -> WebhookReceiver {
        let recorder = Recorder::start().await;
        WebhookReceiver {
            url: recorder.url(HOOK_PATH),
            recorder,
        }
    }

    /// Everything received so far.
    pub fn all(&self) -> Vec<Hook> {
        self.recorder
            .at_path(HOOK_PATH)
            .into_iter()
            .map(|r| Hook {
                json: r.json(),
                headers: r.headers,
                body: r.body,
                at: r.at,
            })
            .collect()
    }

    /// The first webhook matching `f`, if any.
    pub fn find(&self, f: impl Fn(&Value) -> bool) -> Option<Hook> {
        self.all().into_iter().find(|h| f(&h.json))
    }

    /// The `[channels.NAME]` table of a `webhook` channel pointing here.
    pub fn channel(&self, name: &str) -> String {
        format!(
            "[channels.{name}]\nkind = \"webhook\"\nurl = \"{}\"\nsecret_env = \"PORCHLIGHT_WEBHOOK_SECRET\"\n",
            self.url
        )
    }
}

// ----- Twilio signatures -------------------------------------------------------------------

/// `X-Twilio-Signature` per Twilio: base64 HMAC-SHA1, keyed with the auth token, over the URL
/// followed by every POST parameter as name + value, sorted by name (then value).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The signature Twilio would send for a POST of `params` to `{PUBLIC_URL}{path}`.
pub fn signed(path: &str, params: &[(&str, &str)]) -> String {
    twilio_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}{path}"), params)
}

/// Posts a Twilio-style form to the daemon, with `signature` as `X-Twilio-Signature` if given.
pub async fn post_twilio(
    base: &str,
    path: &str,
    params: &[(&str, &str)],
    signature: Option<&str>,
) -> reqwest::Response {
    let mut req = client().post(format!("{base}{path}")).form(params);
    if let Some(s) = signature {
        req = req.header("X-Twilio-Signature", s);
    }
    req.send().await.unwrap()
}

/// An inbound SMS as Twilio posts it, with parameters the daemon does not know about.
pub fn inbound_sms<'a>(from: &'a str, body: &'a str, sid: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("To", VILLAGE_NUMBER),
        ("Body", body),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("SmsStatus", "received"),
        ("ApiVersion", "2010-04-01"),
        ("FromCountry", "US"),
    ]
}

/// Posts a correctly signed inbound SMS and checks the TwiML answer.
pub async fn text_in(base: &str, from: &str, body: &str, sid: &str) -> String {
    let params = inbound_sms(from, body, sid);
    let sig = signed("/sms/twilio", &params);
    let r = post_twilio(base, "/sms/twilio", &params, Some(&sig)).await;
    assert_eq!(r.status(), 200, "a signed inbound SMS is accepted");
    r.text().await.unwrap()
}

// ----- admin API ---------------------------------------------------------------------------

/// The admin API of one daemon.
#[derive(Clone)]
pub struct Admin {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
}

impl Admin {
    /// The admin API of the daemon at `base`, with the test token.
    pub fn new(base: &str) -> Admin {
        Admin {
            base: base.to_string(),
            http: client(),
        }
    }

    /// Sends a request with the bearer token; status and JSON body (`Null` if none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(common::TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        let bytes = r.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// GET, expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    /// POST /api/v1/people, expecting 201.
    pub async fn add_person(&self, body: Value) {
        let (s, v) = self
            .call(reqwest::Method::POST, "/api/v1/people", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::CREATED, "adding {body}: {v}");
    }

    /// POST /api/v1/members, expecting 201.
    pub async fn add_member(&self, body: Value) {
        let (s, v) = self
            .call(reqwest::Method::POST, "/api/v1/members", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::CREATED, "adding {body}: {v}");
    }

    /// A member's row of GET /api/v1/status.
    pub async fn row(&self, member: &str) -> Value {
        let v = self.get("/api/v1/status").await;
        v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["id"] == member)
            .cloned()
            .unwrap_or_else(|| panic!("{member} is not on the board: {v}"))
    }

    /// A member's state on the board.
    pub async fn state(&self, member: &str) -> String {
        self.row(member).await["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until a member's state is `want` (blocking; call from the test body).
    pub fn wait_state(&self, secs: u64, member: &str, want: &str) {
        let mut last = String::new();
        let what = format!("{member} to be {want}");
        common::wait_for(secs, &what, || {
            last = block(self.state(member));
            (last == want).then_some(())
        });
    }
}

// ----- the CLI -----------------------------------------------------------------------------

/// Runs `porchlight ARGS` with `env` (and no inherited admin token or server) to completion.
pub fn porchlight(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porchlight"));
    cmd.args(args)
        .env_remove("PORCHLIGHT_ADMIN_TOKEN")
        .env_remove("PORCHLIGHT_SERVER")
        .env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
