//! The CLI's roster and status commands: a client of a running daemon's admin API.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::Failure;

/// Where the daemon is and how to authenticate.
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client of `server` (e.g. `http://127.0.0.1:7878`).
    pub fn new(server: &str, token: Option<String>) -> Result<Client, Failure> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Failure::runtime(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            base: server.trim_end_matches('/').to_string(),
            token,
            http,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Body>,
    ) -> Result<(StatusCode, Vec<u8>), Failure> {
        let token = self.token.as_deref().ok_or_else(|| {
            Failure::usage("set PORCHLIGHT_ADMIN_TOKEN to the daemon's admin token (the daemon reads the same variable)")
        })?;
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        req = match body {
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Csv(bytes)) => req.header("content-type", "text/csv").body(bytes),
            None => req,
        };
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() {
                Failure::runtime(format!(
                    "cannot reach the Porchlight daemon at {}: is `porchlight serve` running? (use --server URL for another address)",
                    self.base
                ))
            } else if e.is_timeout() {
                Failure::runtime(format!("the daemon at {} did not answer in time", self.base))
            } else {
                Failure::runtime(format!("request to {} failed: {e}", self.base))
            }
        })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Failure::runtime(format!("reading the daemon's answer failed: {e}")))?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(Failure::usage(
                "the daemon refused the admin token: PORCHLIGHT_ADMIN_TOKEN must match the token the daemon was started with",
            ));
        }
        if !status.is_success() {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let msg = v["error"]["message"]
                .as_str()
                .unwrap_or("request failed")
                .to_string();
            let mut line = msg;
            if let Some(rows) = v["rows"].as_array() {
                for r in rows {
                    line.push_str(&format!(
                        "\n  row {}: {}",
                        r["row"],
                        r["message"].as_str().unwrap_or("")
                    ));
                }
            }
            let code = if status.is_client_error() { 2 } else { 1 };
            return Err(Failure {
                code,
                message: line,
            });
        }
        Ok((status, bytes.to_vec()))
    }

    /// A JSON call.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let (_, bytes) = self.call(method, path, body.map(Body::Json)).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            Failure::runtime(format!("the daemon sent something that is not JSON: {e}"))
        })
    }

    /// Posts a CSV body.
    pub async fn csv(&self, path: &str, csv: Vec<u8>) -> Result<Value, Failure> {
        let (_, bytes) = self.call(Method::POST, path, Some(Body::Csv(csv))).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Failure::runtime(format!("the daemon sent something that is not JSON: {e}"))
        })
    }

    /// Gets raw bytes.
    pub async fn raw(&self, path: &str) -> Result<Vec<u8>, Failure> {
        Ok(self.call(Method::GET, path, None).await?.1)
    }
}

enum Body {
    Json(Value),
    Csv(Vec<u8>),
}

/// Renders the status board as a table people can read.
pub fn status_table(v: &Value) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "MEMBER".into(),
        "NAME".into(),
        "STATE".into(),
        "ANSWERED".into(),
        "ALERT".into(),
    ]];
    for m in v["members"].as_array().into_iter().flatten() {
        let alert = if m["alert"].is_null() {
            String::new()
        } else {
            let a = &m["alert"];
            format!(
                "{} level {} since {}{}",
                a["reason"].as_str().unwrap_or(""),
                a["level"],
                short_time(a["since"].as_str().unwrap_or("")),
                if a["exhausted"].as_bool() == Some(true) {
                    " — NOBODY CONFIRMED"
                } else {
                    ""
                }
            )
        };
        rows.push([
            m["id"].as_str().unwrap_or("").to_string(),
            m["name"].as_str().unwrap_or("").to_string(),
            m["state"].as_str().unwrap_or("").to_uppercase(),
            short_time(m["answered_at"].as_str().unwrap_or("")),
            alert,
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if rows.len() == 1 {
        out.push_str("(no members yet: add one with `porchlight member add`)\n");
    }
    out
}

fn short_time(s: &str) -> String {
    // "2026-11-24T14:05:00Z" → "2026-11-24 14:05Z"
    if s.len() >= 16 {
        format!("{} {}Z", &s[..10], &s[11..16])
    } else {
        s.to_string()
    }
}

/// Builds a member-add body from CLI flags.
#[allow(clippy::too_many_arguments)]
pub fn member_body(
    id: Option<String>,
    name: String,
    phone: Option<String>,
    timezone: Option<String>,
    language: Option<String>,
    checkin: Option<String>,
    window: Option<String>,
    by: Option<String>,
    circle: Option<String>,
    buddies: Vec<String>,
    family: Vec<String>,
) -> Value {
    let mut v = json!({ "name": name, "buddies": buddies, "family": family });
    for (k, val) in [
        ("id", id),
        ("phone", phone),
        ("timezone", timezone),
        ("language", language),
        ("checkin", checkin),
        ("window", window),
        ("by", by),
        ("circle", circle),
    ] {
        if let Some(x) = val {
            v[k] = Value::String(x);
        }
    }
    v
}
