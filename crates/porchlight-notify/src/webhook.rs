//! The `webhook` channel: POSTs the JSON payload signed per the Standard Webhooks spec
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`), with the
//! `standardwebhooks` crate, so receivers verify it with their stock libraries.
//!
//! The `webhook-id` is the outbox message id, the same on every retry. 2xx is success;
//! 410 Gone means the receiver wants no more (permanent); 408/429/5xx retry, honouring
//! `Retry-After`.

use std::time::Duration;

use chrono::Utc;

use crate::payload::WebhookPayload;
use crate::{
    BoxFuture, BuildError, Channel, Delivery, Receipt, SendError, http_client, retry_after,
};

/// Posts signed JSON to one URL.
pub struct WebhookChannel {
    url: String,
    signer: standardwebhooks::Webhook,
    client: reqwest::Client,
}

impl std::fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of debug output.
        f.debug_struct("WebhookChannel")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WebhookChannel {
    /// A channel posting to `url`, signing with a `whsec_…` secret.
    pub fn new(url: &str, secret: &str, timeout: Duration) -> Result<WebhookChannel, BuildError> {
        let signer = standardwebhooks::Webhook::new(secret).map_err(BuildError::WebhookSecret)?;
        Ok(WebhookChannel {
            url: url.to_string(),
            signer,
            client: http_client(timeout)?,
        })
    }
}

impl Channel for WebhookChannel {
    fn kind(&self) -> crate::ChannelKind {
        crate::ChannelKind::Webhook
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&WebhookPayload::of(d))
                .map_err(|e| SendError::permanent(e.to_string()))?;
            let now = Utc::now();
            let ts = now.timestamp();
            let signature = self
                .signer
                .sign(&d.id, ts, &body)
                .map_err(|e| SendError::permanent(format!("cannot sign: {e}")))?;
            let resp = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .header("webhook-id", &d.id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await
                .map_err(|e| SendError::from_reqwest(&e))?;
            let status = resp.status().as_u16();
            if resp.status().is_success() {
                return Ok(Receipt {
                    provider_id: None,
                    status: Some(status.to_string()),
                });
            }
            let ra = retry_after(resp.headers(), now);
            let detail = if status == 410 {
                "receiver answered 410 Gone: it wants no more deliveries".to_string()
            } else {
                format!("receiver answered {status}")
            };
            Err(SendError::from_status(status, ra, detail))
        })
    }
}
