//! Finding cues in normalized words: phrases with pronoun slots, negation, hedges, questions.

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

    pub(super) fn matches_at(&self, i: usize, phrase: &str) -> Option<usize> {
        let words: Vec<&str> = phrase.split(' ').collect();
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
    pub(super) fn take(&mut self, list: &'static [&'static str]) -> Vec<Hit> {
        let mut phrases: Vec<&'static str> = list.to_vec();
        phrases.sort_by_key(|p| std::cmp::Reverse(p.split(' ').count()));
        let mut hits = Vec::new();
        for p in phrases {
            for i in 0..self.toks.len() {
                if let Some(len) = self.matches_at(i, p) {
                    for k in i..i + len {
                        self.used[k] = true;
                    }
                    hits.push(Hit {
                        at: i,
                        len,
                        phrase: p,
                    });
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

    pub(super) fn hedged(&self, h: &Hit) -> bool {
        let clause = self.toks[h.at].clause;
        self.toks
            .iter()
            .enumerate()
            .any(|(j, t)| t.clause == clause && j < h.at && HEDGES.contains(&t.w.as_str()))
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
