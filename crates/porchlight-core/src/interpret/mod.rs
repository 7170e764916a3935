//! Reading people's words the way a person would (PRODUCT §5): the whole text, in English and
//! Spanish, forgiving of case, accents, punctuation, emoji, common typos and texting shorthand,
//! and aware of negation ("not ok" is not OK; "no help needed" is not a help request).
//!
//! [`interpret`] is a pure function of who wrote (their [`Role`]), what they wrote and their
//! local date. It returns a [`Reading`]: the meaning (a [`Reply`]), how sure it is, and a short
//! reason a coordinator can read in the timeline (`distress words "fell"`).
//!
//! Safety first when unsure:
//! * distress anywhere in a message wins over everything else, from anyone but an unknown
//!   number (help words, falls, pain, emergency numbers, "not ok", "no estoy bien");
//! * from a buddy or family member, "no answer at her door" is [`Reply::NoAnswer`], which
//!   escalates at once; it wins over "can't go", "on my way" and any OK words;
//! * an all-clear needs a plain confirmation: hedged ("hope she's ok", "she's fine I think"),
//!   questioned ("is she ok?") or negated ("haven't seen her") OK words never resolve anything,
//!   nor does an "ok" that only acknowledges the alert ("ok will do", "ok, thanks for letting
//!   me know") or a confirmation about another day ("saw her yesterday, she was fine");
//! * what cannot be placed is [`Reply::Other`]: from a member a sign of life, from anyone a note.
//!
//! STOP and START are carrier keywords and count only as whole messages.
//!
//! [`names_in`] finds which of several members a text names (first name, full name, possessive
//! "Walt's"), case- and accent-insensitive, and [`read_about`] splits a text that names several
//! members into what it says about each.
//!
//! Layout: `normalize` turns a text into words, `lexicon` holds the cue lists, `matching` finds
//! cues in words, `names` finds members named, `when` reads the day an away text names
//! ("until Sunday", "Dec 2", "two weeks"); this module reads a whole text.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::reply::{Reply, Role};

mod lexicon;
mod matching;
mod names;
mod normalize;
#[cfg(test)]
mod tests;
mod when;

use lexicon::*;
use matching::*;
pub use names::{names_in, read_about};
use normalize::*;

/// How sure a reading is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Nothing (or only hedged, questioned or conflicting words) was recognised.
    Low,
    /// A recognised word or phrase inside a longer text.
    Medium,
    /// The whole message is a keyword or a plain phrase ("1", "ok", "on my way").
    High,
}

/// What a text means, how sure the reading is, and why it was read that way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// The meaning.
    pub reply: Reply,
    /// How sure.
    pub confidence: Confidence,
    /// A short reason for the timeline, e.g. `distress words "fell"`.
    pub why: String,
    /// The distress is about the sender themself ("I fell", "help me", "me caí"), not about
    /// someone they were asked about.
    #[serde(default)]
    pub first_person: bool,
}

impl Reading {
    fn new(reply: Reply, confidence: Confidence, why: impl Into<String>) -> Reading {
        Reading {
            reply,
            confidence,
            why: why.into(),
            first_person: false,
        }
    }

    /// Whether the text asks for help (or says someone needs it).
    pub fn is_distress(&self) -> bool {
        self.reply == Reply::Help
    }

    /// The reason with the meaning, for the timeline: `read as help: distress words "fell"`.
    pub fn explain(&self) -> String {
        format!("read as {}: {}", meaning_label(&self.reply), self.why)
    }
}

/// A short name of a meaning, for the timeline.
pub fn meaning_label(r: &Reply) -> &'static str {
    match r {
        Reply::Ok => "OK",
        Reply::Help => "help",
        Reply::NoAnswer => "no answer at the door",
        Reply::Away { .. } => "away",
        Reply::Back => "back",
        Reply::Stop => "STOP",
        Reply::Start => "START",
        Reply::OnMyWay => "on my way",
        Reply::Cannot => "can't go",
        Reply::Other => "a note",
    }
}

