//! Unit tests of [`super`].

use super::*;

const ALL: [MessageKind; 21] = [
    MessageKind::WhichMember,
    MessageKind::DailySummary,
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
    MessageKind::ClaimTaken,
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
    let whats = [
        What::NotAnswered,
        What::NotConfirmed,
        What::AskedForHelp,
        What::SaysNeedsHelp,
        What::NoAnswerAtDoor,
        What::Removed,
        What::Closed,
    ];
    let parts = [
        DayPart::Morning,
        DayPart::Afternoon,
        DayPart::Evening,
        DayPart::Night,
    ];
    for lang in [Language::En, Language::Es] {
        for (kind, what, part) in ALL
            .iter()
            .flat_map(|k| whats.iter().map(move |w| (*k, *w)))
            .flat_map(|(k, w)| parts.iter().map(move |p| (k, w, *p)))
        {
            let v = Vars {
                name: "Margaret",
                member: "Margaret",
                member_full: "Margaret Lopez",
                when: "09:00",
                who: match kind {
                    MessageKind::DeliveryFailed => "Harold Baker",
                    _ => "Harold",
                },
                detail: match kind {
                    // The longest reason the engine passes on (40 characters).
                    MessageKind::AllClear => "taken to St Mary's, her daughter is with",
                    MessageKind::DeliveryFailed => "alert, SMS failed",
                    MessageKind::BudgetWarning => "80%",
                    MessageKind::WhichMember => "Margaret, Walter or Betty",
                    // A roll call without a note (a note may take a second segment).
                    MessageKind::RollCall => "",
                    _ => "Mary Lopez, Walt Kowalski",
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
                        | MessageKind::WhichMember
                        | MessageKind::DailySummary
                ) {
                    ""
                } else {
                    link
                },
                what,
                part,
            };
            let text = render(kind, lang, &v);
            let (enc, units, parts) = segments(&text);
            if parts != 1 && kind != MessageKind::Skipped {
                eprintln!("TOO LONG {kind:?}/{lang:?}/{what:?} {units}: {text}");
            }
            assert_eq!(enc, Encoding::Gsm7, "{kind:?}/{lang:?}: {text}");
            if kind != MessageKind::Skipped {
                assert_eq!(parts, 1, "{kind:?}/{lang:?} is {units} long: {text}");
            }
            // Carriers answer a bare HELP themselves: texts advertise 2, never the keyword.
            assert!(!text.contains("HELP"), "{text}");
            // Spanish texts carry no English fragments.
            if lang == Language::Es {
                for en in ["since", "confirmed by", "they answered", "Good morning"] {
                    assert!(!text.contains(en), "{kind:?}: {text}");
                }
            }
        }
    }
}
