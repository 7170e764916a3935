//! Configuration (PRODUCT §3): what the operator wrote, validated into what the daemon runs.
//!
//! Every bad value is reported as `FILE: KEY: REASON`. Secrets are never in the file: it names
//! environment variables (`auth_token_env`, `secret_env`, ...) and the values are read from
//! the environment at start-up. `Debug` of anything holding a secret prints `<redacted>`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use porchlight_core::model::{Policy, Span, Village};
use serde::Deserialize;

/// A validation failure: which key, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted key path, e.g. `member[2].checkin` or `channels.sms.base_url`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// An [`Invalid`] for a key.
pub fn bad(key: impl Into<String>, reason: impl Into<String>) -> Invalid {
    Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Parses an IANA time zone name.
pub fn parse_tz(key: &str, s: &str) -> Result<Tz, Invalid> {
    s.parse::<Tz>().map_err(|_| {
        bad(
            key,
            format!("unknown time zone {s:?} (use an IANA name like \"America/New_York\")"),
        )
    })
}

fn span(key: &str, s: &str) -> Result<Span, Invalid> {
    s.parse::<Span>().map_err(|r| bad(key, r.to_string()))
}

/// `[policy]`, and each member's overrides of it: the roster's one policy input
/// (`porchlight_core::roster`), so config, scenarios, the API and the CSV share its rules.
pub use porchlight_core::roster::PolicyInput as PolicyFile;

impl From<porchlight_core::roster::RosterError> for Invalid {
    fn from(e: porchlight_core::roster::RosterError) -> Self {
        bad(e.key, e.message)
    }
}

// ----- the file as written ---------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerFile,
    #[serde(default)]
    storage: StorageFile,
    #[serde(default)]
    village: VillageFile,
    #[serde(default)]
    policy: PolicyFile,
    #[serde(default)]
    delivery: DeliveryFile,
    #[serde(default)]
    channels: BTreeMap<String, toml::Table>,
    #[serde(default)]
    templates: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    listen: Option<String>,
    public_url: Option<String>,
    admin_token_env: Option<String>,
    heartbeat_url: Option<String>,
    log_format: Option<String>,
    /// Listening beyond loopback is refused unless this says TLS is in front.
    tls_in_front: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageFile {
    path: Option<PathBuf>,
    backup_dir: Option<PathBuf>,
    backup_keep: Option<i64>,
    backup_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VillageFile {
    name: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    coordinators: Vec<String>,
    daily_summary: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryFile {
    sms_daily_cap: Option<u32>,
    concurrency: Option<usize>,
    timeout: Option<String>,
    max_attempts: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TwilioFile {
    base_url: Option<String>,
    account_sid: String,
    auth_token_env: String,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    status_callback: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    url: String,
    secret_env: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AndroidFile {
    base_url: String,
    username: String,
    password_env: String,
    signing_key_env: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogFile {}

// ----- the validated config --------------------------------------------------------------

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

/// Twilio account settings.
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    /// API base.
    pub base_url: String,
    /// `AC…`.
    pub account_sid: String,
    /// Auth token (also verifies inbound signatures).
    pub auth_token: Secret,
    /// Sender number.
    pub from: Option<String>,
    /// Messaging service, instead of `from`.
    pub messaging_service_sid: Option<String>,
    /// Optional status callback URL.
    pub status_callback: Option<String>,
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
    Twilio(TwilioConfig),
    /// Twilio voice calls.
    TwilioVoice(TwilioConfig),
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

/// Delivery settings.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Daily SMS segment cap for the village.
    pub sms_daily_cap: Option<u32>,
    /// Messages in flight at once.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per way before falling back.
    pub max_attempts: u32,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where it came from (`None`: embedded defaults).
    pub source: Option<PathBuf>,
    /// Listen address.
    pub listen: SocketAddr,
    /// Base URL of reply links and Twilio's signed URLs.
    pub public_url: Option<String>,
    /// Name of the env var holding the admin token.
    pub admin_token_env: String,
    /// The admin token, if the variable is set.
    pub admin_token: Option<Secret>,
    /// Pinged every minute when set.
    pub heartbeat_url: Option<String>,
    /// `json` logs instead of text.
    pub log_json: bool,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Village settings.
    pub village: Village,
    /// Local time of the coordinators' daily summary.
    pub daily_summary: Option<chrono::NaiveTime>,
    /// Default member policy.
    pub policy: Policy,
    /// Delivery settings.
    pub delivery: DeliveryConfig,
    /// Channels by name.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Scheduled backups, when `[storage] backup_dir` is set.
    pub backup: Option<crate::archive::BackupConfig>,
}

/// The environment variables a config may read (a function, so tests pass a map).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// The embedded defaults: data in `./porchlight-data`, `127.0.0.1:7878`, the `log` channel,
    /// and reply links to this machine (`http://127.0.0.1:7878/r/...`) so they can be tried with
    /// curl right away.
    ///
    /// The defaults themselves are always valid; what can fail is the environment they read
    /// (an admin token that is too short): that is an error naming the variable, not a panic.
    pub fn defaults(env: Env<'_>) -> Result<Config, String> {
        let mut c = validate(File::default(), None, env).map_err(|e| e.to_string())?;
        let local = format!("http://{}", c.listen);
        c.village.public_url = Some(local);
        Ok(c)
    }

    /// Reads and validates a config file. Errors are one line: `FILE: KEY: REASON`.
    pub fn load(path: &Path, env: Env<'_>) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Config::parse(&text, Some(path), env).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses config text.
    pub fn parse(text: &str, source: Option<&Path>, env: Env<'_>) -> Result<Config, String> {
        let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, &e))?;
        let file: File = serde_path_to_error::deserialize(de).map_err(|e| {
            // toml names unknown keys itself; a type error names only a line, so the key it
            // was found under is put in front.
            let key = e.path().to_string();
            let msg = toml_error(text, e.inner());
            if key == "." || msg.contains(&format!("`{key}`")) {
                msg
            } else {
                format!("{key}: {msg}")
            }
        })?;
        validate(file, source.map(Path::to_path_buf), env).map_err(|e| e.to_string())
    }
}

/// A TOML error as `line N: message` (the message names the key).
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

fn url(key: &str, s: &str) -> Result<String, Invalid> {
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && !s.contains(char::is_whitespace);
    if ok {
        Ok(s.trim_end_matches('/').to_string())
    } else {
        Err(bad(key, format!("{s:?} is not an http(s) URL")))
    }
}

fn env_name(key: &str, s: &str) -> Result<(), Invalid> {
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

fn channel(
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
    let twilio = |rest: toml::Table| -> Result<TwilioConfig, Invalid> {
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
        Ok(TwilioConfig {
            base_url: url(
                &format!("{key}.base_url"),
                t.base_url.as_deref().unwrap_or("https://api.twilio.com"),
            )?,
            account_sid: t.account_sid,
            auth_token,
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

fn validate(file: File, source: Option<PathBuf>, env: Env<'_>) -> Result<Config, Invalid> {
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
    let admin_token = env(&admin_token_env).map(Secret);
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

/// Names sled keeps in its directory: a directory holding anything else is not a
/// Porchlight data directory (say `/etc`), and is refused rather than written into.
const STORE_FILES: &[&str] = &[
    "conf",
    "db",
    "blobs",
    "snap.",
    "lost+found",
    ".porchlight-check-",
];

/// Checks that `storage.path` can hold the store, without creating or opening anything: an
/// existing path must be a writable directory that is empty or a store; a missing one must
/// have a writable directory above it.
pub fn check_storage(path: &Path) -> Result<(), Invalid> {
    let key = "storage.path";
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(m) if !m.is_dir() => Err(bad(key, format!("{shown} is a file, not a directory"))),
        Ok(m) => {
            if m.permissions().readonly() {
                return Err(bad(key, format!("{shown} is read-only")));
            }
            let entries = std::fs::read_dir(path)
                .map_err(|e| bad(key, format!("cannot read {shown}: {e}")))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !STORE_FILES.iter().any(|f| name.starts_with(f)) {
                    return Err(bad(
                        key,
                        format!(
                            "{shown} holds {name:?}, which is not Porchlight data; use an empty or a Porchlight directory"
                        ),
                    ));
                }
            }
            writable(path).map_err(|e| bad(key, format!("cannot write in {shown}: {e}")))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The daemon creates it: the nearest existing ancestor must be a writable directory.
            let mut up = path.parent();
            while let Some(dir) = up {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                match std::fs::metadata(dir) {
                    Ok(m) if m.is_dir() => {
                        return writable(dir).map_err(|e| {
                            bad(
                                key,
                                format!("cannot create {shown} in {}: {e}", dir.display()),
                            )
                        });
                    }
                    Ok(_) => {
                        return Err(bad(
                            key,
                            format!("{} is a file, so {shown} cannot be created", dir.display()),
                        ));
                    }
                    Err(_) => up = dir.parent(),
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(bad(
            key,
            format!("a part of {shown} is a file, not a directory"),
        )),
        Err(e) => Err(bad(key, format!("cannot use {shown}: {e}"))),
    }
}

/// Whether a file can be created in `dir` (the permission bits don't tell for root, or on
/// a read-only mount).
fn writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".porchlight-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TWILIO_AUTH_TOKEN" => Some("twilio-secret-token".into()),
            "PORCHLIGHT_WEBHOOK_SECRET" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            "PORCHLIGHT_ADMIN_TOKEN" => Some("0123456789abcdef0123".into()),
            "GW_PASSWORD" => Some("gw-pass".into()),
            "GW_KEY" => Some("gw-signing-key".into()),
            _ => None,
        }
    }

    const FULL: &str = r#"
[server]
listen = "127.0.0.1:7878"
public_url = "https://porchlight.example.org"
admin_token_env = "PORCHLIGHT_ADMIN_TOKEN"

[storage]
path = "/var/lib/porchlight"

[village]
name = "Maple Street Village"
timezone = "America/New_York"
coordinators = ["coordinator-desk"]
daily_summary = "18:00"

[policy]
checkin = "09:00"
window = "2h"
reminders = ["30m", "60m"]
escalation = [
  { after = "0s",  notify = "buddies" },
  { after = "30m", notify = "family" },
  { after = "60m", notify = "coordinators" },
]

[channels.sms]
kind = "twilio"
base_url = "https://api.twilio.com"
account_sid = "AC123"
auth_token_env = "TWILIO_AUTH_TOKEN"
from = "+12025550100"

[channels.family-app]
kind = "webhook"
url = "https://example.org/hooks/porchlight"
secret_env = "PORCHLIGHT_WEBHOOK_SECRET"

[channels.phone]
kind = "android-sms-gateway"
base_url = "http://192.168.1.20:8080"
username = "sms"
password_env = "GW_PASSWORD"
signing_key_env = "GW_KEY"
"#;

    #[test]
    fn the_product_example_is_valid() {
        let c = Config::parse(FULL, None, &env).unwrap();
        assert_eq!(c.village.timezone, chrono_tz::America::New_York);
        assert_eq!(c.channels.len(), 3);
        assert!(matches!(c.channels["sms"], ChannelConfig::Twilio(_)));
        // Secrets never show in Debug.
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("twilio-secret-token")
                && !dbg.contains("MfKQ9r8")
                && !dbg.contains("gw-pass")
                && !dbg.contains("0123456789abcdef0123")
        );
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        let text = include_str!("../../../config/porchlight.toml");
        let c = Config::parse(text, None, &env).unwrap();
        assert_eq!(c.channels.len(), 3);
        assert_eq!(c.delivery.sms_daily_cap, Some(500));
        assert!(c.policy.quiet_hours.is_some());
    }

    #[test]
    fn defaults_with_a_short_token_are_an_error_not_a_panic() {
        let env = |k: &str| (k == "PORCHLIGHT_ADMIN_TOKEN").then(|| "short".to_string());
        let e = Config::defaults(&env).unwrap_err();
        assert!(e.contains("PORCHLIGHT_ADMIN_TOKEN"), "{e}");
        assert!(e.contains("16"), "{e}");
    }

    #[test]
    fn defaults_use_the_log_channel_on_loopback() {
        let c = Config::defaults(&|_| None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7878");
        assert!(matches!(c.channels["log"], ChannelConfig::Log));
        assert_eq!(c.data_dir, PathBuf::from("porchlight-data"));
        assert!(c.admin_token.is_none());
    }

    #[test]
    fn every_kind_of_mistake_names_its_key() {
        let cases = [
            ("checkin = \"09:00\"", "checkin = \"9am\"", "policy.checkin"),
            (
                "window = \"2h\"",
                "window = \"2 hours-ish\"",
                "policy.window",
            ),
            (
                "timezone = \"America/New_York\"",
                "timezone = \"Moon/Base\"",
                "village.timezone",
            ),
            (
                "from = \"+12025550100\"",
                "from = \"555\"",
                "channels.sms.from",
            ),
            (
                "kind = \"twilio\"",
                "kind = \"pigeon\"",
                "channels.sms.kind",
            ),
            (
                "auth_token_env = \"TWILIO_AUTH_TOKEN\"",
                "auth_token_env = \"MISSING_VAR\"",
                "channels.sms.auth_token_env",
            ),
            (
                "auth_token_env = \"TWILIO_AUTH_TOKEN\"",
                "auth_token_env = \"abc123-secret\"",
                "channels.sms.auth_token_env",
            ),
            (
                "listen = \"127.0.0.1:7878\"",
                "listen = \"localhost\"",
                "server.listen",
            ),
            (
                "notify = \"family\"",
                "notify = \"neighbours\"",
                "policy.escalation[1].notify",
            ),
            (
                "daily_summary = \"18:00\"",
                "daily_summary = \"6pm\"",
                "village.daily_summary",
            ),
            (
                "url = \"https://example.org/hooks/porchlight\"",
                "url = \"example.org\"",
                "channels.family-app.url",
            ),
            ("[storage]", "[storage]\ncolour = \"red\"", "colour"),
            (
                "username = \"sms\"",
                "username = \"sms\"\nextra = 1",
                "extra",
            ),
        ];
        for (from, to, key) in cases {
            assert!(FULL.contains(from), "{from}");
            let err = Config::parse(&FULL.replacen(from, to, 1), None, &env).unwrap_err();
            assert!(err.contains(key), "{to}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}