fn quoted(words: &[String]) -> String {
    let mut ws: Vec<String> = Vec::new();
    for w in words {
        if !ws.contains(w) {
            ws.push(w.clone());
        }
    }
    ws.iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a reply from someone in `role`. `today` is the sender's local date (for "away 3").
pub fn interpret(role: Role, text: &str, today: NaiveDate) -> Reading {
    read_tokens(role, tokens(text), today)
}

fn read_tokens(role: Role, toks: Vec<Tok>, today: NaiveDate) -> Reading {
    use Confidence::{High, Low, Medium};
    let mut t = Text::new(toks);
    let n = t.toks.len();
    if n == 0 {
        return Reading::new(Reply::Other, Low, "no words");
    }
    // Carrier keywords are whole messages: carriers act on the bare word, so we must too.
    if n == 1 && STOP_WORDS.contains(&t.word(0)) {
        return Reading::new(Reply::Stop, High, "carrier keyword STOP");
    }
    if n == 1 && START_WORDS.contains(&t.word(0)) {
        return Reading::new(Reply::Start, High, "carrier keyword START");
    }

    // A lone "y" is yes ("y" inside a Spanish sentence is "and").
    if n == 1 && t.word(0) == "y" {
        t.toks[0].w = "yes".into();
    }
    // Phrases that carry their own negation come first, so "not bad" is not "bad"; greetings
    // are no answer ("good morning" is not "good").
    let ok_set = t.take(&LEX.ok_set);
    t.take(&LEX.greetings);
    t.take(&LEX.neutral);
    // Distress, strongest lists first.
    let mut distress: Vec<String> = Vec::new();
    let mut negated_distress: Vec<String> = Vec::new();
    let mut first_person = false;
    // "2" alone, or leading a message ("2 please"), is the advertised help key.
    if t.word(0) == "2"
        && (n == 1
            || !matches!(
                t.word(1),
                "days" | "dias" | "day" | "hours" | "more" | "weeks"
            ))
    {
        t.used[0] = true;
        distress.push("2".into());
    }
    // "1 2", "ok 2": both keys pressed, or a change of mind. Distress wins.
    if (2..=3).contains(&n)
        && t.word(n - 1) == "2"
        && matches!(t.word(n - 2), "1" | "ok" | "okay" | "or")
    {
        t.used[n - 1] = true;
        distress.push("2".into());
    }
    // "need" alone is on the member's table of help words; so are "I need" and "necesito".
    if t.word(0) == "need" && n <= 2 {
        t.used[0] = true;
        distress.push("need".into());
    } else if (n == 2 && t.word(0) == "i" && t.word(1) == "need")
        || (n == 1 && t.word(0) == "necesito")
    {
        t.used[n - 1] = true;
        distress.push(t.word(n - 1).to_string());
    }
    for list in [&LEX.fall, &LEX.pain, &LEX.emergency, &LEX.help, &LEX.unwell] {
        for h in t.take(list) {
            let q = t.quote(&h);
            if h.phrase == "sick" && h.at + 1 < n && t.word(h.at + 1) == "of" {
                continue; // "sick of these texts"
            }
            if h.phrase == "passed" && !passed_on(&t, &h) {
                continue; // "passed by her house", "the storm passed"
            }
            if t.negated(&h) {
                negated_distress.push(q);
            } else {
                first_person |= t.first_person(&h);
                distress.push(q);
            }
        }
    }
    // A blood sugar number out of range: "sugar was 40", "azúcar 350".
    for i in 0..n {
        if t.used[i] || !matches!(t.word(i), "sugar" | "azucar" | "glucose" | "glucosa") {
            continue;
        }
        let clause = t.toks[i].clause;
        for k in i + 1..(i + 5).min(n) {
            if t.toks[k].clause != clause {
                break;
            }
            if let Ok(v) = t.word(k).parse::<u32>() {
                if (1..70).contains(&v) || (301..2000).contains(&v) {
                    t.used[i] = true;
                    t.used[k] = true;
                    distress.push(format!("\"{} {v}\"", t.word(i)));
                }
                break;
            }
        }
    }
    // An OK taken back ("ok... not really"): distress, from anyone (a buddy's "she's ok...
    // not really" is about the member; one who means "can't go" only hurries the chain).
    for h in t.take(&LEX.take_back) {
        first_person |= t.first_person(&h);
        distress.push(t.quote(&h));
    }
    // A negated OK ("not ok", "no estoy bien", "don't feel well") is distress.
    for h in t.take(&LEX.negatable_ok) {
        if t.negated(&h) {
            first_person |= t.first_person(&h);
            distress.push(format!("not {}", t.quote(&h)));
        } else {
            // Put it back for the OK lists.
            for k in h.at..h.at + h.len {
                t.used[k] = false;
            }
        }
    }
    if !distress.is_empty() {
        if role == Role::Unknown {
            return Reading::new(
                Reply::Other,
                Medium,
                format!(
                    "distress words {} from an unknown number",
                    quoted(&distress)
                ),
            );
        }
        let conf = if t.content_len() <= 2 { High } else { Medium };
        let mut r = Reading::new(
            Reply::Help,
            conf,
            format!("distress words {}", quoted(&distress)),
        );
        r.first_person = first_person || role == Role::Member;
        return r;
    }
    if role == Role::Unknown {
        return Reading::new(Reply::Other, Low, "from an unknown number");
    }

    if role == Role::Member {
        return read_member(&mut t, today, &ok_set, &negated_distress);
    }
    read_other(&mut t, role, &ok_set, &negated_distress)
}

/// Whether "passed" says someone died: "passed away", "passed last night", "he passed";
/// not "passed by her house", "passed my test", "the storm passed".
fn passed_on(t: &Text, h: &Hit) -> bool {
    let clause = t.toks[h.at].clause;
    let next = t
        .toks
        .get(h.at + 1)
        .filter(|x| x.clause == clause)
        .map(|x| x.w.as_str());
    let prev = if h.at > 0 && t.toks[h.at - 1].clause == clause {
        t.word(h.at - 1)
    } else {
        ""
    };
    match next {
        Some(w) => matches!(
            w,
            "away"
                | "last"
                | "this"
                | "yesterday"
                | "today"
                | "overnight"
                | "peacefully"
                | "suddenly"
                | "early"
                | "in"
        ),
        None => {
            prev == NAME
                || matches!(
                    prev,
                    "he" | "she"
                        | "hes"
                        | "shes"
                        | "husband"
                        | "wife"
                        | "mom"
                        | "dad"
                        | "sister"
                        | "brother"
                        | "son"
                        | "daughter"
                        | "friend"
                        | "has"
                        | "just"
                )
        }
    }
}

/// For each word, whether it is the member saying they are going somewhere: a travel word
/// that starts its clause or follows only "I'm", "I'll be", "we are", ... ("my daughter is
/// staying with me" is someone else; "I'm going to be fine" goes nowhere). One pass.
fn travelling(t: &Text) -> Vec<bool> {
    const LEAD: &[&str] = &[
        "i", "im", "am", "ill", "will", "be", "we", "were", "are", "also", "just", "now", "off",
        "so", "and", "me", "nos", "a",
    ];
    let after = |k: usize| t.toks.get(k).map_or("", |w| w.w.as_str());
    let mut out = Vec::with_capacity(t.toks.len());
    let mut lead_only = true;
    for k in 0..t.toks.len() {
        if k > 0 && t.toks[k].clause != t.toks[k - 1].clause {
            lead_only = true;
        }
        let w = t.word(k);
        let someone_else_here =
            (after(k + 1) == "with" && after(k + 2) == "me") || after(k + 1) == "conmigo";
        let future_be = w == "going" && after(k + 1) == "to" && after(k + 2) == "be";
        out.push(lead_only && TRAVEL_WORDS.contains(&w) && !someone_else_here && !future_be);
        lead_only &= LEAD.contains(&w);
    }
    out
}

fn read_member(t: &mut Text, today: NaiveDate, ok_set: &[Hit], negated: &[String]) -> Reading {
    use Confidence::{High, Low, Medium};
    let n = t.toks.len();
    // Away: "away 3", "I'll be away until 12/24", "fuera hasta el domingo", "on vacation
    // till Dec 2", "out of town for two weeks"; "back Sunday" (away until then).
    let travel_at = travelling(t);
    let (mut travelled, mut negator_seen) = (false, false);
    for (i, &travels_here) in travel_at.iter().enumerate() {
        let away =
            matches!(
                t.word(i),
                "away" | "fuera" | "vacation" | "vacaciones" | "traveling" | "travelling" | "viaje"
            ) || (t.word(i) == "town" && i >= 2 && t.word(i - 2) == "out" && t.word(i - 1) == "of");
        let back = matches!(
            t.word(i),
            "back" | "returning" | "regreso" | "vuelvo" | "volvere" | "regresare"
        );
        // "I'm not going away until Friday", "no vuelvo hasta ...": not a date to hold
        // check-ins to; a negated "back" is still read below.
        let negated = (i.saturating_sub(3)..i).any(|k| NEGATORS.contains(&t.word(k)));
        // "Heading to my daughter's until Friday", "staying with my son till the 30th":
        // going somewhere, then an "until" that names a day.
        let travel = matches!(
            t.word(i),
            "until" | "till" | "til" | "thru" | "through" | "hasta"
        ) && travelled
            && !negator_seen;
        travelled |= travels_here;
        negator_seen |= NEGATORS.contains(&t.word(i));
        if travel {
            let rest: Vec<String> = t.toks[i..].iter().map(|t| t.w.clone()).collect();
            if let Some(until) = when::until(&rest, today, false) {
                return Reading::new(
                    Reply::Away { until },
                    Medium,
                    format!("travel words until {until}"),
                );
            }
        }
        if (away && !negated) || back {
            let rest: Vec<String> = t.toks[i + 1..].iter().map(|t| t.w.clone()).collect();
            if let Some(until) = when::until(&rest, today, away) {
                return Reading::new(
                    Reply::Away { until },
                    if i == 0 { High } else { Medium },
                    format!("away words until {until}"),
                );
            }
        }
    }
    let lead: Vec<&str> = t.toks.iter().take(3).map(|t| t.w.as_str()).collect();
    let back = matches!(
        lead.first().copied(),
        Some("back" | "home" | "regrese" | "volvi")
    ) || lead.starts_with(&["im", "back"])
        || lead.starts_with(&["i", "am", "back"])
        || lead.starts_with(&["im", "home"])
        || lead.starts_with(&["ya", "volvi"])
        || lead.starts_with(&["estoy", "de", "vuelta"])
        || lead.starts_with(&["ya", "regrese"]);
    if back {
        return Reading::new(
            Reply::Back,
            if n <= 2 { High } else { Medium },
            format!("back words \"{}\"", lead.join(" ")),
        );
    }
    if let Some(h) = ok_set.first() {
        return Reading::new(Reply::Ok, Medium, format!("OK words \"{}\"", t.quote(h)));
    }
    if !negated.is_empty() {
        return Reading::new(
            Reply::Ok,
            Medium,
            format!("negated distress words {}", quoted(negated)),
        );
    }
    let oks = t.take(&LEX.member_ok);
    // "1" leading a message ("1 thanks") counts; a bare other number does not.
    if let Some(h) = oks.first() {
        let words: Vec<String> = oks.iter().map(|h| t.quote(h)).collect();
        let conf = if t.content_len() <= words.len() + 1 && h.at == 0 {
            High
        } else {
            Medium
        };
        return Reading::new(Reply::Ok, conf, format!("OK words {}", quoted(&words)));
    }
    Reading::new(
        Reply::Other,
        Low,
        "no check-in words: a sign of life, kept for coordinators",
    )
}

fn read_other(t: &mut Text, role: Role, ok_set: &[Hit], negated: &[String]) -> Reading {
    use Confidence::{High, Low, Medium};
    let n = t.toks.len();
    let buddy = role == Role::Buddy;
    // "I'm not home" is about the buddy; take it before "not home" (about the member).
    let away_self: Vec<Hit> = t.take(&LEX.away_self);
    let no_answer: Vec<Hit> = t
        .take(&LEX.no_answer)
        .into_iter()
        .filter(|h| !t.questioned(h))
        .collect();
    // "Knocked and knocked. Nothing.", "toqué y nada": a bare "nothing" after knocking.
    let knocked = (0..n).any(|k| KNOCK_WORDS.contains(&t.word(k)));
    let nothing = (0..n).find(|&k| {
        matches!(t.word(k), "nothing" | "nada")
            && !t.used[k]
            && (k + 1 == n || t.toks[k + 1].clause != t.toks[k].clause)
    });
    let no_answer = match nothing {
        Some(k) if knocked && no_answer.is_empty() => {
            t.used[k] = true;
            vec![Hit {
                at: k,
                len: 1,
                phrase: "nothing",
            }]
        }
        _ => no_answer,
    };
    if !no_answer.is_empty() {
        let words: Vec<String> = no_answer.iter().map(|h| t.quote(h)).collect();
        return Reading::new(
            Reply::NoAnswer,
            if n <= 4 { High } else { Medium },
            format!("no-answer words {}", quoted(&words)),
        );
    }
    let claims = t.take(&LEX.claim);
    // "no" alone, or leading ("no sorry", "no can't today"), is a buddy's "can't go".
    let mut cannot: Vec<String> = Vec::new();
    if t.word(0) == "no" && !t.used[0] {
        t.used[0] = true;
        cannot.push("no".into());
    }
    cannot.extend(t.take(&LEX.cannot).iter().map(|h| t.quote(h)));
    cannot.extend(away_self.iter().map(|h| t.quote(h)));
    if buddy && !claims.is_empty() {
        let words: Vec<String> = claims.iter().map(|h| t.quote(h)).collect();
        return Reading::new(
            Reply::OnMyWay,
            if n <= 3 { High } else { Medium },
            format!("on-my-way words {}", quoted(&words)),
        );
    }
    if buddy && !cannot.is_empty() {
        return Reading::new(
            Reply::Cannot,
            if n <= 3 { High } else { Medium },
            format!("can't-go words {}", quoted(&cannot)),
        );
    }
    // Going / can't-go words from family are no confirmation ("ok, on my way").
    if !buddy && (!claims.is_empty() || !cannot.is_empty()) {
        return Reading::new(
            Reply::Other,
            Low,
            "going / can't-go words are a buddy's: a note",
        );
    }
    // A confirmation: plain OK or seen words, not hedged, asked or negated ("she's not with
    // me" confirms nothing).
    let seen = t.take(&LEX.seen);
    let acks = t.take(&LEX.ack);
    // "I'm sure she's fine" is a hedge, not a "sure" to going.
    let weak: Vec<Hit> = t
        .take(&LEX.weak_claim)
        .into_iter()
        .filter(|h| h.at == 0 || !matches!(t.word(h.at - 1), "im" | "am" | "pretty" | "not"))
        .collect();
    // A leading "ok" with an acknowledgment ("ok, thanks for letting me know"), a "yes" ("ok
    // sure", "ok will do") or a hedge anywhere ("ok, she's probably at church") answers the
    // alert, it does not confirm the member is fine.
    let hedge_anywhere = (0..n).any(|k| HEDGES.contains(&t.word(k)));
    let clauses: Vec<usize> = t.toks.iter().map(|x| x.clause).collect();
    let ws: Vec<String> = t.toks.iter().map(|x| x.w.clone()).collect();
    let bare = |h: &Hit| {
        BARE_OK.contains(&h.phrase)
            && (h.at == 0
                || clauses[h.at - 1] != clauses[h.at]
                || matches!(ws[h.at - 1].as_str(), "yes" | "si" | "sure"))
            && (!acks.is_empty() || !weak.is_empty() || hedge_anywhere)
    };
    // About another day ("saw her yesterday, she was fine"): no confirmation for today.
    let stale = t.has_any(STALE) && !t.has_any(FRESH);
    let plain: Vec<&Hit> = seen
        .iter()
        .chain(ok_set.iter())
        .filter(|h| !t.hedged(h) && !t.questioned(h) && !t.negated(h) && !bare(h))
        .collect();
    if stale && !plain.is_empty() {
        let words: Vec<String> = plain.iter().map(|h| t.quote(h)).collect();
        return Reading::new(
            Reply::Other,
            Low,
            format!(
                "OK words {} are about another day, not a confirmation",
                quoted(&words)
            ),
        );
    }
    // "I'm fine" / "estoy bien" from someone asked about another member is about themself.
    let about_self = |h: &Hit| SELF_STATE.contains(&h.phrase) && t.first_person(h);
    if !plain.is_empty() && plain.iter().all(|h| about_self(h)) {
        let words: Vec<String> = plain.iter().map(|h| t.quote(h)).collect();
        return Reading::new(
            Reply::Other,
            Low,
            format!(
                "OK words {} are about the sender, not a confirmation",
                quoted(&words)
            ),
        );
    }
    if let Some(_h) = plain.first() {
        let words: Vec<String> = plain.iter().map(|h| t.quote(h)).collect();
        let conf = if n <= 3 { High } else { Medium };
        return Reading::new(Reply::Ok, conf, format!("OK words {}", quoted(&words)));
    }
    if buddy && !weak.is_empty() {
        let words: Vec<String> = weak.iter().map(|h| t.quote(h)).collect();
        return Reading::new(
            Reply::OnMyWay,
            Medium,
            format!("read as going: {}", quoted(&words)),
        );
    }
    if !seen.is_empty() {
        let words: Vec<String> = seen.iter().map(|h| t.quote(h)).collect();
        return Reading::new(
            Reply::Other,
            Low,
            format!(
                "OK words {} hedged, asked, negated or an acknowledgment, not a confirmation",
                quoted(&words)
            ),
        );
    }
    if !claims.is_empty() || !cannot.is_empty() {
        return Reading::new(
            Reply::Other,
            Low,
            "going / can't-go words are a buddy's: a note",
        );
    }
    if !negated.is_empty() {
        return Reading::new(
            Reply::Other,
            Low,
            format!("negated distress words {}: a note", quoted(negated)),
        );
    }
    Reading::new(
        Reply::Other,
        Low,
        "nothing recognised: a note for coordinators",
    )
}
