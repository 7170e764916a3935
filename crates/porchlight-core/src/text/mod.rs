//! Message texts in English and Spanish, and SMS segment arithmetic.
//!
//! Texts are written to fit one SMS segment (160 GSM-7 characters) with ordinary names and a
//! reply link. Spanish texts avoid á/í/ó/ú, which are not in GSM-7 and would shrink a segment
//! to 70 characters. Prompts advertise `2`, never HELP: carriers reserve HELP for themselves.

use serde::{Deserialize, Serialize};

use crate::model::Language;

mod pages;

pub use pages::{
    LinkChoice, LinkPageStrings, VoiceLine, link_page_choices, link_page_strings, voice_language,
    voice_prompt,
};

/// What a message is for; also the key of its template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// The daily check-in prompt to the member.
    Prompt,
    /// A re-sent prompt.
    Reminder,
    /// Asking a buddy or circle partner to check on the member today.
    CheckOn,
    /// Reminder of a check-on request.
    CheckOnReminder,
    /// A roll call prompt (storm, heat wave, fire).
    RollCall,
    /// Alert to a buddy: go knock on the door.
    BuddyAlert,
    /// Alert to family or coordinators: the member has not answered.
    Alert,
    /// Alert: the member asked for help.
    HelpAlert,
    /// Reassurance to a member who asked for help.
    HelpAck,
    /// All clear to everyone who was alerted.
    AllClear,
    /// To coordinators: nobody has confirmed the member is OK and the chain ran out.
    Exhausted,
    /// To coordinators: a member texted STOP.
    OptedOut,
    /// To coordinators: check-ins were skipped while the service was down.
    Skipped,
    /// To a buddy: their claim is over, escalation goes on.
    ClaimExpired,
    /// To a buddy who said "on my way" after another buddy already had: who is going.
    ClaimTaken,
    /// Acknowledging an away / back text.
    AwayAck,
    /// Acknowledging "back".
    BackAck,
    /// To coordinators: a message could not be delivered by any way.
    DeliveryFailed,
    /// To coordinators: the day's SMS budget is nearly or fully used.
    BudgetWarning,
    /// To someone holding several open requests who answered without naming the member:
    /// which one do you mean? (`detail` lists the names.)
    WhichMember,
    /// To coordinators: the day's summary (the text is made by [`crate::summary`] and passed
    /// in `detail`).
    DailySummary,
}

/// What happened to the member, as an alert or all-clear says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum What {
    /// The member was asked and has not answered.
    #[default]
    NotAnswered,
    /// A buddy or circle partner was asked to check on the member and nobody confirmed.
    NotConfirmed,
    /// The member asked for help.
    AskedForHelp,
    /// Someone (`who`) says the member needs help.
    SaysNeedsHelp,
    /// Someone (`who`) could not get an answer at the member's door.
    NoAnswerAtDoor,
    /// All-clear: the alert was closed because the member was removed (`who`, `detail`).
    Removed,
    /// All-clear: a coordinator (`who`) closed the alert for a reason (`detail`), which the
    /// message says instead of "is OK" (the member may be in hospital, not fine).
    Closed,
}

/// The part of the day, for a greeting that fits the local time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayPart {
    /// 05:00-11:59.
    #[default]
    Morning,
    /// 12:00-17:59.
    Afternoon,
    /// 18:00-21:59.
    Evening,
    /// 22:00-04:59.
    Night,
}

impl DayPart {
    /// The part of the day of a local hour (0-23).
    pub fn of_hour(hour: u32) -> DayPart {
        match hour {
            5..=11 => DayPart::Morning,
            12..=17 => DayPart::Afternoon,
            18..=21 => DayPart::Evening,
            _ => DayPart::Night,
        }
    }
}

/// A greeting for the part of the day: "Good morning" / "Buenos dias", ..., "Hello" / "Hola".
pub fn greeting(lang: Language, part: DayPart) -> &'static str {
    match (lang, part) {
        (Language::En, DayPart::Morning) => "Good morning",
        (Language::En, DayPart::Afternoon) => "Good afternoon",
        (Language::En, DayPart::Evening) => "Good evening",
        (Language::En, DayPart::Night) => "Hello",
        (Language::Es, DayPart::Morning) => "Buenos dias",
        (Language::Es, DayPart::Afternoon) => "Buenas tardes",
        (Language::Es, DayPart::Evening) => "Buenas noches",
        (Language::Es, DayPart::Night) => "Hola",
    }
}

