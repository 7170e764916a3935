//! The config file as written: TOML read into these structs (unknown keys refused), before
//! any value is checked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::PolicyFile;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    #[serde(default)]
    pub(super) server: ServerFile,
    #[serde(default)]
    pub(super) storage: StorageFile,
    #[serde(default)]
    pub(super) village: VillageFile,
    #[serde(default)]
    pub(super) policy: PolicyFile,
    #[serde(default)]
    pub(super) delivery: DeliveryFile,
    #[serde(default)]
    pub(super) channels: BTreeMap<String, toml::Table>,
    #[serde(default)]
    pub(super) templates: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerFile {
    pub(super) listen: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) admin_token_env: Option<String>,
    pub(super) heartbeat_url: Option<String>,
    pub(super) log_format: Option<String>,
    /// Listening beyond loopback is refused unless this says TLS is in front.
    pub(super) tls_in_front: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StorageFile {
    pub(super) path: Option<PathBuf>,
    pub(super) backup_dir: Option<PathBuf>,
    pub(super) backup_keep: Option<i64>,
    pub(super) backup_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VillageFile {
    pub(super) name: Option<String>,
    pub(super) timezone: Option<String>,
    #[serde(default)]
    pub(super) coordinators: Vec<String>,
    pub(super) daily_summary: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveryFile {
    pub(super) sms_daily_cap: Option<u32>,
    pub(super) concurrency: Option<usize>,
    pub(super) timeout: Option<String>,
    pub(super) max_attempts: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TwilioFile {
    pub(super) base_url: Option<String>,
    pub(super) account_sid: String,
    pub(super) auth_token_env: String,
    pub(super) from: Option<String>,
    pub(super) messaging_service_sid: Option<String>,
    pub(super) status_callback: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookFile {
    pub(super) url: String,
    pub(super) secret_env: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AndroidFile {
    pub(super) base_url: String,
    pub(super) username: String,
    pub(super) password_env: String,
    pub(super) signing_key_env: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogFile {}
