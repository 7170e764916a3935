//! Configuration (PRODUCT §3): what the operator wrote, validated into what the daemon runs.
//!
//! Every bad value is reported as `FILE: KEY: REASON`. Secrets are never in the file: it names
//! environment variables (`auth_token_env`, `secret_env`, ...) and the values are read from
//! the environment at start-up. `Debug` of anything holding a secret prints `<redacted>`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use porchlight_core::model::{Policy, Village};

mod channels;
mod file;
mod storage;
#[cfg(test)]
mod tests;
mod validate;

pub use channels::{ChannelConfig, Secret};
use file::File;
pub use storage::check_storage;
pub use validate::parse_tz;

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

impl std::error::Error for Invalid {}

/// An [`Invalid`] for a key.
pub fn bad(key: impl Into<String>, reason: impl Into<String>) -> Invalid {
    Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// `[policy]`, and each member's overrides of it: the roster's one policy input
/// (`porchlight_core::roster`), so config, scenarios, the API and the CSV share its rules.
pub use porchlight_core::roster::PolicyInput as PolicyFile;

impl From<porchlight_core::roster::RosterError> for Invalid {
    fn from(e: porchlight_core::roster::RosterError) -> Self {
        bad(e.key, e.message)
    }
}

/// Why a config was refused; its text is the one line the CLI prints.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML, or a key of the wrong type or unknown: `line N: message`, with the key in
    /// front when the message does not name it.
    #[error("{0}")]
    Syntax(String),
    /// A value that is not allowed: `KEY: REASON`.
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// An error in a file, said with the file's name in front.
    #[error("{}: {error}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// The error in it.
        error: Box<ConfigError>,
    },
}

impl ConfigError {
    /// The key at fault, when a value was refused.
    pub fn invalid(&self) -> Option<&Invalid> {
        match self {
            ConfigError::Invalid(i) => Some(i),
            ConfigError::InFile { error, .. } => error.invalid(),
            _ => None,
        }
    }
}

impl From<ConfigError> for String {
    fn from(e: ConfigError) -> String {
        e.to_string()
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
    pub fn defaults(env: Env<'_>) -> Result<Config, ConfigError> {
        let mut c = validate::validate(File::default(), None, env)?;
        let local = format!("http://{}", c.listen);
        c.village.public_url = Some(local);
        Ok(c)
    }

    /// Whether a configured channel can reach someone by `way`, or why not. Mirrors the
    /// dispatcher's router: the first SMS channel (`twilio`, `android-sms-gateway`) serves
    /// `sms`, the first `twilio-voice` serves `voice`, a person's own `webhook` channel serves
    /// `webhook` (that name is checked where it is given), and when `log` is the only kind
    /// configured it prints every message, so every way is served.
    pub fn serves(&self, way: porchlight_core::model::ContactWay) -> Result<(), String> {
        use porchlight_core::model::ContactWay;
        if self
            .channels
            .values()
            .all(|c| matches!(c, ChannelConfig::Log))
        {
            return Ok(());
        }
        let served = match way {
            ContactWay::Sms => self
                .channels
                .values()
                .any(|c| matches!(c, ChannelConfig::Twilio(_) | ChannelConfig::Android { .. })),
            ContactWay::Voice => self
                .channels
                .values()
                .any(|c| matches!(c, ChannelConfig::TwilioVoice(_))),
            ContactWay::Webhook => true,
        };
        if served {
            return Ok(());
        }
        Err(match way {
            ContactWay::Sms => {
                "no SMS channel is configured (kind = \"twilio\" or \"android-sms-gateway\")"
            }
            _ => "no voice channel is configured to call them (kind = \"twilio-voice\")",
        }
        .to_string())
    }

    /// Reads and validates a config file. Errors are one line: `FILE: KEY: REASON`.
    pub fn load(path: &Path, env: Env<'_>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, Some(path), env).map_err(|e| ConfigError::InFile {
            path: path.to_path_buf(),
            error: Box::new(e),
        })
    }

    /// Parses config text.
    pub fn parse(text: &str, source: Option<&Path>, env: Env<'_>) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text)
            .map_err(|e| ConfigError::Syntax(toml_error(text, &e)))?;
        let file: File = serde_path_to_error::deserialize(de).map_err(|e| {
            // toml names unknown keys itself; a type error names only a line, so the key it
            // was found under is put in front.
            let key = e.path().to_string();
            let msg = toml_error(text, e.inner());
            ConfigError::Syntax(if key == "." || msg.contains(&format!("`{key}`")) {
                msg
            } else {
                format!("{key}: {msg}")
            })
        })?;
        Ok(validate::validate(
            file,
            source.map(Path::to_path_buf),
            env,
        )?)
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
