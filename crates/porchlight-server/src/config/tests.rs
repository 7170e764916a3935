//! The config's validation: examples that must pass, and every kind of mistake naming its key.

use std::path::{Path, PathBuf};

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
    let text = include_str!("../../../../config/porchlight.toml");
    let c = Config::parse(text, None, &env).unwrap();
    assert_eq!(c.channels.len(), 3);
    assert_eq!(c.delivery.sms_daily_cap, Some(500));
    assert!(c.policy.quiet_hours.is_some());
}

#[test]
fn defaults_with_a_short_token_are_an_error_not_a_panic() {
    let env = |k: &str| (k == "PORCHLIGHT_ADMIN_TOKEN").then(|| "short".to_string());
    let e = Config::defaults(&env).unwrap_err().to_string();
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
        let err = Config::parse(&FULL.replacen(from, to, 1), None, &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{to}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn errors_are_typed_and_say_where() {
    let missing = Path::new("/nonexistent/porchlight.toml");
    let e = Config::load(missing, &env).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/porchlight.toml: cannot read: "),
        "{e}"
    );
    let e = Config::parse("[server\n", None, &env).unwrap_err();
    assert!(matches!(e, ConfigError::Syntax(_)), "{e:?}");
    assert!(e.to_string().starts_with("line 1: "), "{e}");
    assert!(e.invalid().is_none());
    let e = Config::parse("[delivery]\nconcurrency = 0\n", None, &env).unwrap_err();
    let invalid = e.invalid().expect("a value refused");
    assert_eq!(invalid.key, "delivery.concurrency");
    assert_eq!(e.to_string(), "delivery.concurrency: must be at least 1");
}

#[test]
fn contact_ways_are_served_as_the_router_serves_them() {
    use porchlight_core::model::ContactWay::{Sms, Voice, Webhook};
    // The full example: Twilio SMS, a webhook, an Android gateway; no voice channel.
    let c = Config::parse(FULL, None, &env).unwrap();
    assert!(c.serves(Sms).is_ok() && c.serves(Webhook).is_ok());
    let e = c.serves(Voice).unwrap_err();
    assert!(e.contains("twilio-voice"), "{e}");
    // Only webhooks: neither SMS nor voice.
    let hooks = "[channels.family-app]\nkind = \"webhook\"\nurl = \"https://example.org/h\"\nsecret_env = \"PORCHLIGHT_WEBHOOK_SECRET\"\n";
    let c = Config::parse(hooks, None, &env).unwrap();
    assert!(c.serves(Sms).unwrap_err().contains("twilio"));
    assert!(c.serves(Voice).is_err());
    // The log channel alone prints every message: every way is served.
    let c = Config::defaults(&|_| None).unwrap();
    for w in [Sms, Voice, Webhook] {
        assert!(c.serves(w).is_ok());
    }
}
