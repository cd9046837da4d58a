//! JWK / JWKS parsing (RFC 7517, 7518, 8037) into verification keys.

use super::algorithm::{Algorithm, KeyFamily};
use crate::token::verify;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::Value;
use std::fmt;

/// The smallest RSA modulus accepted.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted (the guest verifier's limit, kept on every path).
pub const MAX_RSA_BITS: usize = 4096;
/// JWK members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// Public key material, validated at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// An uncompressed SEC1 point (`04 || x || y`) on P-256.
    EcP256(Vec<u8>),
    /// An uncompressed SEC1 point on P-384.
    EcP384(Vec<u8>),
    /// A 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
}

impl PublicKey {
    /// The family of this key.
    pub fn family(&self) -> KeyFamily {
        match self {
            PublicKey::Rsa { .. } => KeyFamily::Rsa,
            PublicKey::EcP256(_) => KeyFamily::EcP256,
            PublicKey::EcP384(_) => KeyFamily::EcP384,
            PublicKey::Ed25519(_) => KeyFamily::Ed25519,
        }
    }
}

/// One usable key of a key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kid`, when the JWK has one.
    pub kid: Option<String>,
    /// `alg`, when the JWK pins one: the key then verifies only that algorithm.
    pub alg: Option<Algorithm>,
    /// `use`: `None`, `sig`, or `jwt-svid` (a SPIFFE trust bundle's JWT authority).
    pub usage: Option<String>,
    /// The key itself.
    pub key: PublicKey,
}

impl Jwk {
    /// Whether this key may verify a signature made with `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.key.family() == alg.key_family() && self.alg.is_none_or(|pinned| pinned == alg)
    }
}

/// Why one JWK could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwkError {
    /// The entry is not a JSON object.
    NotAnObject,
    /// A required member is missing.
    MissingMember(&'static str),
    /// A member is not a base64url string.
    BadEncoding(&'static str),
    /// `kty` (or `crv`) names a type we do not support.
    UnsupportedType(String),
    /// `alg` is not a supported asymmetric algorithm, or does not fit the key type.
    BadAlgorithm(String),
    /// An RSA modulus below [`MIN_RSA_BITS`].
    RsaTooSmall(usize),
    /// An RSA modulus above [`MAX_RSA_BITS`].
    RsaTooLarge(usize),
    /// The RSA public exponent is not 65537.
    BadExponent,
    /// The JWK holds a private member (`d`, `p`, `q`...): a key set must publish public keys only.
    PrivateMember(&'static str),
    /// `kid` is present but not a string (a number would otherwise be dropped, and the key then
    /// used for tokens without `kid`).
    KidNotString,
    /// `key_ops` is present and does not hold `verify` (or is not a list of strings).
    NotForVerification,
    /// A coordinate or key has the wrong length for its curve.
    BadLength(&'static str),
    /// The key material is rejected by the crypto library (point not on curve, ...).
    InvalidKey,
    /// `use` is present and is not `sig`.
    NotForSignatures(String),
}

impl fmt::Display for JwkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwkError::NotAnObject => write!(f, "must be a JSON object"),
            JwkError::MissingMember(m) => write!(f, "member `{m}` is missing"),
            JwkError::BadEncoding(m) => write!(f, "member `{m}` is not base64url"),
            JwkError::UnsupportedType(t) => write!(f, "unsupported key type `{t}`"),
            JwkError::BadAlgorithm(a) => write!(f, "`alg` `{a}` cannot be used with this key"),
            JwkError::RsaTooSmall(bits) => write!(
                f,
                "RSA modulus is {bits} bits, below the {MIN_RSA_BITS}-bit minimum"
            ),
            JwkError::RsaTooLarge(bits) => write!(
                f,
                "RSA modulus is {bits} bits, above the {MAX_RSA_BITS}-bit maximum"
            ),
            JwkError::BadExponent => write!(f, "RSA exponent `e` must be 65537 (`AQAB`)"),
            JwkError::PrivateMember(m) => write!(
                f,
                "holds the private member `{m}`: publish only the public key (and rotate this one)"
            ),
            JwkError::KidNotString => write!(f, "`kid` must be a string"),
            JwkError::NotForVerification => {
                write!(f, "`key_ops` does not include `verify`")
            }
            JwkError::BadLength(m) => write!(f, "member `{m}` has the wrong length for its curve"),
            JwkError::InvalidKey => write!(f, "the key material is not a valid public key"),
            JwkError::NotForSignatures(u) => write!(f, "`use` is `{u}`, not `sig`"),
        }
    }
}

