//! The fuzz harness: one function per cargo-fuzz target in `fuzz/`, shared with the corpus
//! replay test (`tests/fuzz_corpus.rs`) that runs every committed corpus file through the same
//! code on stable. Each function takes arbitrary bytes and must not panic; where a property
//! holds for every input (a signature verifies over what it signed, an exported cell imports
//! unchanged) it is asserted too. Not an API: hidden from the docs.

use chrono::NaiveDate;
use porchlight_core::model::Language;
use porchlight_core::reply::Role;

use crate::config::Config;
use crate::inbound::{
    android_signature, normalize_phone, read_gateway, twilio_signature, twilio_valid,
};

const ROLES: [Role; 5] = [
    Role::Member,
    Role::Buddy,
    Role::Family,
    Role::Coordinator,
    Role::Unknown,
];

/// People a reply may name (`read_about`, `names_in`), with a shared first name and accents.
const CANDIDATES: [(&str, &str); 4] = [
    ("walt", "Walt Kowalski"),
    ("betty", "Betty Smith"),
    ("betty-j", "Betty Jones"),
    ("jose", "José Núñez"),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Reads `text` as every role would, on a few days (a month's end, a leap day, the year's
/// end, for "away 3" and "back on the 31st"), and what it says about named people.
fn read_reply(text: &str) {
    let days = [
        NaiveDate::from_ymd_opt(2026, 1, 31),
        NaiveDate::from_ymd_opt(2028, 2, 29),
        NaiveDate::from_ymd_opt(2026, 12, 31),
    ];
    for today in days.into_iter().flatten() {
        for role in ROLES {
            let r = porchlight_core::interpret::interpret(role, text, today);
            let _ = (r.is_distress(), r.explain());
            let _ = porchlight_core::interpret::meaning_label(&r.reply);
            assert_eq!(porchlight_core::reply::parse(role, text, today), r.reply);
            for (_, about) in porchlight_core::interpret::read_about(role, text, today, &CANDIDATES)
            {
                let _ = about.explain();
            }
        }
    }
    let _ = porchlight_core::interpret::names_in(text, &CANDIDATES);
}

/// Target `reply`: the reply interpreter (PRODUCT §5) on any text, English or Spanish.
pub fn reply(data: &[u8]) {
    read_reply(&text(data));
}

/// A fake environment: the secrets a config names are all set, so validation goes past them.
fn fake_env(name: &str) -> Option<String> {
    match name {
        "PORCHLIGHT_WEBHOOK_SECRET" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        "UNSET" => None,
        other => Some(format!("fuzz-{other}-0123456789abcdef")),
    }
}

/// Target `config`: [`Config::parse`] on any text, with a fake environment. A bad config is
/// an `Err` with a message, never a panic; an error is one line, as the CLI prints it.
pub fn config(data: &[u8]) {
    let text = text(data);
    if let Err(e) = Config::parse(&text, None, &fake_env) {
        assert!(!e.to_string().is_empty(), "an empty config error");
    }
}

/// Target `csv_import`: the roster CSV import's reading of rows (`POST /api/v1/import`
/// without the store) and the export's formula neutralisation round trip.
pub fn csv_import(data: &[u8]) {
    crate::api::fuzz_import(data);
}

/// Target `twilio_form`: a Twilio webhook, as `URL \n form-body`. The form is read as the
/// handler reads it, its signature computed and checked (it must verify over the URL it was
/// made for, and a wrong one must not), its `From` normalised, its `Body` interpreted, and
/// the voice TwiML built from it.
pub fn twilio_form(data: &[u8]) {
    let (url, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (text(&data[..i]), &data[i + 1..]),
        None => ("https://porch.example.org/sms/twilio".to_string(), data),
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let sig = twilio_signature("fuzz-auth-token", &url, &params);
    assert!(twilio_valid(
        &["other-token", "fuzz-auth-token"],
        &url,
        &params,
        &sig
    ));
    assert!(!twilio_valid(&["other-token"], &url, &params, &sig));
    assert!(!twilio_valid(&["fuzz-auth-token"], &url, &params, ""));
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(from) = param("From") {
        let _ = normalize_phone(from);
    }
    let said = param("Body").or(param("Digits")).unwrap_or("");
    read_reply(said);
    for lang in [Language::En, Language::Es] {
        // Whatever was said and wherever it goes, no markup gets in: as many tags as empty.
        let xml = porchlight_notify::twilio::call_twiml(said, lang, &url);
        let empty = porchlight_notify::twilio::call_twiml("", lang, "");
        assert_eq!(
            xml.matches('<').count(),
            empty.matches('<').count(),
            "markup got in"
        );
    }
}

/// Target `android_json`: an Android gateway webhook body. Signed and read as the handler
/// does; an `sms:received` has its sender normalised and its text interpreted.
pub fn android_json(data: &[u8]) {
    let sig = android_signature("fuzz-key", data, "1700000000");
    assert_eq!(sig.len(), 64);
    assert_ne!(sig, android_signature("fuzz-key", data, "1700000001"));
    match read_gateway(data) {
        Ok(Some((from, message, id))) => {
            assert!(id.is_none_or(|i| i.starts_with("android:") && i.len() > "android:".len()));
            let _ = from;
            read_reply(&message);
        }
        Ok(None) => {}
        Err((status, msg)) => {
            assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
            assert!(!msg.is_empty());
        }
    }
}
