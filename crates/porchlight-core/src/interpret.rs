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
//! * an all-clear needs a plain confirmation: hedged ("hope she's ok"), questioned ("is she
//!   ok?") or negated ("haven't seen her") OK words never resolve anything;
//! * what cannot be placed is [`Reply::Other`]: from a member a sign of life, from anyone a note.
//!
//! STOP and START are carrier keywords and count only as whole messages.
//!
//! [`names_in`] finds which of several members a text names (first name, full name, possessive
//! "Walt's"), case- and accent-insensitive, and [`read_about`] splits a text that names several
//! members into what it says about each.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::reply::{Reply, Role};

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

// ----- normalizing ---------------------------------------------------------------------------

/// One normalized word, with the clause it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Tok {
    w: String,
    clause: usize,
    /// The clause ends with a question mark (or starts with "¿").
    question: bool,
}

/// A placeholder for a member's name in the token stream.
const NAME: &str = "<name>";

fn fold(c: char) -> char {
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
fn emoji_word(c: char) -> Option<&'static str> {
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

fn is_modifier(c: char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(&c) || matches!(c, '\u{FE0F}' | '\u{FE0E}' | '\u{200D}')
}

/// Collapses runs of 3 or more of the same character to `keep` characters.
fn squeeze(w: &str, keep: usize) -> String {
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
fn shorthand(w: &str) -> Option<&'static str> {
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
        "ambulence" | "ambulanse" | "amublance" | "ambulanc" | "ambulane" => "ambulance",
        "falled" | "fallin" | "falen" => "fallen",
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
fn known(w: &str) -> bool {
    shorthand(w).is_some()
        || ALL_CUES
            .iter()
            .any(|list| list.iter().any(|p| p.split(' ').any(|x| x == w)))
        || NEGATORS.contains(&w)
        || HEDGES.contains(&w)
}

fn canon(raw: &str) -> String {
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
fn tokens(text: &str) -> Vec<Tok> {
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

// ----- cue lists -----------------------------------------------------------------------------

/// In a phrase, `*` stands for a pronoun, a family word or a member's name.
const PRONOUNS: &[&str] = &[
    "her", "him", "them", "she", "he", "shes", "hes", "it", "la", "lo", "le", "ella", "el", "mom",
    "dad", NAME,
];

/// Clearly about the sender themself.
const FIRST_PERSON: &[&str] = &["i", "im", "me", "my", "mi", "estoy", "necesito", "ive"];

const HELP_CUES: &[&str] = &[
    "help",
    "sos",
    "ayuda",
    "auxilio",
    "socorro",
    "need a hand",
    "needs help",
    "need hand",
    "need someone",
    "need somebody",
    "need you",
    "needs you",
    "send someone",
    "send somebody",
    "come quick",
    "come quickly",
    "come now",
    "come asap",
    "please come",
    "come please",
    "hurry",
    "necesito a alguien",
    "vengan",
    "venga rapido",
    "ven rapido",
    "manden a alguien",
    "notok",
];

const FALL_CUES: &[&str] = &[
    "fell",
    "fallen",
    "had a fall",
    "took a fall",
    "a fall",
    "fall down",
    "i fall",
    "on the floor",
    "on the ground",
    "on floor",
    "cant get up",
    "can not get up",
    "couldnt get up",
    "unable to get up",
    "stuck in the",
    "me cai",
    "me caido",
    "se cayo",
    "se cae",
    "caida",
    "en el piso",
    "en el suelo",
    "no me puedo levantar",
    "no puedo levantarme",
    "no se puede levantar",
    "no puede levantarse",
    "tirado",
    "tirada",
];

const PAIN_CUES: &[&str] = &[
    "chest pain",
    "chest pains",
    "pain",
    "pains",
    "hurts",
    "hurt",
    "hurting",
    "injured",
    "bleeding",
    "blood",
    "dolor",
    "me duele",
    "duele",
    "sangre",
    "sangrando",
    "herido",
    "herida",
    "broke my",
    "broken",
    "cant breathe",
    "can not breathe",
    "hard to breathe",
    "short of breath",
    "trouble breathing",
    "not breathing",
    "no puedo respirar",
    "no respira",
    "dizzy",
    "faint",
    "fainted",
    "passed out",
    "mareado",
    "mareada",
    "me desmaye",
    "desmayo",
    "desmayada",
    "desmayado",
    "stroke",
    "heart attack",
    "infarto",
    "derrame",
    "seizure",
    "convulsion",
    "unconscious",
    "inconsciente",
    "choking",
];

const EMERGENCY_CUES: &[&str] = &[
    "911",
    "112",
    "999",
    "emergency",
    "emergencia",
    "urgent",
    "urgente",
    "ambulance",
    "ambulancia",
    "paramedics",
    "paramedicos",
    "hospital",
    "er",
    "urgencias",
    "police",
    "policia",
    "intruder",
    "broke in",
    "break in",
    "on fire",
    "house fire",
    "incendio",
    "fuego",
];

const UNWELL_CUES: &[&str] = &[
    "sick",
    "unwell",
    "enfermo",
    "enferma",
    "me siento mal",
    "estoy mal",
    "muy mal",
    "feel bad",
    "feel awful",
    "feel terrible",
    "feel horrible",
    "feeling bad",
    "feeling awful",
    "feeling terrible",
    "feeling horrible",
    "feel sick",
    "scared",
    "afraid",
    "frightened",
    "miedo",
    "asustado",
    "asustada",
    "confused",
    "confundido",
    "confundida",
    "not myself",
];

/// OK words that mean distress when negated ("not ok", "no estoy bien", "not feeling well").
const NEGATABLE_OK: &[&str] = &[
    "ok", "fine", "good", "well", "alright", "great", "bien", "right", "safe", "bueno", "buena",
];

/// OK phrases that carry their own negation: read before negation is looked at.
const OK_SET_PHRASES: &[&str] = &[
    "not bad",
    "not too bad",
    "not so bad",
    "no complaints",
    "cant complain",
    "never better",
    "no problem",
    "no problems",
    "nothing wrong",
    "no issues",
    "sin novedad",
    "sin problema",
    "sin problemas",
    "no pasa nada",
    "nada malo",
];

/// Words that carry a negation but say nothing about anyone ("don't worry").
const NEUTRAL: &[&str] = &[
    "dont worry",
    "no te preocupes",
    "no se preocupe",
    "no worries",
    "no rush",
    "no hurry",
];

const MEMBER_OK: &[&str] = &[
    "1",
    "ok",
    "yes",
    "fine",
    "good",
    "great",
    "alright",
    "all good",
    "doing well",
    "well",
    "si",
    "bien",
    "bueno",
    "buena",
    "vale",
    "perfecto",
    "perfecta",
    "excelente",
    "estoy bien",
    "todo bien",
    "smile",
    "safe",
    "wonderful",
    "dandy",
];

/// "I'm not home" is a buddy who can't go; "she's not home" is no answer.
const AWAY_SELF_CUES: &[&str] = &[
    "im not home",
    "i am not home",
    "im away",
    "i am away",
    "im out",
    "im at work",
    "at work",
    "out of town",
    "no estoy en casa",
    "estoy fuera",
    "fuera de la ciudad",
    "estoy trabajando",
    "trabajando",
];

const NO_ANSWER_CUES: &[&str] = &[
    "no answer",
    "not answering",
    "nobody answers",
    "nobody answered",
    "nobody answering",
    "nobody home",
    "no one answers",
    "no one answered",
    "no one home",
    "no ones home",
    "nobody",
    "no one",
    "didnt answer",
    "doesnt answer",
    "wont answer",
    "did not answer",
    "does not answer",
    "not answer",
    "no response",
    "no reply",
    "not responding",
    "doesnt respond",
    "didnt respond",
    "cant reach",
    "couldnt reach",
    "can not reach",
    "unable to reach",
    "cant get in",
    "couldnt get in",
    "cant get hold",
    "couldnt get hold",
    "cant find *",
    "couldnt find *",
    "door locked",
    "doors locked",
    "door is locked",
    "locked",
    "curtains closed",
    "curtains drawn",
    "curtains are closed",
    "blinds closed",
    "blinds down",
    "lights off",
    "lights out",
    "no lights",
    "not home",
    "not at home",
    "not there",
    "no sign",
    "phone off",
    "voicemail",
    "not picking up",
    "no pick up",
    "doesnt pick up",
    "didnt pick up",
    "havent seen *",
    "have not seen *",
    "not seen *",
    "didnt see *",
    "did not see *",
    "havent heard",
    "not heard",
    "no word",
    "seen nobody",
    "saw nobody",
    "no luck",
    "no contesta",
    "no contestan",
    "no responde",
    "no abre",
    "nadie abre",
    "nadie contesta",
    "nadie responde",
    "nadie",
    "no esta en casa",
    "no estaba",
    "no la encuentro",
    "no lo encuentro",
    "no la veo",
    "no lo veo",
    "no la he visto",
    "no lo he visto",
    "no la vi",
    "no lo vi",
    "puerta cerrada",
    "cerrado con llave",
    "cerrada con llave",
    "cortinas cerradas",
    "luces apagadas",
    "no hay nadie",
    "no me abre",
    "no me contesta",
    "buzon de voz",
    "no la puedo localizar",
    "no lo puedo localizar",
    "no localizo",
];

const CLAIM_CUES: &[&str] = &[
    "omw",
    "on my way",
    "on the way",
    "on way",
    "heading over",
    "heading there",
    "headed over",
    "heading to *",
    "going over",
    "going now",
    "going there",
    "going round",
    "going to check",
    "going to see",
    "going to *",
    "im going",
    "going",
    "ill go",
    "i will go",
    "will go",
    "ill check",
    "i will check",
    "will check",
    "let me check",
    "ill look",
    "ill stop by",
    "will stop by",
    "stopping by",
    "ill pop",
    "popping over",
    "be there",
    "on it",
    "leaving now",
    "walking over",
    "driving over",
    "voy",
    "ya voy",
    "voy para alla",
    "voy a ir",
    "voy a ver",
    "en camino",
    "ahora voy",
    "salgo ahora",
    "paso a ver",
];

/// Weak claims: "yes" to "can you knock?". A confirmation in the same text beats them.
const WEAK_CLAIM_CUES: &[&str] = &["yes", "sure", "will do", "si", "claro", "of course"];

const CANNOT_CUES: &[&str] = &[
    "nope",
    "cant",
    "can not",
    "cant go",
    "cant make it",
    "unable",
    "busy",
    "not today",
    "not available",
    "unavailable",
    "not able",
    "wont be able",
    "not me",
    "no puedo",
    "no puedo ir",
    "ocupado",
    "ocupada",
    "sorry no",
];

const SEEN_CUES: &[&str] = &[
    "1",
    "ok",
    "fine",
    "good",
    "great",
    "alright",
    "all good",
    "all well",
    "all ok",
    "well",
    "seen",
    "saw",
    "visto",
    "vista",
    "la vi",
    "lo vi",
    "talked",
    "spoke",
    "spoken",
    "hable",
    "called *",
    "answered",
    "shes home",
    "hes home",
    "she is home",
    "he is home",
    "is home",
    "contesto",
    "checked",
    "checked on",
    "safe",
    "bien",
    "esta bien",
    "todo bien",
    "todo ok",
    "sana y salva",
    "sano y salvo",
    "perfecto",
    "perfecta",
];

/// OK words that, after "I'm", are about the sender themself.
const SELF_STATE: &[&str] = &[
    "ok", "fine", "good", "great", "alright", "well", "bien", "safe", "all good", "home",
];

const GREETINGS: &[&str] = &[
    "good morning",
    "good afternoon",
    "good evening",
    "good night",
    "buenos dias",
    "buenas tardes",
    "buenas noches",
    "hello",
    "hi",
    "hey",
    "hola",
    "morning",
];

const STOP_WORDS: &[&str] = &[
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "optout",
];
const START_WORDS: &[&str] = &["start", "unstop"];

const NEGATORS: &[&str] = &[
    "not", "no", "dont", "didnt", "doesnt", "isnt", "arent", "aint", "wasnt", "havent", "hasnt",
    "wont", "never", "without", "nothing", "sin", "nunca", "ni", "nada", "neither", "nor",
];

/// Words allowed between a negator and what it negates ("don't NEED ANY help", "no ME SIENTO
/// bien"). A word outside this list ("No I need help") breaks the negation.
const BRIDGES: &[&str] = &[
    "need", "needs", "needed", "any", "an", "a", "the", "feel", "feeling", "feelin", "doing", "so",
    "very", "too", "really", "in", "for", "of", "estoy", "esta", "siento", "me", "se", "lo",
    "necesito", "necesita", "de", "ninguna", "ningun", "mucho", "muy", "been", "be", "am", "is",
    "are", "was", "have", "has", "had", "quite", "at", "all", "that", "hay", "tengo", "tiene",
    "una", "un", "ha", "want", "quiero", "require", "requires", "looking", "look", "looks",
    "sound", "sounds", "seem", "seems", "todo", "nos", "te",
];

const HEDGES: &[&str] = &[
    "hope",
    "hopefully",
    "hoping",
    "probably",
    "prob",
    "maybe",
    "might",
    "perhaps",
    "guess",
    "assume",
    "espero",
    "ojala",
    "quizas",
    "quiza",
    "supongo",
    "creo",
    "think",
    "dunno",
    "idk",
    "unsure",
    "if",
    "si",
];

const ALL_CUES: &[&[&str]] = &[
    HELP_CUES,
    FALL_CUES,
    PAIN_CUES,
    EMERGENCY_CUES,
    UNWELL_CUES,
    NEGATABLE_OK,
    OK_SET_PHRASES,
    GREETINGS,
    NEUTRAL,
    MEMBER_OK,
    AWAY_SELF_CUES,
    NO_ANSWER_CUES,
    CLAIM_CUES,
    WEAK_CLAIM_CUES,
    CANNOT_CUES,
    SEEN_CUES,
    STOP_WORDS,
    START_WORDS,
    &[
        "away", "fuera", "back", "regrese", "volvi", "until", "till", "hasta", "days", "dias",
        "sorry", "por", "favor", "please", "thanks", "gracias", "i", "am", "im", "me", "necesito",
    ],
];

// ----- matching ------------------------------------------------------------------------------

/// A found cue: where, how long, and its words as written in the list.
#[derive(Clone, Debug)]
struct Hit {
    at: usize,
    len: usize,
    phrase: &'static str,
}

struct Text {
    toks: Vec<Tok>,
    used: Vec<bool>,
}

impl Text {
    fn new(toks: Vec<Tok>) -> Text {
        let used = vec![false; toks.len()];
        Text { toks, used }
    }

    fn word(&self, i: usize) -> &str {
        &self.toks[i].w
    }

    fn matches_at(&self, i: usize, phrase: &str) -> Option<usize> {
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
    fn take(&mut self, list: &'static [&'static str]) -> Vec<Hit> {
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
    fn negated(&mut self, h: &Hit) -> bool {
        match self.negator_of(h) {
            Some(j) => {
                self.used[j] = true;
                true
            }
            None => false,
        }
    }

    fn negator_of(&self, h: &Hit) -> Option<usize> {
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

    fn hedged(&self, h: &Hit) -> bool {
        let clause = self.toks[h.at].clause;
        self.toks
            .iter()
            .enumerate()
            .any(|(j, t)| t.clause == clause && j < h.at && HEDGES.contains(&t.w.as_str()))
    }

    fn questioned(&self, h: &Hit) -> bool {
        self.toks[h.at].question
    }

    /// Whether the words just before a hit make it about the sender ("I fell", "I'm not ok",
    /// "my chest hurts", "help me", "me caí"), not about someone else ("I found her on the
    /// floor").
    fn first_person(&self, h: &Hit) -> bool {
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
    fn quote(&self, h: &Hit) -> String {
        self.toks[h.at..h.at + h.len]
            .iter()
            .map(|t| t.w.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn content_len(&self) -> usize {
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
    let ok_set = t.take(OK_SET_PHRASES);
    t.take(GREETINGS);
    t.take(NEUTRAL);
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
    // "need" alone is on the member's table of help words.
    if t.word(0) == "need" && n <= 2 {
        t.used[0] = true;
        distress.push("need".into());
    }
    for list in [FALL_CUES, PAIN_CUES, EMERGENCY_CUES, HELP_CUES, UNWELL_CUES] {
        for h in t.take(list) {
            let q = t.quote(&h);
            if h.phrase == "sick" && h.at + 1 < n && t.word(h.at + 1) == "of" {
                continue; // "sick of these texts"
            }
            if t.negated(&h) {
                negated_distress.push(q);
            } else {
                first_person |= t.first_person(&h);
                distress.push(q);
            }
        }
    }
    // A negated OK ("not ok", "no estoy bien", "don't feel well") is distress.
    for h in t.take(NEGATABLE_OK) {
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

fn read_member(t: &mut Text, today: NaiveDate, ok_set: &[Hit], negated: &[String]) -> Reading {
    use Confidence::{High, Low, Medium};
    let n = t.toks.len();
    // Away: "away 3", "I'll be away until 12/24", "fuera hasta el 5/1".
    for i in 0..n {
        if matches!(t.word(i), "away" | "fuera") {
            let rest: Vec<String> = t.toks[i + 1..].iter().map(|t| t.w.clone()).collect();
            if let Some(until) = parse_away(&rest, today) {
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
    let oks = t.take(MEMBER_OK);
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
    let away_self: Vec<Hit> = t.take(AWAY_SELF_CUES);
    let no_answer: Vec<Hit> = t
        .take(NO_ANSWER_CUES)
        .into_iter()
        .filter(|h| !t.questioned(h))
        .collect();
    if !no_answer.is_empty() {
        let words: Vec<String> = no_answer.iter().map(|h| t.quote(h)).collect();
        return Reading::new(
            Reply::NoAnswer,
            if n <= 4 { High } else { Medium },
            format!("no-answer words {}", quoted(&words)),
        );
    }
    let claims = t.take(CLAIM_CUES);
    // "no" alone, or leading ("no sorry", "no can't today"), is a buddy's "can't go".
    let mut cannot: Vec<String> = Vec::new();
    if t.word(0) == "no" && !t.used[0] {
        t.used[0] = true;
        cannot.push("no".into());
    }
    cannot.extend(t.take(CANNOT_CUES).iter().map(|h| t.quote(h)));
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
    // A confirmation: plain OK or seen words, not hedged or asked.
    let seen = t.take(SEEN_CUES);
    let plain: Vec<&Hit> = seen
        .iter()
        .chain(ok_set.iter())
        .filter(|h| !t.hedged(h) && !t.questioned(h))
        .collect();
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
    let weak = t.take(WEAK_CLAIM_CUES);
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
                "OK words {} hedged or asked, not a confirmation",
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

/// "3" → three days; "until 12/24" or "12/24" → that date (this year, or next if passed).
pub(crate) fn parse_away(rest: &[String], today: NaiveDate) -> Option<NaiveDate> {
    let rest: Vec<&str> = rest
        .iter()
        .map(String::as_str)
        .filter(|w| {
            !matches!(
                *w,
                "until" | "till" | "til" | "for" | "hasta" | "el" | "days" | "day" | "dias"
            )
        })
        .collect();
    let arg = *rest.first()?;
    if let Ok(days) = arg.parse::<u32>() {
        if (1..=365).contains(&days) {
            return today.checked_add_days(chrono::Days::new(u64::from(days)));
        }
        return None;
    }
    let (m, d) = arg.split_once('/')?;
    let (m, d): (u32, u32) = (m.parse().ok()?, d.split('/').next()?.parse().ok()?);
    let this_year = NaiveDate::from_ymd_opt(today.year(), m, d)?;
    if this_year > today {
        Some(this_year)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, m, d)
    }
}

// ----- names ---------------------------------------------------------------------------------

fn name_words(name: &str) -> Vec<String> {
    tokens(name).into_iter().map(|t| t.w).collect()
}

/// Where each candidate is named in the tokens: (token index, length, candidate index).
fn mentions(toks: &[Tok], candidates: &[(&str, &str)]) -> Vec<(usize, usize, usize)> {
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
fn rank(r: &Reply) -> u8 {
    match r {
        Reply::Help => 5,
        Reply::NoAnswer => 4,
        Reply::Cannot => 3,
        Reply::OnMyWay => 2,
        Reply::Other => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
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
}
