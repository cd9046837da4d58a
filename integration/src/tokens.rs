//! Key pairs, JWKS and token minting for the tests.
//!
//! Keys are generated once per test binary ([`key`] / [`other_key`], cached in `OnceLock`s).
//! Signed tokens are produced by jwt-simple (header `{"typ":"JWT","alg":..,"kid":..}`) with a
//! payload that is exactly the given JSON object (no claims added). Tokens whose header must be
//! controlled exactly (alg `none`, HS256, ...) are built by hand with [`build_token`].

use std::sync::OnceLock;

use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};

use crate::{b64url, b64url_decode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    RS256,
    PS256,
    ES256,
    ES384,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 5] = [Alg::RS256, Alg::PS256, Alg::ES256, Alg::ES384, Alg::EdDSA];

    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::PS256 => "PS256",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    fn index(self) -> usize {
        match self {
            Alg::RS256 => 0,
            Alg::PS256 => 1,
            Alg::ES256 => 2,
            Alg::ES384 => 3,
            Alg::EdDSA => 4,
        }
    }
}

enum Inner {
    RS256(RS256KeyPair),
    PS256(PS256KeyPair),
    ES256(ES256KeyPair),
    ES384(ES384KeyPair),
    EdDSA(Ed25519KeyPair),
}

/// A signing key with its `kid`.
pub struct TestKey {
    pub alg: Alg,
    pub kid: String,
    inner: Inner,
}

impl TestKey {
    /// Generates a fresh key (RSA: 2048 bits).
    pub fn generate(alg: Alg, kid: &str) -> TestKey {
        let rsa_fail = |e: jwt_simple::Error| -> ! { panic!("RSA key generation failed: {e}") };
        let inner = match alg {
            Alg::RS256 => Inner::RS256(
                RS256KeyPair::generate(2048)
                    .unwrap_or_else(|e| rsa_fail(e))
                    .with_key_id(kid),
            ),
            Alg::PS256 => Inner::PS256(
                PS256KeyPair::generate(2048)
                    .unwrap_or_else(|e| rsa_fail(e))
                    .with_key_id(kid),
            ),
            Alg::ES256 => Inner::ES256(ES256KeyPair::generate().with_key_id(kid)),
            Alg::ES384 => Inner::ES384(ES384KeyPair::generate().with_key_id(kid)),
            Alg::EdDSA => Inner::EdDSA(Ed25519KeyPair::generate().with_key_id(kid)),
        };
        TestKey {
            alg,
            kid: kid.to_string(),
            inner,
        }
    }

    /// An RS256 signer from a PEM private key (PKCS#1 or PKCS#8), e.g. a shared vector.
    pub fn rs256_from_pem(pem: &str, kid: Option<&str>) -> Result<TestKey, String> {
        let k = RS256KeyPair::from_pem(pem).map_err(|e| e.to_string())?;
        let k = match kid {
            Some(kid) => k.with_key_id(kid),
            None => k,
        };
        Ok(TestKey {
            alg: Alg::RS256,
            kid: kid.unwrap_or("").to_string(),
            inner: Inner::RS256(k),
        })
    }

