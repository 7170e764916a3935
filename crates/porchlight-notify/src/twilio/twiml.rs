//! TwiML, the XML Twilio reads: what a call says and gathers, the texts answering an inbound
//! text, and what is said after a keypress.

use porchlight_core::model::Language;

/// The content type of every TwiML answer.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// `&`, `<`, `>` and `"` escaped: safe in a text node and a double-quoted attribute.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// [`escape`], and `'` too.
fn escape_all(s: &str) -> String {
    escape(s).replace('\'', "&apos;")
}

/// The answer to an inbound text: one `<Message>` per text (none: an empty `<Response/>`).
pub fn messages(texts: &[String]) -> String {
    let mut body = String::from(XML_DECLARATION);
    if texts.is_empty() {
        body.push_str("<Response/>");
    } else {
        body.push_str("<Response>");
        for m in texts {
            body.push_str("<Message>");
            body.push_str(&escape(m));
            body.push_str("</Message>");
        }
        body.push_str("</Response>");
    }
    body
}

/// The answer to a keypress: `text` said in `language` (a Twilio voice language, `en-US`).
pub fn say(language: &str, text: &str) -> String {
    format!(
        "{XML_DECLARATION}<Response><Say language=\"{language}\">{}</Say></Response>",
        escape(text)
    )
}

/// The TwiML of a call: the text, said in the person's language, gathering one key that is
/// posted to `action`.
pub fn call(text: &str, language: Language, action: &str) -> String {
    let (lang, keys) = match language {
        Language::En => ("en-US", "Press 1 if you are OK, 2 if you need help."),
        Language::Es => ("es-US", "Marque 1 si esta bien, 2 si necesita ayuda."),
    };
    // Links mean nothing on a call: say only the words.
    let spoken: String = text
        .split_whitespace()
        .filter(|w| !w.starts_with("http"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "<Response><Gather numDigits=\"1\" action=\"{}\" method=\"POST\"><Say language=\"{lang}\">{} {keys}</Say></Gather><Say language=\"{lang}\">{}</Say></Response>",
        escape_all(action),
        escape_all(&spoken),
        match language {
            Language::En => "We did not get a key. Goodbye.",
            Language::Es => "No recibimos respuesta. Adios.",
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twiml_escapes_and_gathers() {
        let t = call(
            "Hi <Mary> & co https://x.org/r/abc",
            Language::En,
            "https://p.example/voice/twilio",
        );
        assert!(t.starts_with(
            "<Response><Gather numDigits=\"1\" action=\"https://p.example/voice/twilio\""
        ));
        assert!(t.contains("Hi &lt;Mary&gt; &amp; co Press 1"));
        assert!(!t.contains("https://x.org"));
        assert!(call("Hola", Language::Es, "a").contains("language=\"es-US\""));
    }

    #[test]
    fn replies_are_messages_and_none_is_an_empty_response() {
        assert_eq!(
            messages(&[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
        );
        assert_eq!(
            messages(&["Thanks & see you <3".into(), "Bye".into()]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Thanks &amp; see you &lt;3</Message><Message>Bye</Message></Response>"
        );
        assert_eq!(
            say("es-US", "Gracias \"Ana\""),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"es-US\">Gracias &quot;Ana&quot;</Say></Response>"
        );
    }
}