/// Size limits on a JWKS document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksLimits {
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Most entries in `keys`.
    pub max_keys: usize,
}

impl Default for JwksLimits {
    fn default() -> Self {
        JwksLimits {
            max_bytes: 256 * 1024,
            max_keys: 64,
        }
    }
}

/// Why a JWKS document as a whole could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksError {
    /// Not JSON.
    NotJson(String),
    /// Not an object with a `keys` array.
    NoKeysArray,
    /// Larger than the limit (bytes).
    TooLarge(usize),
    /// More entries than the limit.
    TooManyKeys(usize),
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::NotJson(detail) => write!(f, "not valid JSON: {detail}"),
            JwksError::NoKeysArray => write!(f, "must be an object with a `keys` array"),
            JwksError::TooLarge(max) => {
                write!(f, "larger than {max} bytes (limits.max_jwks_bytes)")
            }
            JwksError::TooManyKeys(max) => write!(f, "more than {max} keys (limits.max_jwks_keys)"),
        }
    }
}

/// The result of reading a JWKS: the usable keys and, per entry index, what was wrong with the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedJwks {
    /// Usable keys, in document order.
    pub keys: Vec<Jwk>,
    /// `(index in "keys", problem)` for each entry that was not usable.
    pub rejected: Vec<(usize, JwkError)>,
    /// `(index in "keys", use)` of entries set aside without complaint: keys for another
    /// purpose (`use: x509-svid` in a SPIFFE bundle, `use: enc`), which a JWKS may rightly hold.
    pub ignored: Vec<(usize, String)>,
}

/// `use` values of keys that are not for JWT signatures but belong in a key set: ignored.
pub const OTHER_PURPOSE_USES: [&str; 2] = ["x509-svid", "enc"];

/// Parses a JWKS document with the default limits.
pub fn parse_jwks(text: &str) -> Result<ParsedJwks, JwksError> {
    parse_jwks_limited(text, &JwksLimits::default())
}

/// Parses a JWKS document within `limits`.
pub fn parse_jwks_limited(text: &str, limits: &JwksLimits) -> Result<ParsedJwks, JwksError> {
    if text.len() > limits.max_bytes {
        return Err(JwksError::TooLarge(limits.max_bytes));
    }
    let document: Value =
        serde_json::from_str(text).map_err(|e| JwksError::NotJson(e.to_string()))?;
    let entries = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JwksError::NoKeysArray)?;
    if entries.len() > limits.max_keys {
        return Err(JwksError::TooManyKeys(limits.max_keys));
    }
    let mut parsed = ParsedJwks::default();
    for (index, entry) in entries.iter().enumerate() {
        match parse_jwk(entry) {
            Ok(jwk) => parsed.keys.push(jwk),
            Err(JwkError::NotForSignatures(usage))
                if OTHER_PURPOSE_USES.contains(&usage.as_str()) =>
            {
                parsed.ignored.push((index, usage))
            }
            Err(error) => parsed.rejected.push((index, error)),
        }
    }
    Ok(parsed)
}