    /// The same key material under another `kid` (`None`: no kid in tokens it signs).
    pub fn with_kid(&self, kid: Option<&str>) -> TestKey {
        fn ok<T>(r: Result<T, jwt_simple::Error>) -> T {
            r.unwrap_or_else(|e| panic!("re-importing a key failed: {e}"))
        }
        let inner = match &self.inner {
            Inner::RS256(k) => {
                let k = ok(RS256KeyPair::from_der(&ok(k.to_der())));
                Inner::RS256(match kid {
                    Some(kid) => k.with_key_id(kid),
                    None => k,
                })
            }
            Inner::PS256(k) => {
                let k = ok(PS256KeyPair::from_der(&ok(k.to_der())));
                Inner::PS256(match kid {
                    Some(kid) => k.with_key_id(kid),
                    None => k,
                })
            }
            Inner::ES256(k) => {
                let k = ok(ES256KeyPair::from_bytes(&k.to_bytes()));
                Inner::ES256(match kid {
                    Some(kid) => k.with_key_id(kid),
                    None => k,
                })
            }
            Inner::ES384(k) => {
                let k = ok(ES384KeyPair::from_bytes(&k.to_bytes()));
                Inner::ES384(match kid {
                    Some(kid) => k.with_key_id(kid),
                    None => k,
                })
            }
            Inner::EdDSA(k) => {
                let k = ok(Ed25519KeyPair::from_bytes(&k.to_bytes()));
                Inner::EdDSA(match kid {
                    Some(kid) => k.with_key_id(kid),
                    None => k,
                })
            }
        };
        TestKey {
            alg: self.alg,
            kid: kid.unwrap_or("").to_string(),
            inner,
        }
    }

    /// The public JWK: RSA {kty,n,e}, EC {kty,crv,x,y}, OKP {kty,crv,x}, plus `kid` (if any)
    /// and `use: sig`. No `alg` member.
    pub fn public_jwk(&self) -> Value {
        let exported = match &self.inner {
            Inner::RS256(k) => k.public_key().to_jwk(),
            Inner::PS256(k) => k.public_key().to_jwk(),
            Inner::ES256(k) => k.public_key().to_jwk(),
            Inner::ES384(k) => k.public_key().to_jwk(),
            Inner::EdDSA(k) => k.public_key().to_jwk(),
        };
        let full: Value = serde_json::from_str(&exported)
            .unwrap_or_else(|e| panic!("jwt-simple produced a bad JWK ({e}): {exported}"));
        let mut out = Map::new();
        for field in ["kty", "crv", "n", "e", "x", "y"] {
            if let Some(v) = full.get(field) {
                out.insert(field.to_string(), v.clone());
            }
        }
        for field in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                full.get(field).is_none(),
                "public JWK contains private member {field}"
            );
        }
        if !self.kid.is_empty() {
            out.insert("kid".into(), Value::String(self.kid.clone()));
        }
        out.insert("use".into(), Value::String("sig".into()));
        Value::Object(out)
    }

    /// Signs `claims` (a JSON object, used verbatim as the payload).
    /// Header: `{"typ":"JWT","alg":<alg>,"kid":<kid>}` (kid omitted if empty).
    pub fn sign(&self, claims: &Value) -> String {
        let claims = jwt_claims(claims);
        let r = match &self.inner {
            Inner::RS256(k) => k.sign(claims),
            Inner::PS256(k) => k.sign(claims),
            Inner::ES256(k) => k.sign(claims),
            Inner::ES384(k) => k.sign(claims),
            Inner::EdDSA(k) => k.sign(claims),
        };
        r.unwrap_or_else(|e| panic!("signing failed: {e}"))
    }
}

impl TestKey {
    /// Like [`TestKey::sign`], with another JOSE `typ` (e.g. `txntoken+jwt`, `at+jwt`).
    pub fn sign_with_typ(&self, claims: &Value, typ: &str) -> String {
        let claims = jwt_claims(claims);
        let options = HeaderOptions {
            signature_type: Some(typ.to_string()),
            ..Default::default()
        };
        let r = match &self.inner {
            Inner::RS256(k) => k.sign_with_options(claims, &options),
            Inner::PS256(k) => k.sign_with_options(claims, &options),
            Inner::ES256(k) => k.sign_with_options(claims, &options),
            Inner::ES384(k) => k.sign_with_options(claims, &options),
            Inner::EdDSA(k) => k.sign_with_options(claims, &options),
        };
        r.unwrap_or_else(|e| panic!("signing failed: {e}"))
    }
}

