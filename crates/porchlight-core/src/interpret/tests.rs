//! The interpreter's unit tests.

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

#[test]
fn tokens_fold_case_accents_emoji_and_shorthand() {
    let w: Vec<String> = tokens("¡Me CAÍ! pls 👍🏽 helppp, can't")
        .into_iter()
        .map(|t| t.w)
        .collect();
    assert_eq!(w, ["me", "cai", "please", "ok", "help", "cant"]);
}

#[test]
fn names_by_first_full_and_possessive() {
    let c = [("walt", "Walt Kowalski"), ("betty", "Betty Ávila")];
    assert_eq!(names_in("Seen Walt, he's fine", &c), ["walt"]);
    assert_eq!(names_in("betty avila is ok", &c), ["betty"]);
    assert_eq!(names_in("No answer at Walt's door", &c), ["walt"]);
    assert!(names_in("seen", &c).is_empty());
    let r = read_about(Role::Buddy, "Walt is fine, Betty not home", today(), &c);
    assert_eq!(r[0].1.reply, Reply::Ok);
    assert_eq!(r[1].1.reply, Reply::NoAnswer);
    let r = read_about(Role::Buddy, "Walt and Betty both fine", today(), &c);
    assert!(r.iter().all(|(_, x)| x.reply == Reply::Ok), "{r:?}");
}

/// Every word of every cue is read as itself: a cue word that the text's normalization turns
/// into another word ("breath" is read as "breathe") can never match, and the cue is dead.
#[test]
fn every_cue_word_survives_normalization() {
    let mut dead = Vec::new();
    for list in ALL_CUES {
        for phrase in *list {
            for w in phrase.split(' ').filter(|w| *w != "*") {
                let read = normalize::canon(w);
                if read != w {
                    dead.push(format!("{phrase:?}: {w:?} is read as {read:?}"));
                }
            }
        }
    }
    assert!(
        dead.is_empty(),
        "cues that can never match:\n{}",
        dead.join("\n")
    );
}
