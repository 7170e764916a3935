//! Twilio's request signature, `X-Twilio-Signature`, on the webhooks it calls (an inbound
//! text, a keypress during a call): base64 HMAC-SHA1, keyed with the account's auth token,
//! over the full URL Twilio called followed by every POST parameter as name + value, names
//! sorted (values sorted within a repeated name).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<sha1::Sha1>;

/// The signature Twilio sends for a request to `url` with these form parameters.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    match HmacSha1::new_from_slice(auth_token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(data.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes a key of any length, so this arm is never taken; an empty signature
        // never equals a real one, so it would refuse rather than accept.
        Err(_) => String::new(),
    }
}

/// The URL with and without its scheme's default port, as Twilio's own validator tries both.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let slash = if rest.contains('/') { "/" } else { "" };
            if let Some(bare) = host.strip_suffix(port) {
                out.push(format!("{scheme}{bare}{slash}{path}"));
            } else if !host.contains(':') {
                out.push(format!("{scheme}{host}{port}{slash}{path}"));
            }
        }
    }
    out
}

/// Whether `signature` is Twilio's for this request under any of the auth tokens, compared in
/// constant time. An empty signature is never valid.
pub fn valid(tokens: &[&str], url: &str, params: &[(String, String)], signature: &str) -> bool {
    let mut ok = false;
    for token in tokens {
        for u in url_variants(url) {
            let expected = sign(token, &u, params);
            // Compare every candidate; `|` keeps the time independent of which one matched.
            ok |= bool::from(expected.as_bytes().ct_eq(signature.as_bytes()));
        }
    }
    ok && !signature.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn twilio_public_vectors() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let p = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(sign("12345", url, &p), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(valid(&["12345"], url, &p, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!valid(&["12345"], url, &p, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
        assert!(!valid(&["54321"], url, &p, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        let p2 = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(sign("12345", url, &p2), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert_eq!(
            sign(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &p2
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        // Signed with the port, checked against the URL without it (and the other way).
        assert!(valid(&["12345"], url, &p2, "kvajT1Ptam85bY51eRf/AJRuM3w="));
        assert!(valid(
            &["12345"],
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &p2,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let repeated = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            sign("12345", url, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn no_token_or_no_signature_is_never_valid() {
        assert!(!valid(&[], "https://x.org/sms/twilio", &[], ""));
        assert!(!valid(&["t"], "https://x.org/sms/twilio", &[], ""));
    }
}
