//! Reading replies: PRODUCT §5's table as a pure function of who wrote and what they wrote.
//!
//! The meanings ([`Reply`]) and roles ([`Role`]) live here; the reading itself (the whole text,
//! negation, Spanish, typos, emoji) is [`crate::interpret`]. [`parse`] is kept as a shorthand
//! for `interpret(..).reply`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// In what capacity a person's reply is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Answering their own check-in.
    Member,
    /// A buddy: asked to check on someone, or alerted about them.
    Buddy,
    /// Family alerted about a member.
    Family,
    /// A coordinator alerted about a member.
    Coordinator,
    /// A number no person has.
    Unknown,
}

/// What a reply means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reply {
    /// The member is fine.
    Ok,
    /// The member needs help now (member), or: escalate at once (buddy, family).
    Help,
    /// A buddy or family member could not reach the member (no answer at the door, on the
    /// phone): escalate at once to the next levels and coordinators. Not "can't go".
    NoAnswer,
    /// Away until a local date (exclusive: check-ins resume on it).
    Away {
        /// First day back.
        until: NaiveDate,
    },
    /// Back from away.
    Back,
    /// SMS opt-out (STOP and its synonyms).
    Stop,
    /// SMS opt-in (START and its synonyms).
    Start,
    /// A buddy is on their way: claims the alert.
    OnMyWay,
    /// A buddy can't go: ask the next buddy now.
    Cannot,
    /// Anything else: from a member a sign of life; from others, a note for the coordinator.
    Other,
}

/// Reads a reply from someone in `role`. `today` is the sender's local date (for "away 3").
/// The meaning of [`crate::interpret::interpret`], without its confidence and reason.
pub fn parse(role: Role, text: &str, today: NaiveDate) -> Reply {
    crate::interpret::interpret(role, text, today).reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn member(text: &str) -> Reply {
        parse(Role::Member, text, today())
    }

    #[test]
    fn member_ok_words_and_messy_texts() {
        for t in [
            "1",
            " 1 ",
            "ok",
            "OK",
            "Ok thanks dear!",
            "okay",
            "yes",
            "yes!!",
            "Y",
            "fine",
            "Fine, thank you",
            "👍",
            "👍🏽",
            "Sí, bien",
            "1.",
        ] {
            assert_eq!(member(t), Reply::Ok, "{t:?}");
        }
    }

    #[test]
    fn member_help_words() {
        for t in [
            "2",
            " 2 ",
            "SOS",
            "sos!",
            "need help",
            "Need a hand",
            "help",
            "HELP me please",
            "ayuda",
        ] {
            assert_eq!(member(t), Reply::Help, "{t:?}");
        }
    }

    #[test]
    fn member_anything_else_is_a_sign_of_life() {
        for t in ["who is this?", "3", "stop calling me", "", "🌞"] {
            assert_eq!(member(t), Reply::Other, "{t:?}");
        }
    }

    #[test]
    fn member_away_and_back() {
        assert_eq!(
            member("away 3"),
            Reply::Away {
                until: "2026-11-27".parse().unwrap()
            }
        );
        assert_eq!(
            member("Away until 12/24"),
            Reply::Away {
                until: "2026-12-24".parse().unwrap()
            }
        );
        assert_eq!(
            member("away until 1/5"),
            Reply::Away {
                until: "2027-01-05".parse().unwrap()
            }
        );
        assert_eq!(
            member("away for 2 days"),
            Reply::Away {
                until: "2026-11-26".parse().unwrap()
            }
        );
        // A bare "away" with nothing to go by is only a sign of life.
        assert_eq!(member("away"), Reply::Other);
        assert_eq!(member("away 13/45"), Reply::Other);
        assert_eq!(member("back"), Reply::Back);
        assert_eq!(member("I'm back!"), Reply::Back);
    }

    #[test]
    fn stop_and_start_are_whole_messages() {
        for t in [
            "STOP",
            "stop",
            "Unsubscribe",
            "cancel",
            "END",
            "quit",
            "STOPALL",
            "stop.",
        ] {
            assert_eq!(member(t), Reply::Stop, "{t:?}");
            assert_eq!(parse(Role::Family, t, today()), Reply::Stop, "{t:?}");
        }
        assert_eq!(member("start"), Reply::Start);
        assert_eq!(member("UNSTOP"), Reply::Start);
        assert_eq!(member("please stop by later"), Reply::Other);
    }

    #[test]
    fn buddy_table() {
        let b = |t| parse(Role::Buddy, t, today());
        for t in [
            "otw",
            "OTW!",
            "on my way",
            "On my way now",
            "going",
            "Going over",
        ] {
            assert_eq!(b(t), Reply::OnMyWay, "{t:?}");
        }
        for t in ["1", "ok", "seen", "Seen her, she's fine", "fine", "Saw him"] {
            assert_eq!(b(t), Reply::Ok, "{t:?}");
        }
        for t in ["2", "help", "HELP! no answer at door"] {
            assert_eq!(b(t), Reply::Help, "{t:?}");
        }
        for t in ["no", "can't", "Can't, sorry", "cannot go today", "No sorry"] {
            assert_eq!(b(t), Reply::Cannot, "{t:?}");
        }
        assert_eq!(b("who is this"), Reply::Other);
    }

    #[test]
    fn family_table() {
        let f = |t| parse(Role::Family, t, today());
        assert_eq!(f("1"), Reply::Ok);
        assert_eq!(f("seen"), Reply::Ok);
        assert_eq!(f("ok"), Reply::Ok);
        assert_eq!(f("fine"), Reply::Ok);
        assert_eq!(f("2"), Reply::Help);
        assert_eq!(f("help"), Reply::Help);
        // Claims and "can't" are buddy words; from family they are notes.
        assert_eq!(f("on my way"), Reply::Other);
        assert_eq!(f("can't"), Reply::Other);
    }

    #[test]
    fn unknown_numbers_mean_nothing() {
        for t in ["1", "help", "on my way", "hello"] {
            assert_eq!(parse(Role::Unknown, t, today()), Reply::Other);
        }
    }
}
