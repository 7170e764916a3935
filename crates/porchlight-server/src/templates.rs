//! `[templates.en]` / `[templates.es]`: the operator's overrides of message texts, checked
//! when the config is loaded (unknown language, key or placeholder, a text that no longer fits
//! its SMS segments with 32-character names) and handed to the engine as data.

use std::collections::BTreeMap;

use porchlight_core::template::Templates;

use crate::config::{Invalid, bad};

/// Validates the `[templates.*]` tables into the engine's [`Templates`].
pub fn templates(
    file: &BTreeMap<String, BTreeMap<String, String>>,
    public_url: Option<&str>,
) -> Result<Templates, Invalid> {
    let mut t = Templates::default();
    for (lang, texts) in file {
        let slot = match lang.as_str() {
            "en" => &mut t.en,
            "es" => &mut t.es,
            other => {
                return Err(bad(
                    format!("templates.{other}"),
                    "unknown language (texts exist in en and es)",
                ));
            }
        };
        slot.extend(texts.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    t.check(public_url)
        .map_err(|e| bad(format!("templates.{}", e.key), e.reason))?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn env(name: &str) -> Option<String> {
        match name {
            "PORCHLIGHT_ADMIN_TOKEN" => Some("0123456789abcdef0123".into()),
            "TWILIO_AUTH_TOKEN" => Some("twilio-secret-token".into()),
            "PORCHLIGHT_WEBHOOK_SECRET" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            _ => None,
        }
    }

    #[test]
    fn the_example_configs_commented_overrides_are_valid() {
        let text = include_str!("../../../config/porchlight.toml")
            .replace("# [templates.", "[templates.")
            .replace("# prompt = ", "prompt = ");
        let c = Config::parse(&text, None, &env).unwrap();
        assert_eq!(c.village.templates.en.len(), 1);
        assert_eq!(c.village.templates.es.len(), 1);
        assert_eq!(
            c.village.daily_summary,
            chrono::NaiveTime::from_hms_opt(18, 0, 0)
        );
    }

    #[test]
    fn overrides_reach_the_village() {
        let c = Config::parse(
            "[templates.es]\nprompt = \"{greeting} {name}: 1 si bien, 2 si necesita ayuda.\"\n",
            None,
            &env,
        )
        .unwrap();
        assert_eq!(
            c.village.templates.es.get("prompt").map(String::as_str),
            Some("{greeting} {name}: 1 si bien, 2 si necesita ayuda.")
        );
    }

    #[test]
    fn bad_overrides_name_the_key() {
        for (text, key, why) in [
            (
                "[templates.fr]\nprompt = \"Bonjour\"\n",
                "templates.fr",
                "unknown language",
            ),
            (
                "[templates.en]\nhello = \"hi\"\n",
                "templates.en.hello",
                "unknown text key",
            ),
            (
                "[templates.en]\nreminder = \"{name}, {when}?\"\n",
                "templates.en.reminder",
                "unknown placeholder {when}",
            ),
            (
                "[server]\npublic_url = \"https://porchlight.example.org\"\n[templates.en]\nprompt = \"{greeting} {name}! Please reply 1 if you are OK today, or 2 if you need a hand from your neighbors, your family or the village desk.\"\n",
                "templates.en.prompt",
                "SMS segments",
            ),
        ] {
            let e = Config::parse(text, None, &env).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{key}: ")), "{e}");
            assert!(e.contains(why), "{e}");
        }
    }
}
