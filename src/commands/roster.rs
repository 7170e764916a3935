//! What the roster commands share: contact ways from flags, and JSON Merge Patch (RFC 7396)
//! bodies for `member edit` and `person edit`, where only the flags given change.

use serde_json::{Map, Value, json};

use crate::error::CliError;

/// Fields an edit may remove with `--clear FIELD`.
pub const CLEARABLE_MEMBER: &[&str] = &[
    "phone",
    "webhook",
    "timezone",
    "language",
    "contact",
    "checkin",
    "window",
    "reminders",
    "escalation",
    "quiet_hours",
    "claim_timeout",
    "buddy_wait",
    "circle",
    "buddies",
    "family",
    "away_until",
];

/// Person fields `person edit --clear` may remove.
pub const CLEARABLE_PERSON: &[&str] = &["phone", "webhook", "timezone", "language", "contact"];

/// Contact ways from `--contact sms,voice` and `--voice` (a landline: reached by a call).
pub fn contact_ways(contact: &[String], voice: bool) -> Option<Vec<String>> {
    let mut ways: Vec<String> = contact.iter().map(|w| w.trim().to_string()).collect();
    if voice && !ways.iter().any(|w| w == "voice") {
        ways.insert(0, "voice".into());
    }
    (!ways.is_empty()).then_some(ways)
}

/// Builds a merge-patch body: set fields, then `--clear` ones as `null`.
pub fn patch_body(
    set: Vec<(&str, Option<Value>)>,
    clear: &[String],
    clearable: &[&str],
) -> Result<Value, CliError> {
    let mut m = Map::new();
    for (k, v) in set {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    }
    for c in clear {
        let c = c.trim().replace('-', "_");
        if !clearable.contains(&c.as_str()) {
            return Err(CliError::usage(format!(
                "--clear {c:?}: not a field that can be removed (one of: {})",
                clearable.join(", ")
            )));
        }
        if m.contains_key(&c) {
            return Err(CliError::usage(format!(
                "--clear {c}: the same field is also being set"
            )));
        }
        m.insert(c, Value::Null);
    }
    if m.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give at least one flag (see --help)",
        ));
    }
    Ok(Value::Object(m))
}

/// A string option as a JSON value.
pub fn s(v: Option<String>) -> Option<Value> {
    v.map(Value::String)
}

/// A list option as a JSON array, when given.
pub fn list(v: Vec<String>) -> Option<Value> {
    (!v.is_empty()).then(|| json!(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_bodies_set_and_clear() {
        let v = patch_body(
            vec![("phone", s(Some("+12025550143".into()))), ("name", None)],
            &["quiet-hours".into()],
            CLEARABLE_MEMBER,
        )
        .unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(v, json!({"phone": "+12025550143", "quiet_hours": null}));
        assert!(patch_body(vec![], &[], CLEARABLE_MEMBER).is_err());
        assert!(patch_body(vec![], &["name".into()], CLEARABLE_MEMBER).is_err());
    }
}
