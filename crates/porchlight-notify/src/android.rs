//! The `android-sms-gateway` channel: the self-hosted SMS gateway app on an Android phone
//! (capcom6/android-sms-gateway) in local-server mode — the cheapest way for a village to send
//! texts from its own SIM.
//!
//! `POST {base_url}/message` with basic auth and
//! `{"textMessage": {"text": "..."}, "phoneNumbers": ["+1..."], "id": "<message id>"}`;
//! success is 202 with `{"id", "state", ...}`. Passing our message id makes the gateway's id
//! stable across retries. A full queue answers 503, which retries like any 5xx.

use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use crate::{BoxFuture, Channel, Delivery, Receipt, SendError, http_client, retry_after};

/// Sends SMS through an Android phone running the gateway.
pub struct AndroidGateway {
    base_url: String,
    username: String,
    password: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for AndroidGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AndroidGateway")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Accepted {
    id: Option<String>,
    state: Option<String>,
}

impl AndroidGateway {
    /// A gateway at `base_url` (e.g. `http://192.168.1.20:8080`).
    pub fn new(
        base_url: &str,
        username: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<AndroidGateway, String> {
        Ok(AndroidGateway {
            base_url: base_url.trim_end_matches('/').to_string(),
            username: username.to_string(),
            password: password.to_string(),
            client: http_client(timeout)?,
        })
    }
}

impl Channel for AndroidGateway {
    fn kind(&self) -> &'static str {
        "android-sms-gateway"
    }
    fn is_sms(&self) -> bool {
        true
    }
    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move {
            let to =
                d.to.phone
                    .as_deref()
                    .ok_or_else(|| SendError::permanent("recipient has no phone number"))?;
            let body = json!({
                "textMessage": { "text": d.text },
                "phoneNumbers": [to],
                "id": d.id,
            });
            let now = Utc::now();
            let resp = self
                .client
                .post(format!("{}/message", self.base_url))
                .basic_auth(&self.username, Some(&self.password))
                .json(&body)
                .send()
                .await
                .map_err(|e| SendError::from_reqwest(&e))?;
            let status = resp.status().as_u16();
            let ra = retry_after(resp.headers(), now);
            if resp.status().is_success() {
                let accepted: Accepted = resp.json().await.unwrap_or(Accepted {
                    id: None,
                    state: None,
                });
                return Ok(Receipt {
                    provider_id: accepted.id,
                    status: accepted.state,
                });
            }
            Err(SendError::from_status(
                status,
                ra,
                format!("gateway answered {status}"),
            ))
        })
    }
}
