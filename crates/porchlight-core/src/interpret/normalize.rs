//! Normalizing a text into words: case, accents, apostrophes, emoji, typos and texting
//! shorthand, with clause numbers.

use super::*;

/// One normalized word, with the clause it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Tok {
    pub(super) w: String,
    pub(super) clause: usize,
    /// The clause ends with a question mark (or starts with "¿").
    pub(super) question: bool,
}

/// A placeholder for a member's name in the token stream.
pub(super) const NAME: &str = "<name>";

pub(super) fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ë' | 'ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' | 'õ' => 'o',
        'ú' | 'ù' | 'ü' | 'û' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        c => c,
    }
}

/// Emoji that mean something, as words.
pub(super) fn emoji_word(c: char) -> Option<&'static str> {
    Some(match c {
        '👍' | '👌' | '✅' | '✔' | '☑' | '🆗' | '💯' => "ok",
        '🙂' | '😊' | '😀' | '😃' | '😄' | '😁' | '☺' | '😌' => "smile",
        '🆘' => "sos",
        '🚑' => "ambulance",
        '🚨' => "emergency",
        '🤕' => "hurt",
        '🤒' | '😷' | '🤢' | '🤮' => "sick",
        '😵' => "dizzy",
        '👎' => "notok",
        '🏃' | '🚗' | '🚶' => "omw",
        _ => return None,
    })
}

pub(super) fn is_modifier(c: char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(&c) || matches!(c, '\u{FE0F}' | '\u{FE0E}' | '\u{200D}')
}

/// Collapses runs of 3 or more of the same character to `keep` characters.
pub(super) fn squeeze(w: &str, keep: usize) -> String {
    let mut out = String::new();
    let chars: Vec<char> = w.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        let run = j - i;
        let n = if run >= 3 { keep } else { run };
        for _ in 0..n {
            out.push(c);
        }
        i = j;
    }
    out
}

/// Texting shorthand and common typos, after accents and apostrophes are dropped.
pub(super) fn shorthand(w: &str) -> Option<&'static str> {
    Some(match w {
        "hlep" | "hepl" | "hlp" | "halp" | "hekp" | "helo p" | "hepp" | "healp" | "hellp"
        | "jelp" => "help",
        "helpme" | "hlepme" => "help me",
        "pls" | "plz" | "plez" | "plse" | "pleas" | "pleaze" | "plis" | "pliz" => "please",
        "porfa" | "xfa" | "porfavor" => "por favor",
        "okay" | "okey" | "okie" | "oki" | "oky" | "oka" | "okk" | "kk" | "k" | "ook" | "0k"
        | "okiedokie" | "okeydokey" | "okdokey" | "okays" | "oks" | "okis" => "ok",
        "yeah" | "yea" | "yep" | "yup" | "yes" | "yas" | "yess" | "yse" | "ues" | "yeh" => "yes",
        "fien" | "fime" | "fne" | "fiine" | "fins" => "fine",
        "gud" | "gd" | "goood" => "good",
        "alrite" | "allright" | "alrigth" | "aight" | "alr" | "alright" | "allrite" | "alrigt" => {
            "alright"
        }
        "imok" => "im ok",
        "imfine" => "im fine",
        "imgood" => "im good",
        "allgood" => "all good",
        "onmyway" => "on my way",
        "emergancy" | "emergecy" | "emergeny" | "emergncy" | "emerency" | "emergenc"
        | "emergenca" | "emergencey" => "emergency",
        "ambulence" | "ambulanse" | "amublance" | "ambulanc" | "ambulane" | "embulance"
        | "ambulace" | "ambulanze" => "ambulance",
        "falled" | "fallin" | "falen" => "fallen",
        "fel" => "fell",
        "sik" | "sck" => "sick",
        "pian" => "pain",
        "cnt" | "carnt" | "cannot" | "caint" => "cant",
        "cudnt" | "couldn" | "coudnt" | "couldnt" => "couldnt",
        "dnt" | "don" | "dont" => "dont",
        "didn" | "didnt" | "didint" => "didnt",
        "nesesito" | "nececito" | "nesecito" | "necsito" | "necesito" => "necesito",
        "ayudame" | "ayudeme" | "ayudenme" | "ayudarme" => "ayuda me",
        "toy" | "stoy" | "estpy" | "estoi" => "estoy",
        "ta" | "sta" => "esta",
        "bn" | "vien" => "bien",
        "iam" => "i am",
        "u" => "you",
        "thx" | "thnx" | "ty" | "tks" | "tnx" | "thanx" | "thanku" | "thankyou" => "thanks",
        "goin" => "going",
        "gonna" => "going to",
        "noone" | "nobodys" | "nobody" => "nobody",
        "anwser" | "answr" | "ansewr" | "anser" => "answer",
        "anwsered" | "answerd" | "ansered" => "answered",
        "anwsering" | "answerin" | "answeing" => "answering",
        "breath" | "brethe" | "breth" => "breathe",
        "dizy" => "dizzy",
        "visit" => "visit",
        "omw" | "otw" | "omv" => "omw",
        "seeen" | "sen" => "seen",
        "si" | "sip" | "sii" => "si",
        "hes" | "heis" => "hes",
        "shes" | "sheis" => "shes",
        "mum" | "mom" | "mommy" | "mama" | "mami" | "madre" | "mother" => "mom",
        "dad" | "papa" | "papi" | "father" | "padre" => "dad",
        "ella" => "ella",
        _ => return None,
    })
}

