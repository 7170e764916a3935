//! The one recording receiver every test shares: a catch-all HTTP server on `127.0.0.1:0`
//! that records each POST on arrival (path, headers, raw body) and answers as the provider
//! at that path would: Twilio's `Messages.json`/`Calls.json` with 201 and a sid, the Android
//! gateway's `/message` with 202, anything else (a webhook) with 200. It can answer slowly,
//! to keep messages in flight.
//!
//! `FakeTwilio` and `WebhookReceiver` (`common/daemon.rs`) and the tests' own receivers are
//! built on it. Included with `#[path = ".../common/recorder.rs"] mod recorder;` where
//! `common/daemon.rs` is not used.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The request path, e.g. `/2010-04-01/Accounts/AC1/Messages.json` or `/hook`.
    pub path: String,
    /// Every header, as received.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as a URL-encoded form, in order (empty if it is not one).
    pub fn form(&self) -> Vec<(String, String)> {
        let text = String::from_utf8_lossy(&self.body);
        reqwest::Url::parse(&format!("http://form.invalid/?{text}"))
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<Recorded>>>,
    delay: Duration,
}

/// A running recording receiver.
#[derive(Clone)]
pub struct Recorder {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<Vec<Recorded>>>,
}

async fn record(
    State(s): State<Shared>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let n = {
        let mut log = s.log.lock().unwrap();
        log.push(Recorded {
            path: path.clone(),
            headers,
            body: body.clone(),
            at: Instant::now(),
        });
        log.len()
    };
    if !s.delay.is_zero() {
        tokio::time::sleep(s.delay).await;
    }
    answer(&path, &body, n)
}

/// What the provider at `path` answers to the `n`th request.
fn answer(path: &str, body: &[u8], n: usize) -> Response {
    if let Some(rest) = path.strip_prefix("/2010-04-01/Accounts/") {
        let prefix = match rest.rsplit('/').next() {
            Some("Messages.json") => "SM",
            Some("Calls.json") => "CA",
            _ => {
                return (StatusCode::NOT_FOUND, axum::Json(json!({"code": 20404}))).into_response();
            }
        };
        let sid = format!("{prefix}{n:032x}");
        return (
            StatusCode::CREATED,
            axum::Json(json!({"sid": sid, "status": "queued", "num_segments": "1"})),
        )
            .into_response();
    }
    if path == "/message" {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        return (
            StatusCode::ACCEPTED,
            axum::Json(json!({
                "id": v["id"], "deviceId": "ffffffff-device-0001", "state": "Pending",
                "recipients": [{"phoneNumber": v["phoneNumbers"][0], "state": "Pending"}],
            })),
        )
            .into_response();
    }
    (StatusCode::OK, "ok").into_response()
}

impl Recorder {
    /// Starts one on 127.0.0.1:0, answering at once.
    pub async fn start() -> Recorder {
        Recorder::slow(Duration::ZERO).await
    }

    /// Starts one that records each request on arrival and answers after `delay`.
    pub async fn slow(delay: Duration) -> Recorder {
        let log: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let app = Router::new()
            .route("/{*path}", post(record))
            .with_state(Shared {
                log: log.clone(),
                delay,
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Recorder { base, log }
    }

    /// `{base}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything received so far, in arrival order.
    pub fn all(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Everything received so far at `path`.
    pub fn at_path(&self, path: &str) -> Vec<Recorded> {
        self.all().into_iter().filter(|r| r.path == path).collect()
    }
}
