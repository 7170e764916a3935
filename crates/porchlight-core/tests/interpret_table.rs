//! The reply interpreter against texts written the way older adults, neighbors and families
//! really text: English and Spanish, typos, ALL CAPS, emoji, long sentences.
//!
//! Each row is a text and its expected meaning in each role, as three letters for
//! member / buddy / family:
//! `O` OK, `H` help, `N` no answer at the door, `W` on my way, `C` can't go, `X` other (a sign
//! of life from a member, a note from anyone else), `A` away, `B` back, `S` STOP, `T` START.

use chrono::NaiveDate;
use porchlight_core::interpret::{Confidence, interpret, names_in, read_about};
use porchlight_core::{Reply, Role};

const ROWS: &[(&str, &str)] = &[
    // ----- fine, in all the ways people say it
    ("1", "OOO"),
    (" 1 ", "OOO"),
    ("1.", "OOO"),
    ("ok", "OOO"),
    ("OK", "OOO"),
    ("Ok thanks dear!", "OOO"),
    ("okay", "OOO"),
    ("okey dokey", "OOO"),
    ("k", "OOO"),
    ("kk", "OOO"),
    ("yes", "OWX"),
    ("Yes!!", "OWX"),
    ("Y", "OWX"),
    ("yep all good", "OOO"),
    ("fine", "OOO"),
    ("Fine, thank you", "OOO"),
    ("I'm fine", "OXX"),
    ("im ok", "OXX"),
    ("Im good thanks", "OXX"),
    ("doing well thank you", "OOO"),
    ("All good here", "OOO"),
    ("👍", "OOO"),
    ("👍🏽", "OOO"),
    ("👌", "OOO"),
    ("✅", "OOO"),
    ("🙂", "OXX"),
    ("Sí, bien", "OOO"),
    ("Todo bien", "OOO"),
    ("estoy bien gracias", "OXX"),
    ("Bien gracias a Dios", "OOO"),
    ("Muy bien", "OOO"),
    ("good morning", "XXX"),
    ("Good morning! All fine here", "OOO"),
    ("Not bad", "OOO"),
    ("not too bad, thanks", "OOO"),
    ("Can't complain", "OOO"),
    ("No problems today", "OOO"),
    ("Never better!", "OOO"),
    ("ALL GOOD", "OOO"),
    ("Yes I'm ok", "OXX"),
    ("1 thanks", "OOO"),
    ("fien", "OOO"),
    ("okk", "OOO"),
    ("goooood", "OOO"),
    ("alrite", "OOO"),
    ("Perfecto", "OOO"),
    ("vale", "OXX"),
    // ----- help, in a word or a sentence
    ("2", "HHH"),
    (" 2 ", "HHH"),
    ("2 please", "HHH"),
    ("help", "HHH"),
    ("HELP", "HHH"),
    ("help me", "HHH"),
    ("Help me please", "HHH"),
    ("I need help", "HHH"),
    ("i need a hand", "HHH"),
    ("need", "HHH"),
    ("sos", "HHH"),
    ("SOS!", "HHH"),
    ("🆘", "HHH"),
    ("I fell", "HHH"),
    ("I fell, please help", "HHH"),
    ("i fell down and cant get up", "HHH"),
    ("Fell in the bathroom", "HHH"),
    ("I've fallen", "HHH"),
    ("I had a fall", "HHH"),
    ("on the floor", "HHH"),
    ("call 911", "HHH"),
    ("CALL 911 NOW", "HHH"),
    ("911", "HHH"),
    ("not ok", "HHH"),
    ("Not OK", "HHH"),
    ("I'm not ok", "HHH"),
    ("im not okay", "HHH"),
    ("not feeling well", "HHH"),
    ("I don't feel well", "HHH"),
    ("dont feel good", "HHH"),
    ("not good", "HHH"),
    ("not so good today", "HHH"),
    ("chest pain", "HHH"),
    ("my chest hurts", "HHH"),
    ("I can't breathe", "HHH"),
    ("hard to breathe", "HHH"),
    ("dizzy", "HHH"),
    ("very dizzy and weak", "HHH"),
    ("I think I'm having a stroke", "HHH"),
    ("heart attack", "HHH"),
    ("bleeding", "HHH"),
    ("emergency", "HHH"),
    ("EMERGENCY!!!", "HHH"),
    ("emergancy", "HHH"),
    ("need an ambulance", "HHH"),
    ("ambulence", "HHH"),
    ("hlep", "HHH"),
    ("helppp", "HHH"),
    ("pls help", "HHH"),
    ("plz come", "HHH"),
    ("Help!! I fell in the kitchen and my hip hurts", "HHH"),
    ("I'm fine but I fell yesterday and my knee hurts", "HHH"),
    ("ok but not great", "HHH"),
    ("I'm sick", "HHH"),
    ("feeling sick", "HHH"),
    ("I'm scared", "HHH"),
    ("someone broke in", "HHH"),
    ("house fire", "HHH"),
    ("I'm ok but I can't get out of bed", "HHH"),
    ("fine but my legs won't work", "HHH"),
    ("ok i guess, very weak today", "HHH"),
    ("can't stand up", "HHH"),
    ("cant walk", "HHH"),
    ("where am I", "HHH"),
    ("I don't know what day it is", "HHH"),
    ("I cut myself badly", "HHH"),
    ("I burned my hand", "HHH"),
    ("I took too many pills", "HHH"),
    ("I want to die", "HHH"),
    ("I don't want to live anymore", "HHH"),
    ("I don't want to die", "HHH"),
    ("locked out of my house, it's cold", "HHH"),
    ("my husband isn't breathing", "HHH"),
    ("Jim won't wake up", "HHH"),
    ("he collapsed", "HHH"),
    ("ok but I haven't eaten in 3 days", "HHH"),
    ("throwing up all night", "HHH"),
    ("I have a fever", "HHH"),
    ("can't see well, everything blurry", "HHH"),
    ("my face feels numb", "HHH"),
    ("estoy muy débil", "HHH"),
    ("me quiero morir", "HHH"),
    // Asking someone to call or come, hopelessness, a cold house, breath, running out.
    ("nobody cares, I'm done", "HHH"),
    ("can't go on like this", "HHH"),
    ("what's the point anymore", "HHH"),
    ("tired of living", "HHH"),
    ("ya no puedo más", "HHH"),
    ("call me please", "HHH"),
    ("can someone call me", "HHH"),
    ("come over please", "HHH"),
    ("can you come over?", "HHH"),
    ("llámame por favor", "HHH"),
    ("furnace broke, so cold", "HHH"),
    ("it's freezing in here", "HHH"),
    ("the heat's out", "HHH"),
    ("no tengo calefacción", "HHH"),
    ("short of breath", "HHH"),
    ("I'm short of breath today", "HHH"),
    ("me falta el aire", "HHH"),
    ("ran out of my pills", "HHH"),
    ("out of oxygen", "HHH"),
    ("no food in the house", "HHH"),
    ("I'm not short of breath, all good", "OOO"),
    ("call me later, I'm fine", "OXX"),
    ("come over for coffee sometime, all good", "OOO"),
    ("I'm done with the laundry, all good", "OOO"),
    ("power's back, all good", "OOO"),
    ("all good, it's cold out though", "OOO"),
    ("Sorry, can't go on such short notice", "XCX"),
    ("weak coffee this morning lol, all good", "OOO"),
    ("feeling better, no more fever", "OOO"),
    ("she's ok, just fell asleep on the couch", "OOO"),
    ("I fell asleep, then I fell in the kitchen", "HHH"),
    ("She's alright. Bumped her head but says she's fine", "HHH"),
    ("fever broke last night but now I can't stand up", "HHH"),
    ("busy, can't walk the dog today", "XCX"),
    ("cut my hair today, all good", "OOO"),
    ("burned my toast lol, otherwise fine", "OOO"),
    ("no fever, feeling better", "OXX"),
    ("smoke in the house", "HHH"),
    ("the smoke alarm is going off", "HHH"),
    ("I smell gas", "HHH"),
    ("huele a gas", "HHH"),
    ("carbon monoxide alarm beeping", "HHH"),
    ("my basement is flooded", "HHH"),
    ("water everywhere, pipe burst", "HHH"),
    ("someone is in my house", "HHH"),
    ("my sugar is low", "HHH"),
    ("sitting by the fire, all good", "OOO"),
    ("had a smoke on the porch, all good", "OOO"),
    ("👎", "HHH"),
    ("🤕", "HHH"),
    ("🚑", "HHH"),
    ("I NEED HELP NOW", "HHH"),
    ("Please send someone", "HHH"),
    ("come quick", "HHH"),
    ("hurry", "HHH"),
    ("I'm on the floor can't get up", "HHH"),
    ("fell again 😢", "HHH"),
    ("I need a hand with something", "HHH"),
    ("No I need help", "HHH"),
    ("No, help!", "HHH"),
    ("not an emergency but I fell", "HHH"),
    ("my back hurts", "HHH"),
    // ----- ayuda
    ("ayuda", "HHH"),
    ("AYUDA", "HHH"),
    ("necesito ayuda", "HHH"),
    ("Necesito ayuda por favor", "HHH"),
    ("ayúdame", "HHH"),
    ("ayudenme", "HHH"),
    ("me caí", "HHH"),
    ("me cai", "HHH"),
    ("Me caí en el baño", "HHH"),
    ("no me puedo levantar", "HHH"),
    ("estoy en el piso", "HHH"),
    ("no estoy bien", "HHH"),
    ("No estoy muy bien", "HHH"),
    ("me siento mal", "HHH"),
    ("estoy mal", "HHH"),
    ("me duele el pecho", "HHH"),
    ("dolor de pecho", "HHH"),
    ("llamen al 911", "HHH"),
    ("emergencia", "HHH"),
    ("una ambulancia por favor", "HHH"),
    ("mareada", "HHH"),
    ("no puedo respirar", "HHH"),
    ("socorro", "HHH"),
    ("auxilio", "HHH"),
    ("nesesito ayuda", "HHH"),
    ("no me siento bien", "HHH"),
    ("Se cayó mi esposo", "HHH"),
    ("estoy enferma", "HHH"),
    // ----- distress about the member, from whoever went to look
    ("She fell", "HHH"),
    ("he fell, calling 911", "HHH"),
    ("Found her on the floor", "HHH"),
    ("She fell, calling 911", "HHH"),
    ("Going to call 911", "HHH"),
    ("taking her to the hospital", "HHH"),
    ("ambulance is here", "HHH"),
    ("She's not ok", "HHH"),
    ("he is not doing well", "HHH"),
    ("Se cayó", "HHH"),
    ("la encontre en el suelo", "HHH"),
    ("no esta bien, llamé a la ambulancia", "HHH"),
    ("She needs help", "HHH"),
    (
        "I'm at the hospital with her, she fell last night but she is ok now",
        "HHH",
    ),
    // ----- negation: not distress
    ("no help needed", "OXX"),
    ("I don't need help, just saying hi", "OXX"),
    ("didn't fall, just tired", "XXX"),
    ("no pain today", "OXX"),
    ("No emergency, all good", "OOO"),
    ("No necesito ayuda, gracias", "OXX"),
    ("no me caí, estoy bien", "OXX"),
    ("Don't worry, I'm fine", "OXX"),
    ("nothing hurts", "OXX"),
    ("I'm not sick, just busy", "OCX"),
    ("No, estoy bien", "OCX"),
    // ----- away and back
    ("away 3", "AXX"),
    ("Away until 12/24", "AXX"),
    ("away for 2 days", "AXX"),
    ("I'll be away until 1/5", "AXX"),
    ("fuera hasta 12/30", "AXX"),
    ("away till Sunday", "AXX"),
    ("On vacation until Dec 2", "AXX"),
    ("back Sunday", "AXX"),
    ("fuera hasta el lunes", "AXX"),
    ("away", "XXX"),
    ("back", "BXX"),
    ("I'm back!", "BXX"),
    ("back home now", "BXX"),
    ("ya volví", "BXX"),
    // ----- carrier keywords, whole messages only
    ("STOP", "SSS"),
    ("stop", "SSS"),
    ("Stop.", "SSS"),
    ("unsubscribe", "SSS"),
    ("START", "TTT"),
    ("please stop by later", "XXX"),
    ("stop calling me", "XXX"),
    // ----- on my way
    ("otw", "XWX"),
    ("OTW!", "XWX"),
    ("on my way", "XWX"),
    ("On my way now", "XWX"),
    ("omw", "XWX"),
    ("going", "XWX"),
    ("Going over", "XWX"),
    ("heading over now", "XWX"),
    ("I'll go check on her", "XWX"),
    ("be there in 10", "XWX"),
    ("voy", "XWX"),
    ("ya voy", "XWX"),
    ("voy para allá", "XWX"),
    ("en camino", "XWX"),
    ("ok on my way", "OWX"),
    ("Going over now, she's probably fine", "OWX"),
    // ----- can't go
    ("no", "XCX"),
    ("No sorry", "XCX"),
    ("can't", "XCX"),
    ("Can't, sorry", "XCX"),
    ("cannot go today", "XCX"),
    ("sorry I can't today", "XCX"),
    ("I'm at work, can't go", "XCX"),
    ("out of town", "XCX"),
    ("no puedo", "XCX"),
    ("no puedo ir, estoy trabajando", "XCX"),
    ("busy", "XCX"),
    ("Im not home today sorry", "XCX"),
    // ----- no answer at the door
    ("No answer at her door, curtains closed", "XNN"),
    ("no answer", "XNN"),
    ("Knocked, no answer", "XNN"),
    ("nobody answered the door", "XNN"),
    ("She's not answering her phone", "XNN"),
    ("door locked, lights off", "XNN"),
    ("Seen nobody, door locked", "XNN"),
    ("haven't seen her today", "XNN"),
    ("can't reach him", "XNN"),
    ("couldn't get in", "XNN"),
    ("not home", "XNN"),
    ("Nadie abre la puerta", "XNN"),
    ("no contesta", "XNN"),
    ("No contesta el teléfono", "XNN"),
    ("toqué y no abre", "XNN"),
    ("las cortinas cerradas y no contesta", "XNN"),
    ("goes to voicemail", "XNN"),
    ("No answer. Calling her daughter", "XNN"),
    (
        "I went over at 10 and knocked several times but nobody answered and her car is in the driveway",
        "XNN",
    ),
    (
        "she didn't answer the door but I saw her through the window and she waved",
        "XNN",
    ),
    // ----- seen, confirmed
    ("seen", "XOO"),
    ("Seen her, she's fine", "OOO"),
    ("Saw him", "XOO"),
    ("Seen Walt, he's fine", "OOO"),
    ("She's fine", "OOO"),
    ("she is ok", "OOO"),
    ("he's ok, just slept in", "OOO"),
    ("Talked to her, all good", "OOO"),
    ("called her, she's fine", "OOO"),
    ("checked on her, all well", "OOO"),
    ("La vi, está bien", "OOO"),
    ("está bien", "OOO"),
    ("ya la vi, todo bien", "OOO"),
    ("hablé con ella, está bien", "OOO"),
    ("visto", "XOO"),
    ("Mom is fine, I just talked to her", "OOO"),
    ("Mi mamá está bien, hablé con ella esta mañana", "OOO"),
    (
        "Good morning dear, I slept well and I'm having my coffee now, all good here",
        "OOO",
    ),
    (
        "Just got back from church, everything is fine, thank you for checking on me",
        "OOO",
    ),
    // ----- family or a buddy who has the member with them; and its negation
    ("Mom is at my house", "XOO"),
    ("she's with me", "XOO"),
    ("ella está conmigo", "XOO"),
    ("she's not with me", "XXX"),
    ("she isn't at my house", "XXX"),
    ("is she with you?", "XXX"),
    // ----- a buddy too far to go
    ("I'm 2 hours away, can someone else go?", "XCX"),
    ("I'm too far, sorry", "XCX"),
    // ----- hedged or asked: no confirmation
    ("hope she's ok", "OXX"),
    ("is she ok?", "OXX"),
    ("Is Mom ok??", "OXX"),
    ("probably fine", "OXX"),
    ("espero que esté bien", "OXX"),
    ("YES IM FINE STOP TEXTING ME", "OXX"),
    // ----- can't be placed
    ("who is this?", "XXX"),
    ("what is this", "XXX"),
    ("Call me", "XXX"),
    ("3", "XXX"),
    ("", "XXX"),
    ("🌞", "XXX"),
    ("thanks", "XXX"),
    ("Happy Thanksgiving!", "XXX"),
    ("hola", "XXX"),
    ("Who are you? How did you get my number", "XXX"),
    ("I'm sick of these texts", "XXX"),
    ("The weather is nice today", "XXX"),
    ("at the doctor's", "XXX"),
];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

