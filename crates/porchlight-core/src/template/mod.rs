//! Operator overrides of message texts (`[templates.en]` / `[templates.es]` in the config).
//!
//! A template is plain text with named placeholders in braces: `{name}`, `{member}`, ...
//! (`{{` and `}}` stand for literal braces). Each message text has a key ([`KEYS`]) and the
//! placeholders it may use. Overrides are checked once, when the config is loaded
//! ([`Templates::check`]): an unknown key, an unknown placeholder, or a text that would take
//! more SMS segments than one (or than the built-in text takes) with 32-character names is
//! refused with the key named. The daemon passes the checked templates into the engine as
//! data (in [`crate::model::Village`]); nothing here reads files or the clock.
//!
//! Why hand-written rather than a template crate: the texts need nothing but named
//! substitution — no loops, conditionals or HTML escaping (which crates such as
//! `tinytemplate` or `handlebars` add, with `{{ }}` syntax that costs two GSM-7 units per
//! brace) — and the checker must list a template's placeholders to refuse unknown ones, which
//! a ~50-line parser with its own tests does exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Language;
use crate::text::{MessageKind, Vars, What, segments};

/// One overridable text: its key, the placeholders it may use, and what it is.
#[derive(Clone, Copy, Debug)]
pub struct KeyInfo {
    /// The key under `[templates.LANG]`.
    pub key: &'static str,
    /// Placeholders the text may use.
    pub placeholders: &'static [&'static str],
    /// What the text is for (README and error messages).
    pub about: &'static str,
}

const fn k(
    key: &'static str,
    placeholders: &'static [&'static str],
    about: &'static str,
) -> KeyInfo {
    KeyInfo {
        key,
        placeholders,
        about,
    }
}

/// Every overridable text, in the order the README lists them.
pub const KEYS: &[KeyInfo] = &[
    k("prompt", &["greeting", "name"], "the daily check-in prompt"),
    k("reminder", &["name"], "a re-sent prompt"),
    k(
        "check_on",
        &["name", "member"],
        "asking a buddy or circle partner to see or call the member",
    ),
    k(
        "check_on_reminder",
        &["name", "member"],
        "reminder of a check-on request",
    ),
    k(
        "roll_call",
        &["name", "reason"],
        "a roll call prompt; {reason} is the coordinator's note (\"heat advisory\"), often empty",
    ),
    k(
        "buddy_alert",
        &["name", "member"],
        "alert to a buddy: the member has not answered",
    ),
    k(
        "buddy_alert_not_confirmed",
        &["name", "member"],
        "alert to a buddy: nobody confirmed the member (checked by a buddy or circle)",
    ),
    k(
        "alert",
        &["name", "member", "member_full", "time"],
        "alert to family or coordinators: the member has not answered",
    ),
    k(
        "alert_not_confirmed",
        &["name", "member", "member_full", "time"],
        "alert to family or coordinators: nobody confirmed the member",
    ),
    k(
        "help_alert",
        &["name", "member", "member_full", "time"],
        "URGENT: the member asked for help",
    ),
    k(
        "help_alert_says",
        &["name", "who", "member", "member_full", "time"],
        "URGENT: someone says the member needs help",
    ),
    k(
        "help_alert_no_answer",
        &["name", "who", "member", "member_full"],
        "URGENT: someone got no answer at the member's door",
    ),
    k(
        "help_ack",
        &["name"],
        "reassurance to a member who asked for help",
    ),
    k(
        "all_clear",
        &["member", "member_full"],
        "all-clear: the member answered",
    ),
    k(
        "all_clear_by",
        &["member", "member_full", "who"],
        "all-clear: someone confirmed the member",
    ),
    k(
        "all_clear_removed",
        &["member", "member_full", "reason"],
        "closing notice: the member was removed",
    ),
    k(
        "all_clear_closed",
        &["member", "member_full", "who", "reason"],
        "closing notice: a coordinator closed the alert with a reason",
    ),
    k(
        "exhausted",
        &["member", "member_full", "time"],
        "to coordinators: every contact tried, nobody confirmed",
    ),
    k(
        "opted_out",
        &["member", "member_full"],
        "to coordinators: the member texted STOP",
    ),
    k(
        "skipped",
        &["count", "names"],
        "to coordinators: check-ins skipped while Porchlight was down",
    ),
    k(
        "claim_expired",
        &["name", "member"],
        "to a buddy whose \"on my way\" lapsed",
    ),
    k(
        "claim_taken",
        &["name", "who", "member"],
        "to a buddy who said \"on my way\" after another buddy ({who}) already had",
    ),
    k("away_ack", &["name", "date"], "acknowledging an away text"),
    k("back_ack", &["name"], "acknowledging a back text"),
    k(
        "delivery_failed",
        &["who", "member_full", "reason"],
        "to coordinators: a message could not be delivered",
    ),
    k(
        "budget_warning",
        &["percent"],
        "to coordinators: the day's SMS budget is nearly used",
    ),
    k(
        "which_member",
        &["name", "names", "member"],
        "asking which member a reply is about",
    ),
    k(
        "daily_summary",
        &[
            "village",
            "date",
            "answered",
            "missed",
            "help",
            "away",
            "not_reached",
            "attention",
        ],
        "the coordinators' daily summary",
    ),
    k(
        "daily_summary_attention",
        &["count", "names"],
        "the daily summary's list of members needing attention ({attention})",
    ),
    k(
        "daily_summary_all_well",
        &[],
        "the daily summary's {attention} when nobody needs attention",
    ),
    k(
        "daily_summary_late",
        &["text"],
        "a daily summary sent late because Porchlight was down at its time",
    ),
];

