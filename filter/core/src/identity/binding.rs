//! Binding a token to the transport: the mTLS peer's SPIFFE ID, and RFC 8705 certificate-bound
//! tokens (`cnf.x5t#S256`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// The token's `cnf.x5t#S256`, if it has one (a non-string value is `Some("")`, never matching).
pub fn certificate_thumbprint(claims: &Map<String, Value>) -> Option<&str> {
    let cnf = claims.get("cnf")?.as_object()?;
    let value = cnf.get("x5t#S256")?;
    Some(value.as_str().unwrap_or_default())
}

/// Whether `thumbprint` (base64url SHA-256) is the certificate whose hex digest Envoy reports.
pub fn thumbprint_matches(thumbprint: &str, certificate_sha256_hex: &str) -> bool {
    let Some(bytes) = hex_decode(certificate_sha256_hex) else {
        return false;
    };
    if bytes.len() != 32 || thumbprint.is_empty() {
        return false;
    }
    URL_SAFE_NO_PAD.encode(bytes) == thumbprint
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(u8::try_from(digit(*hi)? * 16 + digit(*lo)?).ok()?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thumbprints_compare_base64url_to_hex() {
        let digest = [0xabu8; 32];
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let thumb = URL_SAFE_NO_PAD.encode(digest);
        assert!(thumbprint_matches(&thumb, &hex));
        assert!(thumbprint_matches(&thumb, &hex.to_uppercase()));
        assert!(!thumbprint_matches(&thumb, &hex.replace("ab", "ac")));
        assert!(!thumbprint_matches(&thumb, "zz"));
        assert!(!thumbprint_matches("", &hex));
        let claims = json!({"cnf": {"x5t#S256": thumb}});
        assert_eq!(
            certificate_thumbprint(claims.as_object().unwrap()),
            Some(thumb.as_str())
        );
        let odd = json!({"cnf": {"x5t#S256": 5}});
        assert_eq!(certificate_thumbprint(odd.as_object().unwrap()), Some(""));
        assert_eq!(certificate_thumbprint(json!({}).as_object().unwrap()), None);
    }
}