/// `claims` (a JSON object) as jwt-simple claims, used verbatim as the payload.
fn jwt_claims(claims: &Value) -> JWTClaims<serde_json::Map<String, Value>> {
    let custom = match claims {
        Value::Object(m) => m.clone(),
        other => panic!("claims must be a JSON object, got {other}"),
    };
    JWTClaims {
        issued_at: None,
        expires_at: None,
        invalid_before: None,
        issuer: None,
        subject: None,
        audiences: None,
        jwt_id: None,
        nonce: None,
        custom,
    }
}

static KEYS: [OnceLock<TestKey>; 5] = [const { OnceLock::new() }; 5];
static OTHER_KEYS: [OnceLock<TestKey>; 5] = [const { OnceLock::new() }; 5];

/// The primary key for `alg` (kid `<alg>-1`, e.g. `ES256-1`), generated once per binary.
pub fn key(alg: Alg) -> &'static TestKey {
    KEYS[alg.index()].get_or_init(|| TestKey::generate(alg, &format!("{}-1", alg.name())))
}

/// A second, different key for `alg` (kid `<alg>-other`), typically NOT put in the JWKS.
pub fn other_key(alg: Alg) -> &'static TestKey {
    OTHER_KEYS[alg.index()].get_or_init(|| TestKey::generate(alg, &format!("{}-other", alg.name())))
}

/// `{"keys":[...]}` with the public JWKs of `keys`.
pub fn jwks(keys: &[&TestKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() }).to_string()
}

/// Hand-built token: b64url(header JSON) . b64url(payload JSON) . b64url(signature).
pub fn build_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(signature)
    )
}

/// An `alg: none` token (empty signature part).
pub fn none_token(claims: &Value, kid: Option<&str>) -> String {
    let mut header = json!({"alg": "none", "typ": "JWT"});
    if let (Some(kid), Some(h)) = (kid, header.as_object_mut()) {
        h.insert("kid".into(), json!(kid));
    }
    build_token(&header, claims, b"")
}

/// An HS256 token MACed with `secret` (e.g. the bytes of a public JWK: the classic
/// algorithm-confusion attack).
pub fn hs256_token(secret: &[u8], claims: &Value, kid: Option<&str>) -> String {
    let mut key = HS256Key::from_bytes(secret);
    if let Some(kid) = kid {
        key = key.with_key_id(kid);
    }
    key.authenticate(jwt_claims(claims))
        .unwrap_or_else(|e| panic!("HS256 failed: {e}"))
}

/// Replaces the payload of a signed token (signature kept: it no longer verifies).
pub fn with_payload(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or("");
    let _ = parts.next();
    let sig = parts.next().unwrap_or("");
    format!("{header}.{}.{sig}", b64url(claims.to_string().as_bytes()))
}

/// Flips one bit in the signature (decoded), keeping the encoding valid.
pub fn with_corrupted_signature(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWS compact token");
    let mut sig = b64url_decode(parts[2]).unwrap_or_default();
    let mid = sig.len() / 2;
    if let Some(b) = sig.get_mut(mid) {
        *b ^= 0x01;
    }
    format!("{}.{}.{}", parts[0], parts[1], b64url(&sig))
}

/// Decoded header and payload of a compact token (for diagnostics).
pub fn decode(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let h = b64url_decode(parts.next()?)?;
    let p = b64url_decode(parts.next()?)?;
    Some((
        serde_json::from_slice(&h).ok()?,
        serde_json::from_slice(&p).ok()?,
    ))
}

