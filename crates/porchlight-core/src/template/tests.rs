//! Unit tests of [`super`].

use super::*;

fn t(lang: &str, key: &str, text: &str) -> Templates {
    let mut t = Templates::default();
    let map = if lang == "es" { &mut t.es } else { &mut t.en };
    map.insert(key.to_string(), text.to_string());
    t
}

#[test]
fn parses_placeholders_and_escapes() {
    assert_eq!(
        parse("Hi {name}, {{x}} ok").unwrap(),
        vec![
            Piece::Text("Hi ".into()),
            Piece::Slot("name"),
            Piece::Text(", {x} ok".into()),
        ]
    );
    assert!(parse("Hi {name").is_err());
    assert!(parse("Hi name}").is_err());
    assert!(parse("Hi {}").is_err());
    assert!(parse("Hi {Name}").is_err());
    assert_eq!(
        fill("{greeting} {name}!", &|n| Some(n.to_uppercase())),
        "GREETING NAME!"
    );
}

#[test]
fn every_key_of_every_message_is_listed() {
    for key in [
        "prompt",
        "buddy_alert_not_confirmed",
        "help_alert_no_answer",
        "all_clear_closed",
    ] {
        assert!(key_info(key).is_some(), "{key}");
    }
    for k in KEYS {
        if !k.key.starts_with("daily_summary") {
            assert!(sample_message(k.key).is_some(), "{}", k.key);
        }
    }
}

#[test]
fn built_in_texts_pass_their_own_check() {
    // No overrides: nothing to refuse. A reworded prompt of the same length is accepted.
    let v = Templates::default();
    assert!(v.check(Some("https://porchlight.example.org")).is_ok());
    let ok = t(
        "en",
        "prompt",
        "{greeting} {name}! Please reply 1 if all is well, 2 if you need a hand.",
    );
    assert_eq!(ok.check(Some("https://porchlight.example.org")), Ok(()));
}

#[test]
fn unknown_keys_and_placeholders_are_refused_with_the_key() {
    let e = t("en", "prompt_x", "hi").check(None).unwrap_err();
    assert_eq!(e.key, "en.prompt_x");
    assert!(e.reason.contains("unknown text key"), "{}", e.reason);
    let e = t("es", "reminder", "{name} {member}")
        .check(None)
        .unwrap_err();
    assert_eq!(e.key, "es.reminder");
    assert!(e.reason.contains("{member}"), "{}", e.reason);
    assert!(e.reason.contains("{name}"), "{}", e.reason);
    let e = t("en", "back_ack", "Welcome {name")
        .check(None)
        .unwrap_err();
    assert_eq!(e.key, "en.back_ack");
}

#[test]
fn a_text_too_long_with_32_character_names_is_refused() {
    // 100 characters of text + a 32-character name + a link: over 160.
    let long = format!("{{name}}, {}", "x".repeat(100));
    let e = t("en", "reminder", &long)
        .check(Some("https://porchlight.example.org"))
        .unwrap_err();
    assert_eq!(e.key, "en.reminder");
    assert!(e.reason.contains("2 SMS segments"), "{}", e.reason);
    // The same without a link fits (100 + 2 + 32 = 134).
    assert!(t("en", "reminder", &long).check(None).is_ok());
    // Not GSM-7.
    let e = t("es", "back_ack", "Bienvenido, {name}! Volvió.")
        .check(None)
        .unwrap_err();
    assert!(e.reason.contains("GSM-7"), "{}", e.reason);
}

#[test]
fn an_override_changes_the_rendered_text() {
    let tpl = t("es", "prompt", "{greeting}, {name}: 1 = bien, 2 = ayuda.");
    let v = Vars {
        name: "Rosa",
        part: crate::text::DayPart::Morning,
        ..Vars::default()
    };
    assert_eq!(
        crate::text::render_with(&tpl, MessageKind::Prompt, Language::Es, &v),
        "Buenos dias, Rosa: 1 = bien, 2 = ayuda."
    );
    // English is untouched.
    assert_eq!(
        crate::text::render_with(&tpl, MessageKind::Prompt, Language::En, &v),
        crate::text::render(MessageKind::Prompt, Language::En, &v)
    );
}
