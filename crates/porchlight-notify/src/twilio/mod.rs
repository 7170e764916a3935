//! Everything Porchlight knows about Twilio: the account ([`TwilioAccount`], the one type
//! the config and the channels share), Programmable Messaging (`twilio`) and Voice calls for
//! landlines (`twilio-voice`) out, the signature on the webhooks Twilio calls
//! ([`signature`]) and the TwiML answers ([`twiml`]) in.
//!
//! * SMS: `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth
//!   `AccountSid:AuthToken`, form fields `To`, `From` or `MessagingServiceSid`, `Body`. Success
//!   is 201 with JSON `sid` and `status`. Errors are JSON `{code, message, more_info, status}`:
//!   21610 (recipient texted STOP) is an opt-out, never retried; 21211 (invalid number) and
//!   other 4xx are permanent; 429 is always safe to retry.
//! * A 5xx may mean Twilio already accepted the message, so a retry can send it twice. For a
//!   safety service a duplicate check-in or alert is far better than a lost one, so 5xx retry.
//! * Voice: `POST .../Calls.json` with `To`, `From` and `Twiml`: the text is said in the
//!   person's language inside `<Gather numDigits="1" action="{public_url}/voice/twilio">`, so a
//!   keypress answers like a text would. No answer or busy is not an answer.

use std::time::Duration;

use chrono::Utc;
use porchlight_core::model::Language;
use serde::Deserialize;

use crate::{
    BoxFuture, BuildError, Channel, Delivery, Failure, Receipt, SendError, http_client, retry_after,
};

pub mod signature;
pub mod twiml;

/// Twilio account settings shared by SMS and voice.
#[derive(Clone)]
pub struct TwilioAccount {
    /// API base, `https://api.twilio.com` (tests point it at 127.0.0.1).
    pub base_url: String,
    /// `AC…`.
    pub account_sid: String,
    /// The auth token (from the environment, never the config file).
    pub auth_token: String,
    /// Sender number (E.164), unless a messaging service is used.
    pub from: Option<String>,
    /// `MG…`, instead of `from`.
    pub messaging_service_sid: Option<String>,
    /// Optional `StatusCallback` URL.
    pub status_callback: Option<String>,
}

impl std::fmt::Debug for TwilioAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioAccount")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Created {
    sid: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<u32>,
    message: Option<String>,
}

/// Twilio's error code for a recipient who texted STOP.
pub const OPTED_OUT: u32 = 21610;
/// Twilio's error code for an invalid `To` number.
pub const INVALID_TO: u32 = 21211;

impl TwilioAccount {
    fn url(&self, resource: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{resource}.json",
            self.base_url.trim_end_matches('/'),
            self.account_sid
        )
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        resource: &str,
        form: &[(&str, &str)],
    ) -> Result<Receipt, SendError> {
        let now = Utc::now();
        let resp = client
            .post(self.url(resource))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(form)
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let status = resp.status().as_u16();
        let ra = retry_after(resp.headers(), now);
        let body = resp
            .bytes()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        if (200..300).contains(&status) {
            let created: Created = serde_json::from_slice(&body).unwrap_or(Created {
                sid: None,
                status: None,
            });
            return Ok(Receipt {
                provider_id: created.sid,
                status: created.status,
            });
        }
        let err: Option<TwilioError> = serde_json::from_slice(&body).ok();
        let code = err.as_ref().and_then(|e| e.code);
        let message = err.and_then(|e| e.message).unwrap_or_default();
        let detail = match code {
            Some(code) => format!("Twilio {status} error {code}: {message}"),
            None => format!("Twilio answered {status}"),
        };
        let mut e = SendError::from_status(status, ra, detail);
        if code == Some(OPTED_OUT) {
            e.failure = Failure::OptedOut;
        }
        Err(e)
    }

    fn sender<'a>(&'a self, form: &mut Vec<(&'static str, &'a str)>) {
        if let Some(ms) = &self.messaging_service_sid {
            form.push(("MessagingServiceSid", ms));
        } else if let Some(from) = &self.from {
            form.push(("From", from));
        }
    }
}

/// Sends SMS through Twilio.
#[derive(Debug)]
pub struct TwilioSms {
    account: TwilioAccount,
    client: reqwest::Client,
}

impl TwilioSms {
    /// An SMS channel.
    pub fn new(account: TwilioAccount, timeout: Duration) -> Result<TwilioSms, BuildError> {
        Ok(TwilioSms {
            account,
            client: http_client(timeout)?,
        })
    }
}

impl Channel for TwilioSms {
    fn kind(&self) -> crate::ChannelKind {
        crate::ChannelKind::Twilio
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
            let mut form = vec![("To", to)];
            self.account.sender(&mut form);
            form.push(("Body", d.text.as_str()));
            if let Some(cb) = &self.account.status_callback {
                form.push(("StatusCallback", cb));
            }
            self.account.post(&self.client, "Messages", &form).await
        })
    }
}

/// Calls landlines through Twilio and gathers one key.
#[derive(Debug)]
pub struct TwilioVoice {
    account: TwilioAccount,
    public_url: String,
    client: reqwest::Client,
}

impl TwilioVoice {
    /// A voice channel; keypresses are posted to `{public_url}/voice/twilio`.
    pub fn new(
        account: TwilioAccount,
        public_url: &str,
        timeout: Duration,
    ) -> Result<TwilioVoice, BuildError> {
        Ok(TwilioVoice {
            account,
            public_url: public_url.trim_end_matches('/').to_string(),
            client: http_client(timeout)?,
        })
    }
}

/// The TwiML of a call: the text, said in the person's language, gathering one key.
/// (Kept under its old name; the TwiML builders are in [`twiml`].)
pub fn call_twiml(text: &str, language: Language, action: &str) -> String {
    twiml::call(text, language, action)
}

impl Channel for TwilioVoice {
    fn kind(&self) -> crate::ChannelKind {
        crate::ChannelKind::TwilioVoice
    }
    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move {
            let to =
                d.to.phone
                    .as_deref()
                    .ok_or_else(|| SendError::permanent("recipient has no phone number"))?;
            let from = self
                .account
                .from
                .as_deref()
                .ok_or_else(|| SendError::permanent("voice needs a `from` number"))?;
            let twiml = call_twiml(
                &d.text,
                d.to.language,
                &format!("{}/voice/twilio", self.public_url),
            );
            let form = vec![("To", to), ("From", from), ("Twiml", twiml.as_str())];
            self.account.post(&self.client, "Calls", &form).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let a = TwilioAccount {
            base_url: "http://127.0.0.1".into(),
            account_sid: "AC1".into(),
            auth_token: "supersecret".into(),
            from: None,
            messaging_service_sid: None,
            status_callback: None,
        };
        assert!(!format!("{a:?}").contains("supersecret"));
    }
}