/// The key info of a key.
pub fn key_info(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.key == key)
}

/// The template key of a message, by its kind and what happened.
pub fn key_of(kind: MessageKind, what: What, who_empty: bool) -> &'static str {
    use MessageKind::*;
    match kind {
        Prompt => "prompt",
        Reminder => "reminder",
        CheckOn => "check_on",
        CheckOnReminder => "check_on_reminder",
        RollCall => "roll_call",
        BuddyAlert if what == What::NotConfirmed => "buddy_alert_not_confirmed",
        BuddyAlert => "buddy_alert",
        Alert if what == What::NotConfirmed => "alert_not_confirmed",
        Alert => "alert",
        HelpAlert => match what {
            What::NoAnswerAtDoor => "help_alert_no_answer",
            What::SaysNeedsHelp => "help_alert_says",
            _ => "help_alert",
        },
        HelpAck => "help_ack",
        AllClear => match (what, who_empty) {
            (What::Removed, _) => "all_clear_removed",
            (What::Closed, _) => "all_clear_closed",
            (_, true) => "all_clear",
            (_, false) => "all_clear_by",
        },
        Exhausted => "exhausted",
        OptedOut => "opted_out",
        Skipped => "skipped",
        ClaimExpired => "claim_expired",
        ClaimTaken => "claim_taken",
        AwayAck => "away_ack",
        BackAck => "back_ack",
        DeliveryFailed => "delivery_failed",
        BudgetWarning => "budget_warning",
        WhichMember => "which_member",
        DailySummary => "daily_summary",
    }
}

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Literal text (braces already unescaped).
    Text(String),
    /// A `{placeholder}`.
    Slot(&'a str),
}

/// Parses a template into text and placeholders. `{{` / `}}` are literal braces; a lone `}`
/// or an unclosed `{` is an error, as is a placeholder that is not a lowercase word.
pub fn parse(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        text.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            text.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            text.push('}');
            rest = after;
        } else if tail.starts_with('}') {
            return Err("a lone \"}\" (write \"}}\" for a literal brace)".into());
        } else {
            let Some(end) = tail.find('}') else {
                return Err("a \"{\" is never closed (write \"{{\" for a literal brace)".into());
            };
            let name = &tail[1..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return Err(format!(
                    "\"{{{name}}}\" is not a placeholder (placeholders are lowercase words, e.g. {{name}})"
                ));
            }
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Slot(name));
            rest = &tail[end + 1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Fills a template's placeholders. Unknown placeholders (which a checked template never
/// has) are left empty. An unparsable template (never checked) is returned as it is.
pub fn fill(template: &str, value: &dyn Fn(&str) -> Option<String>) -> String {
    match parse(template) {
        Ok(pieces) => {
            let mut s = String::with_capacity(template.len() + 32);
            for p in pieces {
                match p {
                    Piece::Text(t) => s.push_str(&t),
                    Piece::Slot(name) => s.push_str(&value(name).unwrap_or_default()),
                }
            }
            s
        }
        Err(_) => template.to_string(),
    }
}

/// The value of a message placeholder from the values the engine passes.
pub fn message_value(name: &str, lang: Language, v: &Vars<'_>) -> Option<String> {
    Some(match name {
        "name" => v.name.to_string(),
        // Notices about someone who is not a member carry only the full name.
        "member" if v.member.is_empty() => v
            .member_full
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        "member" => v.member.to_string(),
        "member_full" => v.member_full.to_string(),
        "who" => v.who.to_string(),
        "time" | "date" | "count" => v.when.to_string(),
        "reason" | "names" | "percent" => v.detail.to_string(),
        "greeting" => crate::text::greeting(lang, v.part).to_string(),
        _ => return None,
    })
}

/// Overrides of message texts, per language: key → template. Empty: the built-in texts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Templates {
    /// English overrides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub en: BTreeMap<String, String>,
    /// Spanish overrides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub es: BTreeMap<String, String>,
}

