//! Compact JWS parsing: strict base64url, JSON header and claims with typed registered claims.

use super::strict_json::{self, StrictJsonError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use std::rc::Rc;

/// Longest token accepted by default, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Size and shape limits applied while parsing a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLimits {
    /// Longest token, in bytes.
    pub max_token_bytes: usize,
    /// Largest decoded header or payload JSON, in bytes.
    pub max_json_bytes: usize,
    /// Deepest nesting of objects and arrays in the header or payload.
    pub max_json_depth: usize,
}

impl Default for TokenLimits {
    fn default() -> Self {
        TokenLimits {
            max_token_bytes: MAX_TOKEN_BYTES,
            max_json_bytes: MAX_TOKEN_BYTES,
            max_json_depth: 16,
        }
    }
}

/// Why a token could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    TooLong,
    /// Not three dot-separated parts.
    NotThreeParts,
    /// A part is not canonical unpadded base64url.
    BadBase64,
    /// The header or payload is not a JSON object.
    NotJsonObject,
    /// The header lacks a string `alg`.
    MissingAlg,
    /// The header carries `crit`: we understand no extension, so we must refuse (RFC 7515 4.1.11).
    CriticalExtension,
    /// A registered header parameter or claim has the wrong type.
    BadMember(&'static str),
    /// The same member name twice in the header or payload.
    DuplicateMember,
    /// The header or payload is nested deeper, or decodes larger, than the limits.
    OverLimit,
}

/// The JOSE header parameters the filter reads. `jwk`, `jku`, `x5u`, `x5c` are never trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `alg`, as written.
    pub alg: String,
    /// `kid`.
    pub kid: Option<String>,
    /// `typ`.
    pub typ: Option<String>,
}

/// The payload: all claims, with the registered ones type-checked and extracted.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// Every claim, for claim conditions.
    pub all: Map<String, Value>,
    /// `iss`.
    pub iss: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `aud`, a string or list normalised to a list.
    pub aud: Vec<String>,
    /// `exp`.
    pub exp: Option<u64>,
    /// `nbf`.
    pub nbf: Option<u64>,
    /// `iat`.
    pub iat: Option<u64>,
    /// `jti`.
    pub jti: Option<String>,
}

/// A parsed, not yet verified, compact JWS. Header and claims are shared (`Rc`), so the
/// verified-token cache hands out a cached token without copying its claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Jws<'a> {
    /// The whole token as presented.
    pub compact: &'a str,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
    /// The decoded signature (may be empty: the algorithm check refuses `none` first).
    pub signature: Vec<u8>,
    /// The header.
    pub header: Rc<Header>,
    /// The claims.
    pub claims: Rc<Claims>,
}

/// Parses a compact JWS with the default limits.
pub fn parse(compact: &str) -> Result<Jws<'_>, ParseError> {
    parse_with(compact, &TokenLimits::default())
}

/// Parses a compact JWS within `limits`.
pub fn parse_with<'t>(compact: &'t str, limits: &TokenLimits) -> Result<Jws<'t>, ParseError> {
    parse_keeping_header(compact, limits).map(|(jws, _)| jws)
}

/// [`parse_with`], also handing back the whole JOSE header as read (a DPoP proof's `jwk` is
/// a member the typed [`Header`] never keeps).
pub(crate) fn parse_keeping_header<'t>(
    compact: &'t str,
    limits: &TokenLimits,
) -> Result<(Jws<'t>, Map<String, Value>), ParseError> {
    if compact.len() > limits.max_token_bytes {
        return Err(ParseError::TooLong);
    }
    let mut parts = compact.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::NotThreeParts);
    };
    if header_b64.is_empty() || payload_b64.is_empty() {
        return Err(ParseError::NotThreeParts);
    }
    let signing_input = compact
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(ParseError::NotThreeParts)?;
    let header_map = decode_object(header_b64, limits)?;
    let header = parse_header(&header_map)?;
    let claims = parse_claims(decode_object(payload_b64, limits)?)?;
    let signature = decode(signature_b64)?;
    let jws = Jws {
        compact,
        signing_input,
        signature,
        header: Rc::new(header),
        claims: Rc::new(claims),
    };
    Ok((jws, header_map))
}

fn decode(part: &str) -> Result<Vec<u8>, ParseError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| ParseError::BadBase64)
}

pub(crate) fn decode_object(
    part: &str,
    limits: &TokenLimits,
) -> Result<Map<String, Value>, ParseError> {
    let bytes = decode(part)?;
    if bytes.len() > limits.max_json_bytes {
        return Err(ParseError::OverLimit);
    }
    match strict_json::parse(&bytes, limits.max_json_depth) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) | Err(StrictJsonError::Invalid) => Err(ParseError::NotJsonObject),
        Err(StrictJsonError::DuplicateKey) => Err(ParseError::DuplicateMember),
        Err(StrictJsonError::TooDeep) => Err(ParseError::OverLimit),
    }
}

fn optional_string(
    map: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, ParseError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ParseError::BadMember(name)),
    }
}

fn optional_time(map: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, ParseError> {
    match map.get(name) {
        None => Ok(None),
        // NumericDate as a non-negative integer; floats, strings and negatives are refused.
        Some(value) => value.as_u64().map(Some).ok_or(ParseError::BadMember(name)),
    }
}

fn parse_header(map: &Map<String, Value>) -> Result<Header, ParseError> {
    let alg = match map.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        _ => return Err(ParseError::MissingAlg),
    };
    if map.contains_key("crit") {
        return Err(ParseError::CriticalExtension);
    }
    Ok(Header {
        alg,
        kid: optional_string(map, "kid")?,
        typ: optional_string(map, "typ")?,
    })
}

