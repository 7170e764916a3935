//! Phone numbers: parsed and validated with `phonenumber` (libphonenumber's metadata) and kept
//! in E.164 form, the key inbound SMS are matched on.

/// Why a phone number was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing was written.
    #[error("phone number is empty")]
    Empty,
    /// The default region is not an ISO country code.
    #[error("unknown country code {0:?}")]
    UnknownRegion(String),
    /// Not a phone number at all.
    #[error(
        "phone number {input:?} is not valid: {reason}; write it in E.164 form like +12025550143"
    )]
    Unparsable {
        /// The number as written (trimmed).
        input: String,
        /// What the parser said.
        reason: String,
    },
    /// A number, but not one that exists in its country.
    #[error("phone number {0:?} is not a valid number for its country")]
    NotValid(String),
}

/// Parses a phone number written in international form (`+1 202 555 0143`, `+44 20 7946 0958`)
/// or, when `default_region` is given (an ISO country code such as `US`), in national form.
/// Returns it in E.164 (`+12025550143`).
pub fn parse_e164(input: &str, default_region: Option<&str>) -> Result<String, PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let region = match default_region {
        Some(r) => Some(
            r.to_ascii_uppercase()
                .parse::<phonenumber::country::Id>()
                .map_err(|_| PhoneError::UnknownRegion(r.to_string()))?,
        ),
        None => None,
    };
    let parsed = phonenumber::parse(region, trimmed).map_err(|e| PhoneError::Unparsable {
        input: trimmed.to_string(),
        reason: e.to_string(),
    })?;
    if !phonenumber::is_valid(&parsed) {
        return Err(PhoneError::NotValid(trimmed.to_string()));
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

/// Redacts a phone number for info-level logs: keeps the country code and last two digits.
pub fn redact(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return "***".into();
    }
    let tail: String = digits[digits.len() - 2..].iter().collect();
    format!("+{}…{tail}", digits[0])
}

/// Redacts every phone-number-like sequence in free text (a provider's error message, say)
/// for info- and warn-level logs, each as [`redact`] writes a number:
///
/// * `+` followed by at least 8 digits (E.164 has 8-15), spaces, dashes, dots or brackets
///   allowed between them: `+15551234567`, `+1 (202) 555-0143`;
/// * a run of at least 10 digits with such separators (a national number): `(202) 555-0143`,
///   `202.555.0143`, `12025550143`.
///
/// A run that touches a letter or digit-bearing word on either side (`SM1234567890abcd`, a
/// message id) is left alone, as are short numbers (error codes such as `21211`, statuses).
pub fn redact_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if let Some(end) = phone_like_at(&chars, i) {
            let found: String = chars[i..end].iter().collect();
            out.push_str(&redact(&found));
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The end of a phone-number-like run starting at `i`, if one starts there.
fn phone_like_at(chars: &[char], i: usize) -> Option<usize> {
    let is_sep = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')');
    // Starts a word: nothing alphanumeric (or another digit run) right before it.
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '+') {
        return None;
    }
    let plus = chars[i] == '+';
    let mut j = if plus { i + 1 } else { i };
    // A leading bracket: "(202) 555-0143".
    if !plus && chars.get(j) == Some(&'(') {
        j += 1;
    }
    if !chars.get(j).is_some_and(char::is_ascii_digit) {
        return None;
    }
    let (mut digits, mut end) = (0usize, j);
    while j < chars.len() {
        let c = chars[j];
        if c.is_ascii_digit() {
            digits += 1;
            j += 1;
            end = j;
        } else if is_sep(c) {
            // Separators only between digits, at most two in a row (") " in "(202) 555").
            let mut k = j;
            while k < chars.len() && is_sep(chars[k]) && k - j < 2 {
                k += 1;
            }
            if chars.get(k).is_some_and(char::is_ascii_digit) {
                j = k;
            } else {
                break;
            }
        } else {
            break;
        }
    }
    // ... and ends one: a letter glued to the last digit makes it an id, not a number.
    if chars.get(end).is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    // A closing bracket right after the digits belongs to the number.
    if chars.get(end) == Some(&')') && chars[i..end].contains(&'(') {
        end += 1;
    }
    let enough = if plus { digits >= 8 } else { digits >= 10 };
    enough.then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_normalize_to_e164() {
        assert_eq!(parse_e164("+1 202 555 0143", None).unwrap(), "+12025550143");
        assert_eq!(
            parse_e164("+1 (202) 555-0143", None).unwrap(),
            "+12025550143"
        );
        assert_eq!(
            parse_e164("(202) 555-0143", Some("US")).unwrap(),
            "+12025550143"
        );
        assert_eq!(
            parse_e164("+44 20 7946 0958", None).unwrap(),
            "+442079460958"
        );
        assert_eq!(parse_e164("+34 612 345 678", None).unwrap(), "+34612345678");
    }

    #[test]
    fn invalid_numbers_are_rejected() {
        for bad in [
            "",
            "hello",
            "12345",
            "+1 000 000 0000",
            "+999 1234",
            "202-555-0143",
        ] {
            assert!(parse_e164(bad, None).is_err(), "{bad:?}");
        }
        assert!(parse_e164("202 555 0143", Some("ZZ")).is_err());
    }

    #[test]
    fn redaction_hides_the_number() {
        assert_eq!(redact("+12025550143"), "+1…43");
        assert!(!redact("+12025550143").contains("555"));
    }

    #[test]
    fn numbers_in_free_text_are_redacted() {
        // Twilio's error 21211, word for word, as the adapter copies it into a detail.
        let twilio =
            "Twilio 400 error 21211: The 'To' number +15551234567 is not a valid phone number.";
        let r = redact_text(twilio);
        assert_eq!(
            r,
            "Twilio 400 error 21211: The 'To' number +1…67 is not a valid phone number."
        );
        assert!(!r.contains("5551234567") && !r.contains("1234567"), "{r}");
        for (text, hidden) in [
            ("call +1 (202) 555-0143 now", "555-0143"),
            ("to +44 20 7946 0958.", "7946"),
            ("number (202) 555-0143 unreachable", "555-0143"),
            ("to 202.555.0143", "555.0143"),
            ("To=12025550143&From=x", "2025550143"),
            ("+34612345678", "612345"),
        ] {
            let r = redact_text(text);
            assert!(!r.contains(hidden), "{text:?} -> {r:?}");
            assert!(r.contains('…'), "{text:?} -> {r:?}");
        }
        // What is not a phone number stays as it was.
        for text in [
            "Twilio answered 503",
            "Twilio 400 error 21610: Attempt to send to unsubscribed recipient",
            "message SM1234567890abcdef1234567890abcdef failed",
            "retry at 2026-11-24T10:00:00Z",
            "timeout after 15s",
            "",
        ] {
            assert_eq!(redact_text(text), text);
        }
    }
}