/// A refused override: the key (`en.prompt`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// `LANG.KEY`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// The length of names used to check that an override still fits: 32 characters.
pub const CHECK_NAME_LEN: usize = 32;

impl Templates {
    /// Whether there are no overrides.
    pub fn is_empty(&self) -> bool {
        self.en.is_empty() && self.es.is_empty()
    }

    /// The override of a key in a language.
    pub fn get(&self, lang: Language, key: &str) -> Option<&str> {
        match lang {
            Language::En => self.en.get(key),
            Language::Es => self.es.get(key),
        }
        .map(String::as_str)
    }

    /// Checks every override: known key, known placeholders, and that with 32-character names
    /// (and a reply link under `public_url` where the message carries one) it takes no more
    /// SMS segments than one, or than the built-in text takes with the same values.
    pub fn check(&self, public_url: Option<&str>) -> Result<(), TemplateError> {
        for (lang, map, code) in [
            (Language::En, &self.en, "en"),
            (Language::Es, &self.es, "es"),
        ] {
            for (key, template) in map {
                let err = |reason: String| TemplateError {
                    key: format!("{code}.{key}"),
                    reason,
                };
                let Some(info) = key_info(key) else {
                    return Err(err(format!(
                        "unknown text key (known: {})",
                        KEYS.iter().map(|k| k.key).collect::<Vec<_>>().join(", ")
                    )));
                };
                let pieces = parse(template).map_err(err)?;
                for p in &pieces {
                    if let Piece::Slot(name) = p {
                        if !info.placeholders.contains(name) {
                            return Err(err(format!(
                                "unknown placeholder {{{name}}} (this text may use: {})",
                                if info.placeholders.is_empty() {
                                    "none".to_string()
                                } else {
                                    info.placeholders
                                        .iter()
                                        .map(|p| format!("{{{p}}}"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                }
                            )));
                        }
                    }
                }
                if template.trim().is_empty() {
                    return Err(err("is empty".into()));
                }
                if let Some(c) = template
                    .chars()
                    .find(|c| segments(&c.to_string()).0 != crate::text::Encoding::Gsm7)
                {
                    return Err(err(format!(
                        "{c:?} is not in the GSM-7 alphabet: the text would be sent as UCS-2, 70 characters a segment (write it without, e.g. a for á)"
                    )));
                }
                let (mine, builtin) = sample_pair(self, lang, key, public_url);
                let (_, units, parts) = segments(&mine);
                let (_, _, limit) = segments(&builtin);
                let limit = limit.max(1);
                if parts > limit {
                    return Err(err(format!(
                        "with {CHECK_NAME_LEN}-character names it is {units} GSM-7 characters, {parts} SMS segments; it must fit {} (shorten it): {mine:?}",
                        if limit == 1 {
                            "one (160 characters)".to_string()
                        } else {
                            format!("{limit}, as the built-in text does")
                        }
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The override and the built-in text of a key rendered with 32-character names and the
/// longest values the engine passes, for the segment check.
fn sample_pair(
    templates: &Templates,
    lang: Language,
    key: &str,
    public_url: Option<&str>,
) -> (String, String) {
    let long = "Abcdefghij Klmnopqrst Uvwxyzabcd";
    debug_assert_eq!(long.len(), CHECK_NAME_LEN);
    if key.starts_with("daily_summary") {
        return crate::summary::sample_pair(templates, lang, key, long);
    }
    let Some((kind, what, who)) = sample_message(key) else {
        return (String::new(), String::new());
    };
    let detail = match kind {
        // The longest reason the engine passes on (40 characters).
        MessageKind::AllClear => "taken to St Mary's, her daughter is with",
        MessageKind::DeliveryFailed => "HELP alert: permanent failure on sms",
        MessageKind::BudgetWarning => "100%",
        MessageKind::WhichMember => "Abcdefghij, Klmnopqrst or Uvwxyzabcd",
        MessageKind::Skipped => "Abcdefghij Klmnopqrst Uvwxyzabcd and 7 more",
        // The longest roll-call note the API and desk accept is 120 characters; a typical one.
        MessageKind::RollCall => "heat advisory",
        _ => "",
    };
    let when = match kind {
        MessageKind::AwayAck => "Dec 24",
        MessageKind::Skipped => "12",
        _ => "09:00",
    };
    let v = Vars {
        name: long,
        member: long,
        member_full: long,
        when,
        who: if who { long } else { "" },
        detail,
        link: "",
        what,
        part: crate::text::DayPart::Afternoon,
    };
    let link = match (public_url, carries_link(kind)) {
        (Some(base), true) => format!(" {}/r/AbCdEfGhIjKlMnOpQrStUv", base.trim_end_matches('/')),
        _ => String::new(),
    };
    let mine = crate::text::render_with(templates, kind, lang, &v) + &link;
    let builtin = crate::text::render(kind, lang, &v) + &link;
    (mine, builtin)
}

/// Messages that carry a reply link (those the recipient answers).
fn carries_link(kind: MessageKind) -> bool {
    use MessageKind::*;
    matches!(
        kind,
        Prompt
            | Reminder
            | CheckOn
            | CheckOnReminder
            | RollCall
            | BuddyAlert
            | Alert
            | HelpAlert
            | Exhausted
            | ClaimExpired
            | ClaimTaken
    )
}

/// A message kind, what happened, and whether `who` is set, for each message key.
fn sample_message(key: &str) -> Option<(MessageKind, What, bool)> {
    use MessageKind::*;
    Some(match key {
        "prompt" => (Prompt, What::NotAnswered, false),
        "reminder" => (Reminder, What::NotAnswered, false),
        "check_on" => (CheckOn, What::NotAnswered, false),
        "check_on_reminder" => (CheckOnReminder, What::NotAnswered, false),
        "roll_call" => (RollCall, What::NotAnswered, false),
        "buddy_alert" => (BuddyAlert, What::NotAnswered, false),
        "buddy_alert_not_confirmed" => (BuddyAlert, What::NotConfirmed, false),
        "alert" => (Alert, What::NotAnswered, false),
        "alert_not_confirmed" => (Alert, What::NotConfirmed, false),
        "help_alert" => (HelpAlert, What::AskedForHelp, false),
        "help_alert_says" => (HelpAlert, What::SaysNeedsHelp, true),
        "help_alert_no_answer" => (HelpAlert, What::NoAnswerAtDoor, true),
        "help_ack" => (HelpAck, What::NotAnswered, false),
        "all_clear" => (AllClear, What::NotAnswered, false),
        "all_clear_by" => (AllClear, What::NotAnswered, true),
        "all_clear_removed" => (AllClear, What::Removed, true),
        "all_clear_closed" => (AllClear, What::Closed, true),
        "exhausted" => (Exhausted, What::NotAnswered, false),
        "opted_out" => (OptedOut, What::NotAnswered, false),
        "skipped" => (Skipped, What::NotAnswered, false),
        "claim_expired" => (ClaimExpired, What::NotAnswered, false),
        "claim_taken" => (ClaimTaken, What::NotAnswered, true),
        "away_ack" => (AwayAck, What::NotAnswered, false),
        "back_ack" => (BackAck, What::NotAnswered, false),
        "delivery_failed" => (DeliveryFailed, What::NotAnswered, true),
        "budget_warning" => (BudgetWarning, What::NotAnswered, false),
        "which_member" => (WhichMember, What::NotAnswered, false),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
