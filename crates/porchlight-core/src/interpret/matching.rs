//! Finding cues in normalized words: phrases with pronoun slots, negation, hedges, questions.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::*;

/// A found cue: where, how long, and its words as written in the list.
#[derive(Clone, Debug)]
pub(super) struct Hit {
    pub(super) at: usize,
    pub(super) len: usize,
    pub(super) phrase: &'static str,
}

pub(super) struct Text {
    pub(super) toks: Vec<Tok>,
    pub(super) used: Vec<bool>,
}

impl Text {
    pub(super) fn new(toks: Vec<Tok>) -> Text {
        let used = vec![false; toks.len()];
        Text { toks, used }
    }

    pub(super) fn word(&self, i: usize) -> &str {
        &self.toks[i].w
    }

    /// Whether `words` (a phrase split at spaces, `*` a pronoun slot) occur unused at `i`,
    /// within one clause; their number if so.
    fn matches_at(&self, i: usize, words: &[&str]) -> Option<usize> {
        if i + words.len() > self.toks.len() {
            return None;
        }
        let clause = self.toks[i].clause;
        for (k, w) in words.iter().enumerate() {
            let t = &self.toks[i + k];
            if self.used[i + k] || t.clause != clause {
                return None;
            }
            let ok = if *w == "*" {
                PRONOUNS.contains(&t.w.as_str())
            } else {
                t.w == *w
            };
            if !ok {
                return None;
            }
        }
        Some(words.len())
    }

    /// Finds every unused occurrence of the list's phrases, longest first, and marks them used.
    pub(super) fn take(&mut self, cues: &Cues) -> Vec<Hit> {
        // Only phrases whose first word is in the text (or a pronoun slot) can match; they
        // are tried in the list's longest-first order, as if every phrase were.
        let mut tried: Vec<usize> = cues.star.clone();
        for t in &self.toks {
            if let Some(ix) = cues.by_first.get(t.w.as_str()) {
                tried.extend_from_slice(ix);
            }
        }
        tried.sort_unstable();
        tried.dedup();
        let mut hits = Vec::new();
        for p in tried {
            let (words, phrase) = (&cues.phrases[p].0, cues.phrases[p].1);
            for i in 0..self.toks.len() {
                if let Some(len) = self.matches_at(i, words) {
                    for k in i..i + len {
                        self.used[k] = true;
                    }
                    hits.push(Hit { at: i, len, phrase });
                }
            }
        }
        hits.sort_by_key(|h| h.at);
        hits
    }

    /// Whether a hit is negated: a negator before it in the same clause, with only bridge
    /// words between ("don't need any help", "no me siento bien", but not "no I need help").
    pub(super) fn negated(&mut self, h: &Hit) -> bool {
        match self.negator_of(h) {
            Some(j) => {
                self.used[j] = true;
                true
            }
            None => false,
        }
    }

    pub(super) fn negator_of(&self, h: &Hit) -> Option<usize> {
        let clause = self.toks[h.at].clause;
        let mut j = h.at;
        let mut bridged = 0;
        while j > 0 {
            j -= 1;
            let t = &self.toks[j];
            if t.clause != clause {
                return None;
            }
            if NEGATORS.contains(&t.w.as_str()) {
                return Some(j);
            }
            if !BRIDGES.contains(&t.w.as_str()) || bridged >= 3 {
                return None;
            }
            bridged += 1;
        }
        None
    }

    /// Whether a hit is hedged: a hedge before it in its clause ("hope she's ok"), or one of
    /// the hedges that also reach back after it ("she's fine I think").
    pub(super) fn hedged(&self, h: &Hit) -> bool {
        let clause = self.toks[h.at].clause;
        self.toks.iter().enumerate().any(|(j, t)| {
            t.clause == clause
                && ((j < h.at && HEDGES.contains(&t.w.as_str()))
                    || (j >= h.at + h.len && POST_HEDGES.contains(&t.w.as_str())))
        })
    }

