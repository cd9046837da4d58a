//! RFC 7638 JWK thumbprints: the base64url SHA-256 of a JWK's required members, in
//! lexicographic order, as JSON without whitespace. A DPoP-bound token names its key this way
//! (`cnf.jkt`, RFC 9449 section 6.1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// The RFC 7638 thumbprint of `jwk`; `None` when a required member of its `kty` is missing or
/// not a string, or the `kty` is not one the filter verifies (`RSA`, `EC`, `OKP`).
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    // `members` are in lexicographic order already; each value is written as a JSON string.
    let mut text = String::from("{");
    for (index, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if index > 0 {
            text.push(',');
        }
        text.push('"');
        text.push_str(name);
        text.push_str("\":");
        text.push_str(&Value::String(value.to_string()).to_string());
    }
    text.push('}');
    Some(URL_SAFE_NO_PAD.encode(hmac_sha256::Hash::hash(text.as_bytes())))
}

/// `ath`: the base64url SHA-256 of the access token (RFC 9449 section 4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(hmac_sha256::Hash::hash(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc_7638_section_3_1_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn members_other_than_the_required_ones_do_not_count() {
        let base = json!({"kty": "EC", "crv": "P-256", "x": "abc", "y": "def"});
        let mut more = base.clone();
        more["kid"] = json!("k");
        more["use"] = json!("sig");
        let a = thumbprint(base.as_object().unwrap());
        assert!(a.is_some());
        assert_eq!(a, thumbprint(more.as_object().unwrap()));
        let mut other = base.clone();
        other["y"] = json!("deg");
        assert_ne!(a, thumbprint(other.as_object().unwrap()));
    }

    #[test]
    fn missing_or_odd_members_have_no_thumbprint() {
        for jwk in [
            json!({"kty": "EC", "crv": "P-256", "x": "abc"}),
            json!({"kty": "EC", "crv": "P-256", "x": "abc", "y": 5}),
            json!({"kty": "oct", "k": "abc"}),
            json!({"crv": "Ed25519", "x": "abc"}),
        ] {
            assert_eq!(thumbprint(jwk.as_object().unwrap()), None, "{jwk}");
        }
    }

    #[test]
    fn access_token_hash_of_rfc_9449_example() {
        // RFC 9449 section 7.1: the `ath` of the example access token.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
