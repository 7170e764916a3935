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
}