fn parse_claims(all: Map<String, Value>) -> Result<Claims, ParseError> {
    let aud = match all.get("aud") {
        None => Vec::new(),
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or(ParseError::BadMember("aud"))?,
        Some(_) => return Err(ParseError::BadMember("aud")),
    };
    Ok(Claims {
        iss: optional_string(&all, "iss")?,
        sub: optional_string(&all, "sub")?,
        jti: optional_string(&all, "jti")?,
        exp: optional_time(&all, "exp")?,
        nbf: optional_time(&all, "nbf")?,
        iat: optional_time(&all, "iat")?,
        aud,
        all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: Value, claims: Value) -> String {
        format!("{}.{}.c2ln", encode(&header), encode(&claims))
    }

    #[test]
    fn parses_registered_claims() {
        let t = token(
            json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}),
            json!({"iss": "i", "sub": "s", "aud": ["a", "b"], "exp": 10, "nbf": 1, "iat": 2, "jti": "j"}),
        );
        let jws = parse(&t).unwrap();
        assert_eq!(jws.header.alg, "ES256");
        assert_eq!(jws.header.kid.as_deref(), Some("k1"));
        assert_eq!(jws.claims.aud, vec!["a", "b"]);
        assert_eq!(
            (jws.claims.exp, jws.claims.nbf, jws.claims.iat),
            (Some(10), Some(1), Some(2))
        );
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.signing_input.matches('.').count(), 1);
    }

    #[test]
    fn string_audience_becomes_a_list() {
        let jws_text = token(json!({"alg": "ES256"}), json!({"aud": "a"}));
        assert_eq!(parse(&jws_text).unwrap().claims.aud, vec!["a"]);
    }

    #[test]
    fn refuses_bad_shapes() {
        assert_eq!(parse("abc"), Err(ParseError::NotThreeParts));
        assert_eq!(parse("a.b.c.d"), Err(ParseError::NotThreeParts));
        assert_eq!(parse("..sig"), Err(ParseError::NotThreeParts));
        let good = token(json!({"alg": "ES256"}), json!({}));
        assert_eq!(parse(&format!("{good}=")), Err(ParseError::BadBase64));
        let padded = format!(
            "{}=.{}.c2ln",
            encode(&json!({"alg":"ES256"})),
            encode(&json!({}))
        );
        assert_eq!(parse(&padded), Err(ParseError::BadBase64));
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(parse(&long), Err(ParseError::TooLong));
    }

    #[test]
    fn refuses_non_canonical_base64() {
        // "e30" is "{}"; "e31" decodes to the same bytes with non-zero trailing bits.
        let t = format!("{}.e31.c2ln", encode(&json!({"alg": "ES256"})));
        assert_eq!(parse(&t), Err(ParseError::BadBase64));
        let t = format!("{}.e3+.c2ln", encode(&json!({"alg": "ES256"})));
        assert_eq!(parse(&t), Err(ParseError::BadBase64));
    }

    #[test]
    fn refuses_bad_members() {
        for (claims, member) in [
            (json!({"exp": 1.5}), "exp"),
            (json!({"exp": "10"}), "exp"),
            (json!({"nbf": -1}), "nbf"),
            (json!({"iat": 1e30}), "iat"),
            (json!({"aud": 5}), "aud"),
            (json!({"aud": ["a", 1]}), "aud"),
            (json!({"iss": 1}), "iss"),
            (json!({"sub": ["x"]}), "sub"),
        ] {
            let t = token(json!({"alg": "ES256"}), claims);
            assert_eq!(parse(&t), Err(ParseError::BadMember(member)));
        }
        let t = token(json!({"alg": "ES256", "kid": 3}), json!({}));
        assert_eq!(parse(&t), Err(ParseError::BadMember("kid")));
        let t = token(json!({"typ": "JWT"}), json!({}));
        assert_eq!(parse(&t), Err(ParseError::MissingAlg));
        let t = token(json!({"alg": "ES256", "crit": ["exp"]}), json!({}));
        assert_eq!(parse(&t), Err(ParseError::CriticalExtension));
        let t = format!(
            "{}.{}.c2ln",
            encode(&json!({"alg":"ES256"})),
            encode(&json!([1]))
        );
        assert_eq!(parse(&t), Err(ParseError::NotJsonObject));
    }

    #[test]
    fn duplicate_members_and_deep_claims_are_refused() {
        let dup_header = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","alg":"ES256"}"#),
            encode(&json!({}))
        );
        assert_eq!(parse(&dup_header), Err(ParseError::DuplicateMember));
        let dup_claim = format!(
            "{}.{}.c2ln",
            encode(&json!({"alg":"ES256"})),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"a","sub":"b"}"#)
        );
        assert_eq!(parse(&dup_claim), Err(ParseError::DuplicateMember));
        let deep = json!({"a": {"b": {"c": {"d": 1}}}});
        let t = token(json!({"alg": "ES256"}), deep);
        let tight = TokenLimits {
            max_json_depth: 3,
            ..TokenLimits::default()
        };
        assert_eq!(parse_with(&t, &tight), Err(ParseError::OverLimit));
        assert!(parse(&t).is_ok());
        let small = TokenLimits {
            max_token_bytes: 20,
            ..TokenLimits::default()
        };
        assert_eq!(parse_with(&t, &small), Err(ParseError::TooLong));
    }

    #[test]
    fn empty_signature_parses_so_alg_none_gets_its_own_reason() {
        let t = format!(
            "{}.{}.",
            encode(&json!({"alg": "none"})),
            encode(&json!({}))
        );
        let jws = parse(&t).unwrap();
        assert!(jws.signature.is_empty());
        assert_eq!(jws.header.alg, "none");
    }
}