    /// Whether any of the phrases (words split at spaces) occurs in the text, used or not.
    pub(super) fn has_any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|p| {
            let words: Vec<&str> = p.split(' ').collect();
            self.toks.windows(words.len()).any(|win| {
                win.iter().zip(&words).all(|(t, w)| t.w == *w)
                    && win.iter().all(|t| t.clause == win[0].clause)
            })
        })
    }

    pub(super) fn questioned(&self, h: &Hit) -> bool {
        self.toks[h.at].question
    }

    /// Whether the words just before a hit make it about the sender ("I fell", "I'm not ok",
    /// "my chest hurts", "help me", "me caí"), not about someone else ("I found her on the
    /// floor").
    pub(super) fn first_person(&self, h: &Hit) -> bool {
        if h.phrase.starts_with("me ")
            || h.phrase.starts_with("no me ")
            || h.phrase.starts_with("no puedo")
            || h.phrase.starts_with("estoy ")
        {
            return true;
        }
        let clause = self.toks[h.at].clause;
        let after = h.at + h.len;
        if after < self.toks.len()
            && self.toks[after].clause == clause
            && matches!(self.toks[after].w.as_str(), "me" | "us")
        {
            return true;
        }
        let mut j = h.at;
        let mut steps = 0;
        while j > 0 && steps < 4 {
            j -= 1;
            steps += 1;
            let t = &self.toks[j];
            if t.clause != clause {
                return false;
            }
            let w = t.w.as_str();
            if FIRST_PERSON.contains(&w) {
                return true;
            }
            let walk = BRIDGES.contains(&w)
                || NEGATORS.contains(&w)
                || matches!(
                    w,
                    "just"
                        | "really"
                        | "think"
                        | "chest"
                        | "back"
                        | "head"
                        | "leg"
                        | "arm"
                        | "hip"
                        | "knee"
                        | "stomach"
                        | "heart"
                        | "feet"
                        | "foot"
                );
            if !walk {
                return false;
            }
        }
        false
    }

    /// The words a hit covers, as written after normalizing.
    pub(super) fn quote(&self, h: &Hit) -> String {
        self.toks[h.at..h.at + h.len]
            .iter()
            .map(|t| t.w.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub(super) fn content_len(&self) -> usize {
        self.toks
            .iter()
            .filter(|t| {
                !matches!(
                    t.w.as_str(),
                    "please" | "por" | "favor" | "thanks" | "gracias" | "sorry" | "smile"
                )
            })
            .count()
    }
}

/// A cue list made ready for matching once: its phrases split into words, longest first (the
/// list's order among phrases of one length), and indexed by their first word.
pub(super) struct Cues {
    phrases: Vec<(Vec<&'static str>, &'static str)>,
    by_first: HashMap<&'static str, Vec<usize>>,
    /// Phrases that start with a pronoun slot: tried on every text.
    star: Vec<usize>,
}

impl Cues {
    fn new(list: &'static [&'static str]) -> Cues {
        let mut phrases: Vec<(Vec<&'static str>, &'static str)> =
            list.iter().map(|p| (p.split(' ').collect(), *p)).collect();
        phrases.sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        let mut by_first: HashMap<&'static str, Vec<usize>> = HashMap::new();
        let mut star = Vec::new();
        for (i, (words, _)) in phrases.iter().enumerate() {
            match words.first() {
                Some(&"*") => star.push(i),
                Some(w) => by_first.entry(*w).or_default().push(i),
                None => {}
            }
        }
        Cues {
            phrases,
            by_first,
            star,
        }
    }
}

/// Every cue list the reader takes from, made ready once per process.
pub(super) struct Lexicon {
    pub(super) ok_set: Cues,
    pub(super) greetings: Cues,
    pub(super) neutral: Cues,
    pub(super) fall: Cues,
    pub(super) pain: Cues,
    pub(super) emergency: Cues,
    pub(super) help: Cues,
    pub(super) unwell: Cues,
    pub(super) negatable_ok: Cues,
    pub(super) member_ok: Cues,
    pub(super) away_self: Cues,
    pub(super) no_answer: Cues,
    pub(super) claim: Cues,
    pub(super) cannot: Cues,
    pub(super) seen: Cues,
    pub(super) weak_claim: Cues,
    pub(super) ack: Cues,
    pub(super) take_back: Cues,
}

pub(super) static LEX: LazyLock<Lexicon> = LazyLock::new(|| Lexicon {
    ok_set: Cues::new(OK_SET_PHRASES),
    greetings: Cues::new(GREETINGS),
    neutral: Cues::new(NEUTRAL),
    fall: Cues::new(FALL_CUES),
    pain: Cues::new(PAIN_CUES),
    emergency: Cues::new(EMERGENCY_CUES),
    help: Cues::new(HELP_CUES),
    unwell: Cues::new(UNWELL_CUES),
    negatable_ok: Cues::new(NEGATABLE_OK),
    member_ok: Cues::new(MEMBER_OK),
    away_self: Cues::new(AWAY_SELF_CUES),
    no_answer: Cues::new(NO_ANSWER_CUES),
    claim: Cues::new(CLAIM_CUES),
    cannot: Cues::new(CANNOT_CUES),
    seen: Cues::new(SEEN_CUES),
    weak_claim: Cues::new(WEAK_CLAIM_CUES),
    ack: Cues::new(ACK_CUES),
    take_back: Cues::new(TAKE_BACK),
});
