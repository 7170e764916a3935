//! Message texts in English and Spanish, and SMS segment arithmetic.
//!
//! Texts are written to fit one SMS segment (160 GSM-7 characters) with ordinary names and a
//! reply link. Spanish texts avoid á/í/ó/ú, which are not in GSM-7 and would shrink a segment
//! to 70 characters. Prompts advertise `2`, never HELP: carriers reserve HELP for themselves.

use serde::{Deserialize, Serialize};

use crate::model::Language;

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
    /// Acknowledging an away / back text.
    AwayAck,
    /// Acknowledging "back".
    BackAck,
    /// To coordinators: a message could not be delivered by any way.
    DeliveryFailed,
    /// To coordinators: the day's SMS budget is nearly or fully used.
    BudgetWarning,
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
}

/// Renders a message in a language.
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
            "Good morning {}! Reply 1 if you're OK, 2 if you need a hand.{link}",
            v.name
        ),
        (Prompt, Es) => format!(
            "Hola {}! Responda 1 si todo va bien, 2 si necesita ayuda.{link}",
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
            "{}, the village is checking on everyone. Reply 1 if you're OK, 2 if you need help.{link}",
            v.name
        ),
        (RollCall, Es) => format!(
            "{}, la villa esta llamando a todos. Responda 1 si esta bien, 2 si necesita ayuda.{link}",
            v.name
        ),
        (BuddyAlert, En) => format!(
            "{}, {} hasn't answered today. Can you knock? Reply OTW if going, 1 if fine, NO if you can't.{link}",
            v.name, v.member
        ),
        (BuddyAlert, Es) => format!(
            "{}, {} no ha respondido hoy. Puede ir? Responda VOY si va, 1 si esta bien, NO si no puede.{link}",
            v.name, v.member
        ),
        (Alert, En) => format!(
            "{}: {} hasn't answered today ({}). Reply 1 once they're OK, 2 if not.{link}",
            v.name, v.member_full, v.detail
        ),
        (Alert, Es) => format!(
            "{}: {} no ha respondido hoy ({}). Responda 1 si esta bien, 2 si no.{link}",
            v.name, v.member_full, v.detail
        ),
        (HelpAlert, En) => format!(
            "URGENT {}: {} asked for help at {}. Please call or go now. Reply 1 once they're OK.{link}",
            v.name, v.member_full, v.when
        ),
        (HelpAlert, Es) => format!(
            "URGENTE {}: {} pidio ayuda a las {}. Llame o vaya ya. Responda 1 si esta bien.{link}",
            v.name, v.member_full, v.when
        ),
        (HelpAck, En) => format!(
            "{}, we've asked your neighbors and family to reach you now. If it's an emergency, call 911.",
            v.name
        ),
        (HelpAck, Es) => format!(
            "{}, ya avisamos a sus vecinos y familia. Si es una emergencia, llame al 911.",
            v.name
        ),
        (AllClear, En) => format!(
            "All clear: {} is OK ({}). Thank you for looking out.",
            v.member_full, v.detail
        ),
        (AllClear, Es) => format!(
            "Todo bien: {} esta bien ({}). Gracias por estar pendiente.",
            v.member_full, v.detail
        ),
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
mod tests {
    use super::*;

    const ALL: [MessageKind; 18] = [
        MessageKind::Prompt,
        MessageKind::Reminder,
        MessageKind::CheckOn,
        MessageKind::CheckOnReminder,
        MessageKind::RollCall,
        MessageKind::BuddyAlert,
        MessageKind::Alert,
        MessageKind::HelpAlert,
        MessageKind::HelpAck,
        MessageKind::AllClear,
        MessageKind::Exhausted,
        MessageKind::OptedOut,
        MessageKind::Skipped,
        MessageKind::ClaimExpired,
        MessageKind::AwayAck,
        MessageKind::BackAck,
        MessageKind::DeliveryFailed,
        MessageKind::BudgetWarning,
    ];

    #[test]
    fn segment_arithmetic() {
        assert_eq!(segments("hello"), (Encoding::Gsm7, 5, 1));
        assert_eq!(segments(&"a".repeat(160)), (Encoding::Gsm7, 160, 1));
        assert_eq!(segments(&"a".repeat(161)), (Encoding::Gsm7, 161, 2));
        assert_eq!(segments(&"a".repeat(306)), (Encoding::Gsm7, 306, 2));
        assert_eq!(segments(&"a".repeat(307)), (Encoding::Gsm7, 307, 3));
        assert_eq!(segments("€"), (Encoding::Gsm7, 2, 1));
        assert_eq!(segments(&"[".repeat(80)), (Encoding::Gsm7, 160, 1));
        assert_eq!(segments(&"[".repeat(81)), (Encoding::Gsm7, 162, 2));
        assert_eq!(segments("ok 👍"), (Encoding::Ucs2, 5, 1));
        assert_eq!(segments(&"á".repeat(70)), (Encoding::Ucs2, 70, 1));
        assert_eq!(segments(&"á".repeat(71)), (Encoding::Ucs2, 71, 2));
        assert_eq!(segments("Ñandú"), (Encoding::Ucs2, 5, 1));
        assert_eq!(segments("Ñandu"), (Encoding::Gsm7, 5, 1));
    }

    #[test]
    fn every_text_fits_one_gsm_segment_with_ordinary_names() {
        // A reply link as the daemon makes them: 128 random bits, base64url (22 characters).
        let link = "https://porchlight.example.org/r/AbCdEfGhIjKlMnOpQrStUv";
        for lang in [Language::En, Language::Es] {
            for kind in ALL {
                let v = Vars {
                    name: "Margaret",
                    member: "Margaret",
                    member_full: "Margaret Lopez",
                    when: "09:00",
                    who: "Harold Baker",
                    detail: match kind {
                        MessageKind::AllClear => "confirmed by Harold",
                        MessageKind::DeliveryFailed => "alert, SMS failed",
                        MessageKind::BudgetWarning => "80%",
                        _ => "since 09:00",
                    },
                    link: if matches!(
                        kind,
                        MessageKind::Skipped
                            | MessageKind::AllClear
                            | MessageKind::OptedOut
                            | MessageKind::HelpAck
                            | MessageKind::AwayAck
                            | MessageKind::BackAck
                            | MessageKind::DeliveryFailed
                            | MessageKind::BudgetWarning
                    ) {
                        ""
                    } else {
                        link
                    },
                };
                let text = render(kind, lang, &v);
                let (enc, units, parts) = segments(&text);
                assert_eq!(enc, Encoding::Gsm7, "{kind:?}/{lang:?}: {text}");
                if kind != MessageKind::Skipped {
                    assert_eq!(parts, 1, "{kind:?}/{lang:?} is {units} long: {text}");
                }
                // Carriers answer a bare HELP themselves: texts advertise 2, never the keyword.
                assert!(!text.contains("HELP"), "{text}");
            }
        }
    }
}