fn code(r: &Reply) -> char {
    match r {
        Reply::Ok => 'O',
        Reply::Help => 'H',
        Reply::NoAnswer => 'N',
        Reply::OnMyWay => 'W',
        Reply::Cannot => 'C',
        Reply::Other => 'X',
        Reply::Away { .. } => 'A',
        Reply::Back => 'B',
        Reply::Stop => 'S',
        Reply::Start => 'T',
    }
}

#[test]
fn the_table() {
    assert!(ROWS.len() >= 200, "{} rows", ROWS.len());
    let mut wrong = Vec::new();
    for (text, want) in ROWS {
        let got: String = [Role::Member, Role::Buddy, Role::Family]
            .into_iter()
            .map(|role| code(&interpret(role, text, today()).reply))
            .collect();
        if got != *want {
            let why: Vec<String> = [Role::Member, Role::Buddy, Role::Family]
                .into_iter()
                .map(|role| interpret(role, text, today()).why)
                .collect();
            wrong.push(format!(
                "{text:?}: want {want}, got {got} ({})",
                why.join(" | ")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows misread:\n{}",
        wrong.len(),
        ROWS.len(),
        wrong.join("\n")
    );
}

/// When a member who says they are away will be back, as people write it. Today is Tuesday
/// 24 November 2026; the date is the day check-ins resume.
#[test]
fn away_dates_as_people_write_them() {
    let rows = [
        ("away 3", Some("2026-11-27")),
        ("away for 2 days", Some("2026-11-26")),
        ("Away until 12/24", Some("2026-12-24")),
        ("away till Sunday", Some("2026-11-29")),
        ("away til sunday!", Some("2026-11-29")),
        ("away through Sunday", Some("2026-11-30")),
        ("Away until Tuesday", Some("2026-12-01")),
        ("away until next week", Some("2026-11-30")),
        ("away for a week", Some("2026-12-01")),
        ("away 2 weeks", Some("2026-12-08")),
        (
            "I'll be away for two weeks, visiting my sister",
            Some("2026-12-08"),
        ),
        ("away for a month", Some("2026-12-24")),
        ("away until tomorrow", Some("2026-11-25")),
        ("On vacation until Dec 2", Some("2026-12-02")),
        ("I'll be away until December 2nd", Some("2026-12-02")),
        ("away until the 2nd of December", Some("2026-12-02")),
        ("traveling till the 30th", Some("2026-11-30")),
        ("away till the 1st", Some("2026-12-01")),
        ("away until jan 5", Some("2027-01-05")),
        ("out of town for a week", Some("2026-12-01")),
        ("back Sunday", Some("2026-11-29")),
        ("I'll be back on Monday", Some("2026-11-30")),
        ("won't be back until Friday", Some("2026-11-27")),
        ("back in 3 days", Some("2026-11-27")),
        ("Heading to my daughter's until Friday", Some("2026-11-27")),
        (
            "Good morning, all is well. Heading to my son's till the 30th",
            Some("2026-11-30"),
        ),
        (
            "visiting my sister through Sunday, all good",
            Some("2026-11-30"),
        ),
        ("fuera hasta el domingo", Some("2026-11-29")),
        ("me voy de viaje, fuera hasta el lunes", Some("2026-11-30")),
        ("fuera hasta el 30", Some("2026-11-30")),
        ("fuera una semana", Some("2026-12-01")),
        ("vuelvo el 2 de diciembre", Some("2026-12-02")),
        (
            "estoy de vacaciones hasta la semana que viene",
            Some("2026-11-30"),
        ),
        // Not dates: nothing to hold check-ins to.
        ("away", None),
        ("away a bit", None),
        ("back in 5 minutes", None),
        ("going out, back at 3", None),
        ("back 2", None),
        ("I'm not going away until Friday", None),
        ("away until feb 30", None),
        ("away for 400 days", None),
        ("my daughter visits until Sunday", None),
        ("my daughter is staying with me until Sunday", None),
        ("I'm going to be fine until Friday", None),
        ("I'm not going anywhere until Friday", None),
        ("estoy con mi hija hasta el lunes", None),
    ];
    let mut wrong = Vec::new();
    for (text, want) in rows {
        let r = interpret(Role::Member, text, today());
        let got = match r.reply {
            Reply::Away { until } => Some(until.to_string()),
            _ => None,
        };
        if got.as_deref() != want {
            wrong.push(format!(
                "{text:?}: want {want:?}, got {:?} ({})",
                r.reply, r.why
            ));
        }
    }
    assert!(wrong.is_empty(), "misread:\n{}", wrong.join("\n"));
    // Distress wins over away words, whatever the date.
    let r = interpret(Role::Member, "I fell, away till sunday", today());
    assert_eq!(r.reply, Reply::Help, "{}", r.why);
}

#[test]
fn distress_is_never_read_as_fine_or_a_note() {
    for (text, want) in ROWS {
        if !want.starts_with('H') {
            continue;
        }
        for role in [Role::Member, Role::Buddy, Role::Family, Role::Coordinator] {
            let r = interpret(role, text, today());
            assert_eq!(r.reply, Reply::Help, "{text:?} as {role:?}: {}", r.why);
            assert!(r.why.starts_with("distress words"), "{}", r.why);
        }
    }
    // An unknown number's distress is kept for coordinators, and the reason says so.
    let r = interpret(Role::Unknown, "help I fell", today());
    assert_eq!(r.reply, Reply::Other);
    assert!(r.why.contains("distress"), "{}", r.why);
}

#[test]
fn every_reading_says_why() {
    for (text, _) in ROWS {
        for role in [Role::Member, Role::Buddy, Role::Family] {
            let r = interpret(role, text, today());
            assert!(!r.why.is_empty(), "{text:?}");
            assert!(r.explain().starts_with("read as "), "{}", r.explain());
        }
    }
    let r = interpret(Role::Member, "I fell", today());
    assert_eq!(r.why, "distress words \"fell\"");
    assert!(r.first_person);
    assert!(!interpret(Role::Buddy, "Found her on the floor", today()).first_person);
    assert_eq!(
        interpret(Role::Member, "1", today()).confidence,
        Confidence::High
    );
    assert_eq!(
        interpret(Role::Member, "who is this?", today()).confidence,
        Confidence::Low
    );
}

#[test]
fn names_as_people_write_them() {
    let c = [
        ("walt", "Walt Kowalski"),
        ("betty", "Betty Ávila"),
        ("mary-l", "Mary Lopez"),
        ("mary-s", "Mary Smith"),
    ];
    assert_eq!(names_in("Seen Walt, he's fine", &c), ["walt"]);
    assert_eq!(names_in("WALT ok", &c), ["walt"]);
    assert_eq!(names_in("walt's fine", &c), ["walt"]);
    assert_eq!(names_in("Betty Avila is ok", &c), ["betty"]);
    assert_eq!(names_in("betty ávila está bien", &c), ["betty"]);
    assert_eq!(names_in("Mary Smith is fine", &c), ["mary-s"]);
    assert_eq!(names_in("Mary is fine", &c), ["mary-l", "mary-s"]);
    assert_eq!(names_in("Walt and Betty both ok", &c), ["walt", "betty"]);
    assert!(names_in("she's fine", &c).is_empty());
    assert!(names_in("Walter is fine", &c).is_empty());

    let about = |t| read_about(Role::Buddy, t, today(), &c);
    let r = about("Betty is fine, just saw her");
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].0.as_str(), &r[0].1.reply), ("betty", &Reply::Ok));
    let r = about("Walt is fine but no answer at Betty's door");
    assert_eq!(r[0].1.reply, Reply::Ok);
    assert_eq!(r[1].1.reply, Reply::NoAnswer);
    let r = about("Walt fine, no answer at Betty's door");
    assert_eq!(r[0].1.reply, Reply::Ok);
    assert_eq!(r[1].1.reply, Reply::NoAnswer);
    let r = about("Walt fell, Betty ok");
    assert_eq!(r[0].1.reply, Reply::Help);
    assert_eq!(r[1].1.reply, Reply::Ok);
    let r = about("Seen Walt");
    assert_eq!(r[0].1.reply, Reply::Ok);
    // A name alone says nothing: the caller decides (the answer to "which one?").
    let r = about("Walt");
    assert_eq!(r[0].1.reply, Reply::Other);
}