/// Merges `overrides` into `base` (both JSON objects); a `null` override removes the claim.
pub fn merge(base: &Value, overrides: &Value) -> Value {
    let mut out = base.as_object().cloned().unwrap_or_default();
    if let Some(o) = overrides.as_object() {
        for (k, v) in o {
            if v.is_null() {
                out.remove(k);
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_and_okp_jwks_and_tokens() {
        for alg in [Alg::ES256, Alg::ES384, Alg::EdDSA] {
            let k = TestKey::generate(alg, "k1");
            let jwk = k.public_jwk();
            match alg {
                Alg::ES256 => {
                    assert_eq!(jwk["kty"], "EC");
                    assert_eq!(jwk["crv"], "P-256");
                    assert!(jwk["y"].is_string());
                }
                Alg::ES384 => assert_eq!(jwk["crv"], "P-384"),
                _ => {
                    assert_eq!(jwk["kty"], "OKP");
                    assert_eq!(jwk["crv"], "Ed25519");
                }
            }
            assert_eq!(jwk["kid"], "k1");
            let t = k.sign(&json!({"iss": "x", "exp": 5, "scope": ["a"]}));
            let (h, p) = decode(&t).expect("decodes");
            assert_eq!(h["alg"], alg.name());
            assert_eq!(h["kid"], "k1");
            assert_eq!(p, json!({"iss": "x", "exp": 5, "scope": ["a"]}));
            let nokid = k.with_kid(None).sign(&json!({"a": 1}));
            let (h, _) = decode(&nokid).expect("decodes");
            assert!(h.get("kid").is_none(), "{h}");
        }
    }
}

#[cfg(test)]
mod rsa_tests {
    use super::*;

    #[test]
    fn rsa_jwks_and_tokens() {
        let t0 = std::time::Instant::now();
        for alg in [Alg::RS256, Alg::PS256] {
            let k = key(alg);
            let jwk = k.public_jwk();
            assert_eq!(jwk["kty"], "RSA");
            assert_eq!(jwk["e"], "AQAB");
            let n = crate::b64url_decode(jwk["n"].as_str().unwrap_or("")).unwrap_or_default();
            assert_eq!(n.len(), 256, "{jwk}");
            let t = k.sign(&json!({"sub": "a"}));
            let (h, _) = decode(&t).expect("decodes");
            assert_eq!(h["alg"], alg.name());
        }
        eprintln!("RSA keygen+sign: {:?}", t0.elapsed());
        eprintln!(
            "{}",
            jwks(&[key(Alg::RS256), key(Alg::ES256), key(Alg::EdDSA)])
        );
    }
}

/// An Ed25519 key that signs arbitrary bytes: tokens whose header and payload text we control
/// exactly, with a valid signature.
pub struct RawSigner {
    pair: Ed25519KeyPair,
    /// The `kid` its tokens and JWK carry (may be empty).
    pub kid: String,
}

impl RawSigner {
    pub fn new(kid: &str) -> RawSigner {
        RawSigner {
            pair: Ed25519KeyPair::generate().with_key_id(kid),
            kid: kid.to_string(),
        }
    }

    /// The public JWK (with `kid`, `use: sig`).
    pub fn jwk(&self) -> Value {
        let mut jwk: Value = serde_json::from_str(&self.pair.public_key().to_jwk())
            .unwrap_or_else(|e| panic!("bad JWK from jwt-simple: {e}"));
        let mut out = serde_json::Map::new();
        for f in ["kty", "crv", "x"] {
            if let Some(v) = jwk.get_mut(f) {
                out.insert(f.into(), v.take());
            }
        }
        out.insert("kid".into(), json!(self.kid));
        out.insert("use".into(), json!("sig"));
        Value::Object(out)
    }

    /// Signs the literal `signing_input` and appends the signature part.
    pub fn sign_input(&self, signing_input: &str) -> String {
        let sig = self
            .pair
            .key_pair()
            .as_ref()
            .sk
            .sign(signing_input.as_bytes(), None);
        format!("{signing_input}.{}", b64url(sig.as_ref()))
    }

    /// A token from header and payload JSON *text* (sent as written: duplicates, odd numbers).
    pub fn sign_text(&self, header: &str, payload: &str) -> String {
        self.sign_input(&format!(
            "{}.{}",
            b64url(header.as_bytes()),
            b64url(payload.as_bytes())
        ))
    }

    pub fn header(&self) -> String {
        format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, self.kid)
    }
}