/// Names as a person lists them: "Walt", "Walt or Betty", "Walt, Betty or Ann" ("o" in Spanish).
pub fn or_list(lang: Language, names: &[&str]) -> String {
    let or = match lang {
        Language::En => " or ",
        Language::Es => " o ",
    };
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{}{or}{last}", rest.join(", ")),
    }
}

/// Values a template may use.
#[derive(Clone, Debug, Default)]
pub struct Vars<'a> {
    /// Recipient's first name.
    pub name: &'a str,
    /// The member the message is about (first name).
    pub member: &'a str,
    /// The member's full name (for coordinators).
    pub member_full: &'a str,
    /// A local time or date, pre-formatted.
    pub when: &'a str,
    /// Who did something (a buddy's first name).
    pub who: &'a str,
    /// Free text (a summary, a list).
    pub detail: &'a str,
    /// Reply link, or empty.
    pub link: &'a str,
    /// What happened (alerts and all-clears).
    pub what: What,
    /// The part of the recipient's day (greetings).
    pub part: DayPart,
}

/// Renders a message in a language, with the operator's override of its text when there is
/// one (see [`crate::template`]).
pub fn render_with(
    templates: &crate::template::Templates,
    kind: MessageKind,
    lang: Language,
    v: &Vars<'_>,
) -> String {
    if kind != MessageKind::DailySummary {
        let key = crate::template::key_of(kind, v.what, v.who.is_empty());
        if let Some(t) = templates.get(lang, key) {
            let mut text =
                crate::template::fill(t, &|name| crate::template::message_value(name, lang, v));
            if !v.link.is_empty() {
                text.push(' ');
                text.push_str(v.link);
            }
            return text;
        }
    }
    render(kind, lang, v)
}

/// Whether a character is in the GSM-7 alphabet (basic or extension table).
pub fn is_gsm7(c: char) -> bool {
    GSM7_BASIC.contains(c) || GSM7_EXTENSION.contains(c)
}

