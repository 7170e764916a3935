//! From the file as written to the [`Config`] the daemon runs: every value checked, every
//! error naming its key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use porchlight_core::model::{Policy, Span, Village};

use super::channels::{ChannelConfig, Secret, channel, env_name, url};
use super::file::File;
use super::{Config, DeliveryConfig, Env, Invalid, bad};

/// Parses an IANA time zone name.
pub fn parse_tz(key: &str, s: &str) -> Result<Tz, Invalid> {
    s.parse::<Tz>().map_err(|_| {
        bad(
            key,
            format!("unknown time zone {s:?} (use an IANA name like \"America/New_York\")"),
        )
    })
}

pub(super) fn span(key: &str, s: &str) -> Result<Span, Invalid> {
    s.parse::<Span>().map_err(|r| bad(key, r.to_string()))
}

pub(super) fn validate(
    file: File,
    source: Option<PathBuf>,
    env: Env<'_>,
) -> Result<Config, Invalid> {
    let listen: SocketAddr = file
        .server
        .listen
        .as_deref()
        .unwrap_or("127.0.0.1:7878")
        .parse()
        .map_err(|_| {
            bad(
                "server.listen",
                "expected an address like \"127.0.0.1:7878\"",
            )
        })?;
    // Replies, reply links and the admin token must never cross a network in clear text:
    // beyond loopback, only behind a TLS-terminating proxy, and only when the operator says so.
    if !listen.ip().is_loopback() && file.server.tls_in_front != Some(true) {
        return Err(bad(
            "server.listen",
            format!(
                "{listen} is not a loopback address; put a TLS-terminating proxy in front and set server.tls_in_front = true"
            ),
        ));
    }
    let public_url = file
        .server
        .public_url
        .as_deref()
        .map(|u| url("server.public_url", u))
        .transpose()?;
    let admin_token_env = file
        .server
        .admin_token_env
        .clone()
        .unwrap_or_else(|| "PORCHLIGHT_ADMIN_TOKEN".into());
    env_name("server.admin_token_env", &admin_token_env)?;
    let admin_token = env(&admin_token_env).map(Secret::new);
    if admin_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
        return Err(bad(
            "server.admin_token_env",
            format!("{admin_token_env} is shorter than 16 characters; use a long random token"),
        ));
    }
    let heartbeat_url = file
        .server
        .heartbeat_url
        .as_deref()
        .map(|u| url("server.heartbeat_url", u))
        .transpose()?;
    let log_json = match file.server.log_format.as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            return Err(bad(
                "server.log_format",
                format!("{other:?} is not text or json"),
            ));
        }
    };
    let timezone = match &file.village.timezone {
        Some(tz) => parse_tz("village.timezone", tz)?,
        None => Tz::UTC,
    };
    let daily_summary = file
        .village
        .daily_summary
        .as_deref()
        .map(|s| {
            chrono::NaiveTime::parse_from_str(s, "%H:%M")
                .map_err(|_| bad("village.daily_summary", format!("{s:?} is not HH:MM")))
        })
        .transpose()?;
    for (i, c) in file.village.coordinators.iter().enumerate() {
        porchlight_core::model::validate_id(c)
            .map_err(|r| bad(format!("village.coordinators[{i}]"), r.to_string()))?;
    }
    let village = Village {
        name: file
            .village
            .name
            .clone()
            .unwrap_or_else(|| "Porchlight Village".into()),
        timezone,
        coordinators: file.village.coordinators.clone(),
        public_url: public_url.clone(),
        daily_summary,
        templates: crate::templates::templates(&file.templates, public_url.as_deref())?,
    };
    let policy = file.policy.apply("policy", &Policy::default())?;
    let delivery = DeliveryConfig {
        sms_daily_cap: match file.delivery.sms_daily_cap {
            Some(0) => {
                return Err(bad(
                    "delivery.sms_daily_cap",
                    "must be at least 1 (leave it out for no cap)",
                ));
            }
            cap => cap,
        },
        concurrency: match file.delivery.concurrency {
            Some(0) => return Err(bad("delivery.concurrency", "must be at least 1")),
            Some(n) if n > 1024 => return Err(bad("delivery.concurrency", "must be at most 1024")),
            n => n.unwrap_or(32),
        },
        timeout: match &file.delivery.timeout {
            Some(t) => {
                let s = span("delivery.timeout", t)?;
                let d = s.delta().to_std().unwrap_or_default();
                if d < Duration::from_millis(100) || d > Duration::from_secs(120) {
                    return Err(bad("delivery.timeout", "must be between 100ms and 2m"));
                }
                d
            }
            None => Duration::from_secs(15),
        },
        max_attempts: match file.delivery.max_attempts {
            Some(0) => return Err(bad("delivery.max_attempts", "must be at least 1")),
            n => n.unwrap_or(8),
        },
    };
    let mut channels = BTreeMap::new();
    for (name, table) in &file.channels {
        porchlight_core::model::validate_id(name)
            .map_err(|r| bad(format!("channels.{name}"), r.to_string()))?;
        channels.insert(
            name.clone(),
            channel(name, table, public_url.as_deref(), env)?,
        );
    }
    if channels.is_empty() {
        channels.insert("log".to_string(), ChannelConfig::Log);
    }
    let data_dir = file
        .storage
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from("porchlight-data"));
    if data_dir.as_os_str().is_empty() {
        return Err(bad("storage.path", "must not be empty"));
    }
    let backup = crate::archive::backup_config(
        file.storage.backup_dir.as_deref(),
        file.storage.backup_keep,
        file.storage.backup_at.as_deref(),
        &data_dir,
    )?;
    Ok(Config {
        source,
        listen,
        public_url,
        admin_token_env,
        admin_token,
        heartbeat_url,
        log_json,
        data_dir,
        village,
        daily_summary,
        policy,
        delivery,
        channels,
        backup,
    })
}