/// Parses one JWK.
pub fn parse_jwk(entry: &Value) -> Result<Jwk, JwkError> {
    let object = entry.as_object().ok_or(JwkError::NotAnObject)?;
    let text = |name: &'static str| object.get(name).and_then(Value::as_str);
    if let Some(member) = PRIVATE_MEMBERS
        .into_iter()
        .find(|m| object.contains_key(*m))
    {
        return Err(JwkError::PrivateMember(member));
    }
    if let Some(ops) = object.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verify {
            return Err(JwkError::NotForVerification);
        }
    }
    let kid = match object.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(JwkError::KidNotString),
    };
    let usage = match object.get("use") {
        None => None,
        Some(value) => {
            let usage = value.as_str().unwrap_or_default();
            if usage != "sig" && usage != "jwt-svid" {
                return Err(JwkError::NotForSignatures(usage.to_string()));
            }
            Some(usage.to_string())
        }
    };
    let kty = text("kty").ok_or(JwkError::MissingMember("kty"))?;
    let key = match kty {
        "RSA" => rsa_key(decode(text("n"), "n")?, decode(text("e"), "e")?)?,
        "EC" => {
            let crv = text("crv").ok_or(JwkError::MissingMember("crv"))?;
            let x = decode(text("x"), "x")?;
            let y = decode(text("y"), "y")?;
            ec_key(crv, &x, &y)?
        }
        "OKP" => {
            let crv = text("crv").ok_or(JwkError::MissingMember("crv"))?;
            if crv != "Ed25519" {
                return Err(JwkError::UnsupportedType(format!("OKP {crv}")));
            }
            let x = decode(text("x"), "x")?;
            if x.len() != 32 {
                return Err(JwkError::BadLength("x"));
            }
            verify::ed25519_public_key(&x).ok_or(JwkError::InvalidKey)?;
            PublicKey::Ed25519(x)
        }
        other => return Err(JwkError::UnsupportedType(other.to_string())),
    };
    let alg = match object.get("alg") {
        None => None,
        Some(value) => {
            let name = value.as_str().unwrap_or_default();
            let alg =
                Algorithm::parse(name).map_err(|_| JwkError::BadAlgorithm(name.to_string()))?;
            if alg.key_family() != key.family() {
                return Err(JwkError::BadAlgorithm(name.to_string()));
            }
            Some(alg)
        }
    };
    Ok(Jwk {
        kid,
        alg,
        usage,
        key,
    })
}

fn decode(value: Option<&str>, member: &'static str) -> Result<Vec<u8>, JwkError> {
    let text = value.ok_or(JwkError::MissingMember(member))?;
    // Key sets in the wild sometimes pad; tokens never may (see token parsing).
    let bytes = if text.ends_with('=') {
        URL_SAFE.decode(text)
    } else {
        URL_SAFE_NO_PAD.decode(text)
    };
    bytes.map_err(|_| JwkError::BadEncoding(member))
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn rsa_key(n: Vec<u8>, e: Vec<u8>) -> Result<PublicKey, JwkError> {
    let n = strip_leading_zeros(n);
    let e = strip_leading_zeros(e);
    let bits = match n.first() {
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    if bits < MIN_RSA_BITS {
        return Err(JwkError::RsaTooSmall(bits));
    }
    if bits > MAX_RSA_BITS {
        return Err(JwkError::RsaTooLarge(bits));
    }
    if e != [1, 0, 1] {
        return Err(JwkError::BadExponent);
    }
    // An even modulus is no RSA key (jwt-simple's policy, kept).
    if n.last().is_none_or(|last| last & 1 == 0) {
        return Err(JwkError::InvalidKey);
    }
    verify::rsa_public_key(&n, &e).ok_or(JwkError::InvalidKey)?;
    Ok(PublicKey::Rsa { n, e })
}

fn ec_key(crv: &str, x: &[u8], y: &[u8]) -> Result<PublicKey, JwkError> {
    let size = match crv {
        "P-256" => 32,
        "P-384" => 48,
        other => return Err(JwkError::UnsupportedType(format!("EC {other}"))),
    };
    if x.len() != size {
        return Err(JwkError::BadLength("x"));
    }
    if y.len() != size {
        return Err(JwkError::BadLength("y"));
    }
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    if size == 32 {
        verify::p256_public_key(&point).ok_or(JwkError::InvalidKey)?;
        Ok(PublicKey::EcP256(point))
    } else {
        verify::p384_public_key(&point).ok_or(JwkError::InvalidKey)?;
        Ok(PublicKey::EcP384(point))
    }
}

#[cfg(test)]
mod tests;