/// A roll call's note as it follows "checking on everyone": `" (heat advisory)"`, or nothing.
fn note(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

/// Renders a message's built-in text in a language.
pub fn render(kind: MessageKind, lang: Language, v: &Vars<'_>) -> String {
    use Language::*;
    use MessageKind::*;
    let link = if v.link.is_empty() {
        String::new()
    } else {
        format!(" {}", v.link)
    };
    match (kind, lang) {
        (Prompt, En) => format!(
            "{} {}! Reply 1 if you're OK, 2 if you need a hand.{link}",
            greeting(En, v.part),
            v.name
        ),
        (Prompt, Es) => format!(
            "{} {}! Responda 1 si todo va bien, 2 si necesita ayuda.{link}",
            greeting(Es, v.part),
            v.name
        ),
        (Reminder, En) => format!(
            "{}, just checking: reply 1 if you're OK, 2 if you need a hand.{link}",
            v.name
        ),
        (Reminder, Es) => format!(
            "{}, solo para saber: responda 1 si todo va bien, 2 si necesita ayuda.{link}",
            v.name
        ),
        (CheckOn, En) => format!(
            "Hi {}, please see or call {} today. Reply 1 when you have, 2 if they need help.{link}",
            v.name, v.member
        ),
        (CheckOn, Es) => format!(
            "Hola {}, visite o llame a {} hoy. Responda 1 cuando lo haga, 2 si necesita ayuda.{link}",
            v.name, v.member
        ),
        (CheckOnReminder, En) => format!(
            "{}, have you seen or called {} today? Reply 1 if all is well, 2 if not.{link}",
            v.name, v.member
        ),
        (CheckOnReminder, Es) => format!(
            "{}, ya vio o llamo a {} hoy? Responda 1 si todo va bien, 2 si no.{link}",
            v.name, v.member
        ),
        (RollCall, En) => format!(
            "{}, the village is checking on everyone{}. Reply 1 if you're OK, 2 if you need help.{link}",
            v.name,
            note(v.detail)
        ),
        (RollCall, Es) => format!(
            "{}, la villa esta llamando a todos{}. Responda 1 si esta bien, 2 si necesita ayuda.{link}",
            v.name,
            note(v.detail)
        ),
        (BuddyAlert, En) => match v.what {
            What::NotConfirmed => format!(
                "{}, nobody has confirmed {} is OK today. Can you knock? OTW if going, 1 if fine, NO if not.{link}",
                v.name, v.member
            ),
            _ => format!(
                "{}, {} hasn't answered today. Can you knock? Reply OTW if going, 1 if fine, NO if you can't.{link}",
                v.name, v.member
            ),
        },
        (BuddyAlert, Es) => match v.what {
            What::NotConfirmed => format!(
                "{}, nadie confirmo hoy que {} esta bien. Puede ir? VOY si va, 1 si esta bien, NO si no.{link}",
                v.name, v.member
            ),
            _ => format!(
                "{}, {} no ha respondido hoy. Puede ir? Responda VOY si va, 1 si esta bien, NO si no puede.{link}",
                v.name, v.member
            ),
        },
        (Alert, En) => match v.what {
            What::NotConfirmed => format!(
                "{}: nobody has confirmed {} is OK today (since {}). Reply 1 once OK, 2 if not.{link}",
                v.name, v.member_full, v.when
            ),
            _ => format!(
                "{}: {} hasn't answered today (since {}). Reply 1 once they're OK, 2 if not.{link}",
                v.name, v.member_full, v.when
            ),
        },
        (Alert, Es) => match v.what {
            What::NotConfirmed => format!(
                "{}: nadie confirmo hoy que {} esta bien (desde las {}). 1 si lo esta, 2 si no.{link}",
                v.name, v.member_full, v.when
            ),
            _ => format!(
                "{}: {} no ha respondido hoy (desde las {}). Responda 1 si esta bien, 2 si no.{link}",
                v.name, v.member_full, v.when
            ),
        },
        (HelpAlert, En) => match v.what {
            What::NoAnswerAtDoor => format!(
                "URGENT {}: {} could not get an answer at {}'s door. Call or go now. Reply 1 once OK.{link}",
                v.name, v.who, v.member
            ),
            What::SaysNeedsHelp => format!(
                "URGENT {}: {} says {} needs help ({}). Call or go now. Reply 1 once OK.{link}",
                v.name, v.who, v.member_full, v.when
            ),
            _ => format!(
                "URGENT {}: {} asked for help at {}. Please call or go now. Reply 1 once they're OK.{link}",
                v.name, v.member_full, v.when
            ),
        },
        (HelpAlert, Es) => match v.what {
            What::NoAnswerAtDoor => format!(
                "URGENTE {}: {} no obtuvo respuesta en la puerta de {}. Llame o vaya ya. 1 si esta bien.{link}",
                v.name, v.who, v.member
            ),
            What::SaysNeedsHelp => format!(
                "URGENTE {}: {} dice que {} necesita ayuda ({}). Llame o vaya ya. 1 si esta bien.{link}",
                v.name, v.who, v.member, v.when
            ),
            _ => format!(
                "URGENTE {}: {} pidio ayuda a las {}. Llame o vaya ya. Responda 1 si esta bien.{link}",
                v.name, v.member_full, v.when
            ),
        },
        (HelpAck, En) => format!(
            "{}, we've asked your neighbors and family to reach you now. If it's an emergency, call 911.",
            v.name
        ),
        (HelpAck, Es) => format!(
            "{}, ya avisamos a sus vecinos y familia. Si es una emergencia, llame al 911.",
            v.name
        ),
        (AllClear, En) => match (v.what, v.who.is_empty()) {
            (What::Removed, _) => format!(
                "Closed: {} is no longer checked on by Porchlight ({}). Thank you for looking out.",
                v.member_full, v.detail
            ),
            (What::Closed, _) => format!(
                "Alert closed: {} - {} says: {}. Thank you for looking out.",
                v.member_full, v.who, v.detail
            ),
            (_, true) => format!(
                "All clear: {} is OK (they answered). Thank you for looking out.",
                v.member_full
            ),
            (_, false) => format!(
                "All clear: {} is OK (confirmed by {}). Thank you for looking out.",
                v.member_full, v.who
            ),
        },
        (AllClear, Es) => match (v.what, v.who.is_empty()) {
            (What::Removed, _) => format!(
                "Cerrado: Porchlight ya no llama a {} ({}). Gracias por estar pendiente.",
                v.member_full, v.detail
            ),
            (What::Closed, _) => format!(
                "Alerta cerrada: {} - {} dice: {}. Gracias por estar pendiente.",
                v.member_full, v.who, v.detail
            ),
            (_, true) => format!(
                "Todo bien: {} esta bien (respondio). Gracias por estar pendiente.",
                v.member_full
            ),
            (_, false) => format!(
                "Todo bien: {} esta bien (lo confirmo {}). Gracias por estar pendiente.",
                v.member_full, v.who
            ),
        },
        (Exhausted, En) => format!(
            "NO ONE has confirmed {} is OK since {}. All contacts tried. Please act now.{link}",
            v.member_full, v.when
        ),
        (Exhausted, Es) => format!(
            "NADIE ha confirmado que {} esta bien desde las {}. Actue ahora.{link}",
            v.member_full, v.when
        ),
        (OptedOut, En) => format!(
            "{} texted STOP: Porchlight can't text them until they text START. Please follow up.",
            v.member_full
        ),
        (OptedOut, Es) => format!(
            "{} envio STOP: no podemos escribirle hasta que envie START. Haga seguimiento.",
            v.member_full
        ),
        (Skipped, En) => format!(
            "Porchlight was down: {} check-in(s) were not sent and were skipped: {}",
            v.when, v.detail
        ),
        (Skipped, Es) => format!(
            "Porchlight estuvo caido: {} llamada(s) no se enviaron: {}",
            v.when, v.detail
        ),
        (ClaimExpired, En) => format!(
            "{}, no word yet about {}, so we're telling others too. Reply 1 if they're OK.{link}",
            v.name, v.member
        ),
        (ClaimExpired, Es) => format!(
            "{}, no sabemos nada de {}, avisamos a otros. Responda 1 si esta bien.{link}",
            v.name, v.member
        ),
        (ClaimTaken, En) => format!(
            "Thanks {}: {} is already on the way to {}. Reply 2 if you think something is wrong.{link}",
            v.name, v.who, v.member
        ),
        (ClaimTaken, Es) => format!(
            "Gracias {}: {} ya va a ver a {}. Responda 2 si cree que algo va mal.{link}",
            v.name, v.who, v.member
        ),
        (AwayAck, En) => format!(
            "Got it, {}. No check-ins until {}. Text BACK when you're home.",
            v.name, v.when
        ),
        (AwayAck, Es) => format!(
            "Entendido, {}. Sin mensajes hasta el {}. Envie BACK al volver.",
            v.name, v.when
        ),
        (BackAck, En) => format!("Welcome back, {}! Daily check-ins start again.", v.name),
        (BackAck, Es) => format!(
            "Bienvenido/a, {}! Los mensajes diarios vuelven a empezar.",
            v.name
        ),
        (DeliveryFailed, En) => format!(
            "Porchlight could not reach {} about {} ({}). Please contact them another way.",
            v.who, v.member_full, v.detail
        ),
        (DeliveryFailed, Es) => format!(
            "Porchlight no pudo avisar a {} sobre {} ({}). Contacte por otra via.",
            v.who, v.member_full, v.detail
        ),
        (BudgetWarning, En) => format!(
            "Porchlight has used {} of today's SMS budget. Alerts always go out; routine texts stop at 100%.",
            v.detail
        ),
        (BudgetWarning, Es) => format!(
            "Porchlight ha usado {} del presupuesto de SMS de hoy. Las alertas siempre salen.",
            v.detail
        ),
        (WhichMember, En) => format!(
            "{}, which one do you mean: {}? Please reply with the name, e.g. \"{} 1\".",
            v.name, v.detail, v.member
        ),
        (WhichMember, Es) => format!(
            "{}, de quien habla: {}? Responda con el nombre, por ejemplo \"{} 1\".",
            v.name, v.detail, v.member
        ),
        (DailySummary, _) => v.detail.to_string(),
    }
}

/// How a text is encoded over SMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    /// The GSM 03.38 7-bit alphabet: 160 characters in one segment, 153 per part.
    Gsm7,
    /// UCS-2: 70 characters in one segment, 67 per part.
    Ucs2,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

/// The encoding, septet/char count and number of segments a text takes.
pub fn segments(text: &str) -> (Encoding, usize, usize) {
    let mut units = 0usize;
    let mut gsm = true;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            units += 1;
        } else if GSM7_EXTENSION.contains(c) {
            units += 2;
        } else {
            gsm = false;
            break;
        }
    }
    if gsm {
        let parts = if units <= 160 { 1 } else { units.div_ceil(153) };
        return (Encoding::Gsm7, units, parts.max(1));
    }
    // UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
    let units: usize = text.chars().map(char::len_utf16).sum();
    let parts = if units <= 70 { 1 } else { units.div_ceil(67) };
    (Encoding::Ucs2, units, parts.max(1))
}

#[cfg(test)]
mod tests;
