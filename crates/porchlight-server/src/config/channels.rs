//! Channels (`[channels.NAME]`): how messages leave, each kind's keys checked, its secrets
//! read from the environment.

use porchlight_notify::twilio::TwilioAccount;

use super::file::{AndroidFile, LogFile, TwilioFile, WebhookFile};
use super::{Env, Invalid, bad};

/// A secret read from the environment. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// A secret from a known value (tests, or a value already read).
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One configured channel.
#[derive(Clone, Debug)]
pub enum ChannelConfig {
    /// Prints messages.
    Log,
    /// Standard Webhooks POST.
    Webhook {
        /// Receiver URL.
        url: String,
        /// `whsec_…` secret.
        secret: Secret,
    },
    /// Twilio SMS.
    Twilio(TwilioAccount),
    /// Twilio voice calls.
    TwilioVoice(TwilioAccount),
    /// Android SMS gateway (local server mode).
    Android {
        /// Gateway URL.
        base_url: String,
        /// Basic-auth user.
        username: String,
        /// Basic-auth password.
        password: Secret,
        /// Key that signs its `sms:received` webhooks.
        signing_key: Option<Secret>,
    },
}

impl ChannelConfig {
    /// The kind word of this channel.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Log => "log",
            ChannelConfig::Webhook { .. } => "webhook",
            ChannelConfig::Twilio(_) => "twilio",
            ChannelConfig::TwilioVoice(_) => "twilio-voice",
            ChannelConfig::Android { .. } => "android-sms-gateway",
        }
    }
}

pub(super) fn url(key: &str, s: &str) -> Result<String, Invalid> {
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && !s.contains(char::is_whitespace);
    if ok {
        Ok(s.trim_end_matches('/').to_string())
    } else {
        Err(bad(key, format!("{s:?} is not an http(s) URL")))
    }
}

pub(super) fn env_name(key: &str, s: &str) -> Result<(), Invalid> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        // Never echo the value: it may be the secret itself, pasted in by mistake.
        Err(bad(
            key,
            "must be the NAME of an environment variable (A-Z, 0-9, _), not the secret itself",
        ))
    }
}

fn secret(key: &str, var: &str, env: Env<'_>) -> Result<Secret, Invalid> {
    env_name(key, var)?;
    env(var)
        .map(Secret)
        .ok_or_else(|| bad(key, format!("environment variable {var} is not set")))
}

pub(super) fn channel(
    name: &str,
    table: &toml::Table,
    public_url: Option<&str>,
    env: Env<'_>,
) -> Result<ChannelConfig, Invalid> {
    let key = format!("channels.{name}");
    let kind = table
        .get("kind")
        .and_then(toml::Value::as_str)
        .ok_or_else(|| {
            bad(
                format!("{key}.kind"),
                "missing (log, webhook, twilio, twilio-voice or android-sms-gateway)",
            )
        })?;
    let mut rest = table.clone();
    rest.remove("kind");
    let de = |e: toml::de::Error| {
        let m = e.message().trim().to_string();
        bad(key.clone(), m)
    };
    let twilio = |rest: toml::Table| -> Result<TwilioAccount, Invalid> {
        let t: TwilioFile = rest.try_into().map_err(de)?;
        if !t.account_sid.starts_with("AC") {
            return Err(bad(
                format!("{key}.account_sid"),
                "a Twilio account SID starts with AC",
            ));
        }
        let auth_token = secret(&format!("{key}.auth_token_env"), &t.auth_token_env, env)?;
        let from = t
            .from
            .as_deref()
            .map(|f| {
                porchlight_core::phone::parse_e164(f, None)
                    .map_err(|r| bad(format!("{key}.from"), r.to_string()))
            })
            .transpose()?;
        if from.is_none() && t.messaging_service_sid.is_none() {
            return Err(bad(
                format!("{key}.from"),
                "give a sender number (from) or messaging_service_sid",
            ));
        }
        Ok(TwilioAccount {
            base_url: url(
                &format!("{key}.base_url"),
                t.base_url.as_deref().unwrap_or("https://api.twilio.com"),
            )?,
            account_sid: t.account_sid,
            auth_token: auth_token.expose().to_string(),
            from,
            messaging_service_sid: t.messaging_service_sid,
            status_callback: t
                .status_callback
                .map(|u| url(&format!("{key}.status_callback"), &u))
                .transpose()?,
        })
    };
    match kind {
        "log" => {
            let _: LogFile = rest.try_into().map_err(de)?;
            Ok(ChannelConfig::Log)
        }
        "webhook" => {
            let w: WebhookFile = rest.try_into().map_err(de)?;
            let secret = secret(&format!("{key}.secret_env"), &w.secret_env, env)?;
            if standardwebhooks::Webhook::new(secret.expose()).is_err()
                || !secret.expose().starts_with("whsec_")
            {
                return Err(bad(
                    format!("{key}.secret_env"),
                    format!(
                        "{} must hold a Standard Webhooks secret: whsec_ followed by base64",
                        w.secret_env
                    ),
                ));
            }
            Ok(ChannelConfig::Webhook {
                url: url(&format!("{key}.url"), &w.url)?,
                secret,
            })
        }
        "twilio" => {
            if public_url.is_none() {
                // Twilio signs inbound texts over public_url; without it every reply would be
                // refused and every member would look missed.
                return Err(bad(
                    format!("{key}.kind"),
                    "twilio needs server.public_url: inbound texts are verified against it",
                ));
            }
            Ok(ChannelConfig::Twilio(twilio(rest)?))
        }
        "twilio-voice" => {
            let t = twilio(rest)?;
            if t.from.is_none() {
                return Err(bad(
                    format!("{key}.from"),
                    "voice calls need a sender number (from)",
                ));
            }
            if public_url.is_none() {
                return Err(bad(
                    format!("{key}.kind"),
                    "twilio-voice needs server.public_url: Twilio posts the keypress there",
                ));
            }
            Ok(ChannelConfig::TwilioVoice(t))
        }
        "android-sms-gateway" => {
            let a: AndroidFile = rest.try_into().map_err(de)?;
            Ok(ChannelConfig::Android {
                base_url: url(&format!("{key}.base_url"), &a.base_url)?,
                username: a.username,
                password: secret(&format!("{key}.password_env"), &a.password_env, env)?,
                // Required: without it anyone could post fake replies to the inbound webhook.
                signing_key: Some(secret(
                    &format!("{key}.signing_key_env"),
                    &a.signing_key_env,
                    env,
                )?),
            })
        }
        other => Err(bad(
            format!("{key}.kind"),
            format!(
                "unknown kind {other:?} (log, webhook, twilio, twilio-voice or android-sms-gateway)"
            ),
        )),
    }
}
