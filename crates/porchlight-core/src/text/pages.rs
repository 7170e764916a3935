//! The reply-link page's words and buttons, and what a voice call says, in each language.

use serde::{Deserialize, Serialize};

use crate::model::Language;

/// One button of the reply-link page: the value posted, a CSS class, and its label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkChoice {
    /// The `answer` value posted (read by the interpreter like a text).
    pub value: &'static str,
    /// `ok`, `help` or `other`, for styling.
    pub class: &'static str,
    /// The button's label (plain text: escape it for HTML).
    pub label: String,
}

/// The fixed strings of the reply-link pages in a language (plain text: escape for HTML).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPageStrings {
    /// The `lang` attribute of the page.
    pub html_lang: &'static str,
    /// The page title.
    pub title: &'static str,
    /// The footer under the buttons.
    pub footer: &'static str,
    /// Title of an expired or unknown link.
    pub expired_title: &'static str,
    /// Heading of an expired link.
    pub expired_heading: &'static str,
    /// Body of an expired link.
    pub expired_body: &'static str,
    /// Title of the page after an answer.
    pub thanks_title: &'static str,
    /// Heading after an answer.
    pub thanks_heading: &'static str,
    /// Body after an answer.
    pub thanks_body: &'static str,
    /// Body after a help request (instead of `thanks_body`).
    pub help_body: &'static str,
    /// Title when the form was posted without a choice.
    pub choose_title: &'static str,
    /// Heading when the form was posted without a choice.
    pub choose_heading: &'static str,
    /// Stand-in for an unknown recipient's name ("there").
    pub someone: &'static str,
    /// Stand-in for an unknown member's name ("them").
    pub them: &'static str,
}

/// The fixed strings of the reply-link pages.
pub fn link_page_strings(lang: Language) -> LinkPageStrings {
    match lang {
        Language::En => LinkPageStrings {
            html_lang: "en",
            title: "Porchlight check-in",
            footer: "Porchlight: your village's daily check-in.",
            expired_title: "Link expired",
            expired_heading: "This link has expired",
            expired_body: "Please reply to the text message instead.",
            thanks_title: "Thank you",
            thanks_heading: "Thank you",
            thanks_body: "Your answer is recorded.",
            help_body: "We are asking your neighbors and family to reach you now. If it's an emergency, call 911.",
            choose_title: "Choose an answer",
            choose_heading: "Please choose one of the buttons",
            someone: "there",
            them: "them",
        },
        Language::Es => LinkPageStrings {
            html_lang: "es",
            title: "Porchlight: llamada diaria",
            footer: "Porchlight: la llamada diaria de su comunidad.",
            expired_title: "Enlace vencido",
            expired_heading: "Este enlace ya no vale",
            expired_body: "Por favor, responda al mensaje de texto.",
            thanks_title: "Gracias",
            thanks_heading: "Gracias",
            thanks_body: "Su respuesta quedó registrada.",
            help_body: "Estamos avisando a sus vecinos y familia ahora. Si es una emergencia, llame al 911.",
            choose_title: "Elija una respuesta",
            choose_heading: "Por favor, elija uno de los botones",
            someone: "",
            them: "esta persona",
        },
    }
}

/// The question and buttons of a reply-link page for a recipient (`name`, first name) asked in
/// `role` about a member (`member`, first name). Plain text: escape it for HTML. The posted
/// values are read by the interpreter like any text.
pub fn link_page_choices(
    lang: Language,
    role: crate::reply::Role,
    name: &str,
    member: &str,
) -> (String, Vec<LinkChoice>) {
    use crate::reply::Role;
    let c = |value, class, label: String| LinkChoice {
        value,
        class,
        label,
    };
    match (role, lang) {
        (Role::Member, Language::En) => (
            format!("Hello {name}. Are you OK today?"),
            vec![
                c("1", "ok", "Yes, I'm OK".into()),
                c("2", "help", "I need a hand".into()),
            ],
        ),
        (Role::Member, Language::Es) => (
            format!("Hola {name}. ¿Está bien hoy?").replace("Hola .", "Hola."),
            vec![
                c("1", "ok", "Sí, estoy bien".into()),
                c("2", "help", "Necesito ayuda".into()),
            ],
        ),
        (Role::Buddy, Language::En) => (
            format!("Can you check on {member}?"),
            vec![
                c("seen", "ok", format!("I've seen {member}, all is well")),
                c("on my way", "other", "I'm on my way".into()),
                c("no answer", "help", format!("No answer at {member}'s door")),
                c("can't", "other", "I can't go".into()),
                c("2", "help", format!("{member} needs help")),
            ],
        ),
        (Role::Buddy, Language::Es) => (
            format!("¿Puede ver cómo está {member}?"),
            vec![
                c("seen", "ok", format!("Vi a {member}, todo bien")),
                c("on my way", "other", "Voy para allá".into()),
                c("no answer", "help", format!("{member} no abre la puerta")),
                c("can't", "other", "No puedo ir".into()),
                c("2", "help", format!("{member} necesita ayuda")),
            ],
        ),
        (_, Language::En) => (
            format!("Is {member} OK?"),
            vec![
                c("seen", "ok", format!("{member} is OK")),
                c("2", "help", format!("{member} needs help")),
            ],
        ),
        (_, Language::Es) => (
            format!("¿Está bien {member}?"),
            vec![
                c("seen", "ok", format!("{member} está bien")),
                c("2", "help", format!("{member} necesita ayuda")),
            ],
        ),
    }
}

/// What a voice call says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoiceLine {
    /// After the message: which keys to press.
    Keys,
    /// No key was pressed.
    NoKey,
    /// The member pressed 2 (help).
    HelpAck,
    /// Any other key was recorded.
    Thanks,
}

/// The Twilio `<Say language>` code of a language: `en-US`, `es-US`.
pub fn voice_language(lang: Language) -> &'static str {
    match lang {
        Language::En => "en-US",
        Language::Es => "es-US",
    }
}

/// A spoken line of a check-in call, in the member's language.
pub fn voice_prompt(lang: Language, line: VoiceLine) -> &'static str {
    match (lang, line) {
        (Language::En, VoiceLine::Keys) => "Press 1 if you are OK, 2 if you need help.",
        (Language::Es, VoiceLine::Keys) => "Marque 1 si esta bien, 2 si necesita ayuda.",
        (Language::En, VoiceLine::NoKey) => "We did not get a key. Goodbye.",
        (Language::Es, VoiceLine::NoKey) => "No recibimos respuesta. Adios.",
        (Language::En, VoiceLine::HelpAck) => {
            "Thank you. We are asking your neighbors and family to reach you now."
        }
        (Language::Es, VoiceLine::HelpAck) => {
            "Gracias. Estamos avisando a sus vecinos y familia ahora."
        }
        (Language::En, VoiceLine::Thanks) => "Thank you. Have a good day.",
        (Language::Es, VoiceLine::Thanks) => "Gracias. Que tenga un buen dia.",
    }
}