/// Every word a cue list knows, to pick the right squeeze of "helppp" or "goooood".
pub(super) fn known(w: &str) -> bool {
    static KNOWN: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| {
            ALL_CUES
                .iter()
                .flat_map(|list| list.iter().flat_map(|p| p.split(' ')))
                .chain(NEGATORS.iter().copied())
                .chain(HEDGES.iter().copied())
                .collect()
        });
    shorthand(w).is_some() || KNOWN.contains(w)
}

pub(super) fn canon(raw: &str) -> String {
    let s2 = squeeze(raw, 2);
    let s1 = squeeze(raw, 1);
    for cand in [raw, s2.as_str(), s1.as_str()] {
        if let Some(s) = shorthand(cand) {
            return s.to_string();
        }
        if known(cand) {
            return cand.to_string();
        }
    }
    s2
}

/// Words in order, lowercase, accents, apostrophes and emoji modifiers dropped, shorthand
/// expanded, with clause numbers (a clause ends at `. , ; : ! ?`, a line break or "but").
pub(super) fn tokens(text: &str) -> Vec<Tok> {
    let mut raw: Vec<(String, usize)> = Vec::new();
    let mut clause_q: Vec<bool> = vec![false];
    let mut clause = 0usize;
    let mut cur = String::new();
    let flush = |cur: &mut String, raw: &mut Vec<(String, usize)>, clause: usize| {
        if !cur.is_empty() {
            raw.push((std::mem::take(cur), clause));
        }
    };
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_modifier(c) || matches!(c, '\'' | '’' | '`' | '´' | '‘') {
            continue;
        }
        let c = fold(c);
        if c.is_alphanumeric() && emoji_word(c).is_none_or(|_| c.is_ascii()) {
            cur.push(c);
            continue;
        }
        if c == '/' && cur.chars().last().is_some_and(|l| l.is_ascii_digit()) {
            cur.push(c);
            continue;
        }
        if c == '-' && !cur.is_empty() {
            continue; // "check-in" → "checkin"
        }
        flush(&mut cur, &mut raw, clause);
        if let Some(w) = emoji_word(c) {
            raw.push((w.to_string(), clause));
            continue;
        }
        match c {
            '.' | ',' | ';' | ':' | '!' | '?' | '\n' | '\r' | '¡' | '¿' | '(' | ')' | '…' => {
                if c == '?' {
                    clause_q[clause] = true;
                }
                let has_words = raw.last().is_some_and(|(_, cl)| *cl == clause);
                if has_words {
                    clause += 1;
                    clause_q.push(false);
                }
                if c == '¿' {
                    clause_q[clause] = true;
                }
            }
            _ => {}
        }
    }
    flush(&mut cur, &mut raw, clause);
    let mut out: Vec<Tok> = Vec::new();
    let mut clause_now = 0usize;
    let mut last_orig: Option<usize> = None;
    for (w, cl) in raw {
        if last_orig.is_some_and(|l| l != cl) {
            clause_now += 1;
        }
        last_orig = Some(cl);
        let question = clause_q.get(cl).copied().unwrap_or(false);
        for part in canon(&w).split(' ') {
            // "but" / "pero" / "though" start a new clause.
            if matches!(part, "but" | "pero" | "though" | "aunque" | "although") {
                clause_now += 1;
                continue;
            }
            out.push(Tok {
                w: part.to_string(),
                clause: clause_now,
                question,
            });
        }
    }
    out
}
