//! Policy files: a `[policy]` table applied over each member's own policy.

use std::path::Path;

use porchlight_core::model::Policy;
use porchlight_server::config::{PolicyFile, toml_error};
use serde::Deserialize;

/// A policy file: a `[policy]` table, as in a scenario, applied over each member's own policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFileToml {
    /// Shown in the table (default: the file name without `.toml`).
    name: Option<String>,
    /// One line about the policy, for the reader of the file.
    #[allow(dead_code)]
    description: Option<String>,
    policy: PolicyFile,
}

/// A policy to compare.
pub(super) struct NamedPolicy {
    pub(super) name: String,
    pub(super) file: String,
    pub(super) policy: PolicyFile,
    /// What the policy does to the default member (for the levels' audiences).
    pub(super) example: Policy,
}

pub(super) fn load_policy(path: &Path) -> Result<NamedPolicy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let f: PolicyFileToml = toml::from_str(&text)
        .map_err(|e| format!("{}: {}", path.display(), toml_error(&text, &e)))?;
    let example = f
        .policy
        .apply("policy", &Policy::default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let stem = path
        .file_stem()
        .map_or_else(|| "policy".into(), |s| s.to_string_lossy().into_owned());
    Ok(NamedPolicy {
        name: f.name.unwrap_or(stem),
        file: path.display().to_string(),
        policy: f.policy,
        example,
    })
}
