//! Which members a text names, and what it says about each of several.

use super::*;

pub(super) fn name_words(name: &str) -> Vec<String> {
    tokens(name).into_iter().map(|t| t.w).collect()
}

/// Where each candidate is named in the tokens: (token index, length, candidate index).
pub(super) fn mentions(toks: &[Tok], candidates: &[(&str, &str)]) -> Vec<(usize, usize, usize)> {
    let names: Vec<Vec<String>> = candidates.iter().map(|(_, n)| name_words(n)).collect();
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let mut best: Option<(usize, usize)> = None; // (len, candidate)
        let mut tie = false;
        for (ci, words) in names.iter().enumerate() {
            if words.is_empty() {
                continue;
            }
            let eq = |tok: &str, w: &str| tok == w || tok.strip_suffix('s') == Some(w);
            // Full name.
            let full = words.len() > 1
                && i + words.len() <= toks.len()
                && words.iter().enumerate().all(|(k, w)| eq(&toks[i + k].w, w));
            let len = if full {
                words.len()
            } else if eq(&toks[i].w, &words[0]) {
                1
            } else {
                0
            };
            if len == 0 {
                continue;
            }
            match best {
                Some((bl, _)) if bl > len => {}
                Some((bl, _)) if bl == len => tie = true,
                _ => {
                    best = Some((len, ci));
                    tie = false;
                }
            }
        }
        match best {
            Some((len, ci)) if !tie => {
                found.push((i, len, ci));
                i += len;
            }
            Some((len, _)) => {
                // A first name two candidates share: every one of them is named.
                for (ci, words) in names.iter().enumerate() {
                    let w0 = words.first().map(String::as_str).unwrap_or("");
                    if toks[i].w == w0 || toks[i].w.strip_suffix('s') == Some(w0) {
                        found.push((i, len, ci));
                    }
                }
                i += len;
            }
            None => i += 1,
        }
    }
    found
}

/// The ids of the candidates a text names, as `(id, full name)` pairs: by first name or full
/// name (and "Walt's"), ignoring case and accents. A first name two candidates share names
/// both unless the full name is written. In candidate order.
pub fn names_in(text: &str, candidates: &[(&str, &str)]) -> Vec<String> {
    let toks = tokens(text);
    let found = mentions(&toks, candidates);
    candidates
        .iter()
        .enumerate()
        .filter(|(ci, _)| found.iter().any(|(_, _, c)| c == ci))
        .map(|(_, (id, _))| id.to_string())
        .collect()
}

/// What a text says about each candidate it names. Each clause goes with the names in it, and
/// a clause without a name with the one before ("Seen Walt, he's fine"); within a clause, the
/// words from one name to the next go with it when both parts say something ("Walt fine Betty
/// no answer"), else the whole clause goes with every name in it ("Saw Walt and Betty").
/// Distress or no answer said of a member in any part wins. Empty when no candidate is named.
pub fn read_about(
    role: Role,
    text: &str,
    today: NaiveDate,
    candidates: &[(&str, &str)],
) -> Vec<(String, Reading)> {
    let mut toks = tokens(text);
    let found = mentions(&toks, candidates);
    if found.is_empty() {
        return Vec::new();
    }
    // Names stand for "*" in phrases ("cant find Walt", "called Betty").
    for (at, len, _) in &found {
        for t in &mut toks[*at..*at + *len] {
            t.w = NAME.to_string();
        }
    }
    let content = |ts: &[Tok]| {
        ts.iter()
            .filter(|t| {
                t.w != NAME
                    && !matches!(t.w.as_str(), "and" | "y" | "&" | "both" | "ambos" | "ambas")
            })
            .count()
    };
    // Units of (names, words).
    let mut units: Vec<(Vec<usize>, Vec<Tok>)> = Vec::new();
    let mut orphan: Vec<Tok> = Vec::new();
    let last_clause = toks.last().map_or(0, |t| t.clause);
    for clause in 0..=last_clause {
        let idx: Vec<usize> = (0..toks.len())
            .filter(|i| toks[*i].clause == clause)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let (from, to) = (idx[0], idx[idx.len() - 1] + 1);
        let here: Vec<&(usize, usize, usize)> = found
            .iter()
            .filter(|(at, _, _)| *at >= from && *at < to)
            .collect();
        if here.is_empty() {
            match units.last_mut() {
                Some(u) => u.1.extend(toks[from..to].iter().cloned()),
                None => orphan.extend(toks[from..to].iter().cloned()),
            }
            continue;
        }
        let mut starts: Vec<usize> = here.iter().map(|(at, _, _)| *at).collect();
        starts.dedup();
        let parts: Vec<(usize, usize)> = starts
            .iter()
            .enumerate()
            .map(|(k, st)| {
                let a = if k == 0 { from } else { *st };
                let b = starts.get(k + 1).copied().unwrap_or(to);
                (a, b)
            })
            .collect();
        let split = parts.len() > 1 && parts.iter().all(|(a, b)| content(&toks[*a..*b]) > 0);
        let first_unit = units.len();
        if split {
            for (k, (a, b)) in parts.iter().enumerate() {
                let names: Vec<usize> = here
                    .iter()
                    .filter(|(at, _, _)| *at == starts[k])
                    .map(|(_, _, ci)| *ci)
                    .collect();
                units.push((names, toks[*a..*b].to_vec()));
            }
        } else {
            let names: Vec<usize> = here.iter().map(|(_, _, ci)| *ci).collect();
            units.push((names, toks[from..to].to_vec()));
        }
        if !orphan.is_empty() {
            // Words before the first name ("Seen nobody. Walt's door locked") go with it.
            let mut words = std::mem::take(&mut orphan);
            let unit = &mut units[first_unit];
            words.append(&mut unit.1);
            unit.1 = words;
        }
    }
    let mut out: Vec<(String, Reading)> = Vec::new();
    for (names, words) in units {
        let reading = read_tokens(role, words, today);
        for ci in names {
            let id = candidates[ci].0.to_string();
            if let Some(existing) = out.iter_mut().find(|(i, _)| *i == id) {
                if rank(&reading.reply) > rank(&existing.1.reply)
                    || existing.1.reply == Reply::Other
                {
                    existing.1 = reading.clone();
                }
            } else {
                out.push((id, reading.clone()));
            }
        }
    }
    out
}

/// How urgent a meaning is, for "the safest of two readings".
pub(super) fn rank(r: &Reply) -> u8 {
    match r {
        Reply::Help => 5,
        Reply::NoAnswer => 4,
        Reply::Cannot => 3,
        Reply::OnMyWay => 2,
        Reply::Other => 1,
        _ => 0,
    }
}
