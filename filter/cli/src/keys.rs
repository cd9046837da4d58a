//! Development keys: generate, load from PEM, export the public JWK, sign tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};
use std::fmt;

/// A private signing key of one of the supported algorithms.
pub enum SigningKey {
    /// ES256.
    Es256(ES256KeyPair),
    /// ES384.
    Es384(ES384KeyPair),
    /// RS256 (RSA, PKCS#1 v1.5).
    Rs256(RS256KeyPair),
    /// PS256 (RSA-PSS).
    Ps256(PS256KeyPair),
    /// EdDSA (Ed25519).
    EdDsa(Ed25519KeyPair),
}

/// Key handling errors.
#[derive(Debug)]
pub enum KeyError {
    /// An algorithm name we do not generate or sign with.
    UnsupportedAlgorithm(String),
    /// The PEM does not hold a key of the requested (or any known) kind.
    UnreadablePem(String),
    /// The crypto library failed.
    Crypto(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::UnsupportedAlgorithm(a) => write!(
                f,
                "algorithm `{a}` is not supported (use ES256, ES384, RS256, PS256 or EdDSA)"
            ),
            KeyError::UnreadablePem(why) => write!(f, "cannot read the private key: {why}"),
            KeyError::Crypto(why) => write!(f, "crypto error: {why}"),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn crypto(e: jwt_simple::Error) -> KeyError {
    KeyError::Crypto(e.to_string())
}

impl SigningKey {
    /// A fresh key for `alg`.
    pub fn generate(alg: &str) -> Result<SigningKey, KeyError> {
        Ok(match alg {
            "ES256" => SigningKey::Es256(ES256KeyPair::generate()),
            "ES384" => SigningKey::Es384(ES384KeyPair::generate()),
            "RS256" => SigningKey::Rs256(RS256KeyPair::generate(2048).map_err(crypto)?),
            "PS256" => SigningKey::Ps256(PS256KeyPair::generate(2048).map_err(crypto)?),
            "EdDSA" => SigningKey::EdDsa(Ed25519KeyPair::generate()),
            other => return Err(KeyError::UnsupportedAlgorithm(other.to_string())),
        })
    }

    /// Loads a PKCS#8 PEM for `alg`, or guesses the algorithm from the key when `alg` is `None`
    /// (EC P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA, RSA → RS256).
    pub fn from_pem(pem: &str, alg: Option<&str>) -> Result<SigningKey, KeyError> {
        let unreadable = |e: jwt_simple::Error| KeyError::UnreadablePem(e.to_string());
        match alg {
            Some("ES256") => ES256KeyPair::from_pem(pem)
                .map(SigningKey::Es256)
                .map_err(unreadable),
            Some("ES384") => ES384KeyPair::from_pem(pem)
                .map(SigningKey::Es384)
                .map_err(unreadable),
            Some("RS256") => RS256KeyPair::from_pem(pem)
                .map(SigningKey::Rs256)
                .map_err(unreadable),
            Some("PS256") => PS256KeyPair::from_pem(pem)
                .map(SigningKey::Ps256)
                .map_err(unreadable),
            Some("EdDSA") => Ed25519KeyPair::from_pem(pem)
                .map(SigningKey::EdDsa)
                .map_err(unreadable),
            Some(other) => Err(KeyError::UnsupportedAlgorithm(other.to_string())),
            None => ["ES256", "ES384", "EdDSA", "RS256"]
                .iter()
                .find_map(|a| SigningKey::from_pem(pem, Some(a)).ok())
                .ok_or_else(|| {
                    KeyError::UnreadablePem("not an EC, Ed25519 or RSA PKCS#8 PEM".into())
                }),
        }
    }

    /// The JOSE algorithm name.
    pub fn alg(&self) -> &'static str {
        match self {
            SigningKey::Es256(_) => "ES256",
            SigningKey::Es384(_) => "ES384",
            SigningKey::Rs256(_) => "RS256",
            SigningKey::Ps256(_) => "PS256",
            SigningKey::EdDsa(_) => "EdDSA",
        }
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        match self {
            SigningKey::Es256(k) => k.to_pem().map_err(crypto),
            SigningKey::Es384(k) => k.to_pem().map_err(crypto),
            SigningKey::Rs256(k) => k.to_pem().map_err(crypto),
            SigningKey::Ps256(k) => k.to_pem().map_err(crypto),
            SigningKey::EdDsa(k) => Ok(k.to_pem()),
        }
    }

    /// The public JWK, with `kid`, `alg` and `use`.
    pub fn public_jwk(&self, kid: &str) -> Value {
        let ec = |crv: &str, point: Vec<u8>| {
            let size = point.len().saturating_sub(1) / 2;
            let x = point.get(1..1 + size).unwrap_or_default();
            let y = point.get(1 + size..).unwrap_or_default();
            json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)})
        };
        let rsa = |c: RSAPublicKeyComponents| json!({"kty": "RSA", "n": b64(&c.n), "e": b64(&c.e)});
        let mut jwk = match self {
            SigningKey::Es256(k) => {
                ec("P-256", k.public_key().public_key().to_bytes_uncompressed())
            }
            SigningKey::Es384(k) => {
                ec("P-384", k.public_key().public_key().to_bytes_uncompressed())
            }
            SigningKey::Rs256(k) => rsa(k.public_key().to_components()),
            SigningKey::Ps256(k) => rsa(k.public_key().to_components()),
            SigningKey::EdDsa(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&k.public_key().to_bytes())})
            }
        };
        if let Some(members) = jwk.as_object_mut() {
            members.insert("kid".into(), json!(kid));
            members.insert("alg".into(), json!(self.alg()));
            members.insert("use".into(), json!("sig"));
        }
        jwk
    }

    /// Signs `claims` (a JSON object) with `kid`, and optionally `typ` / `cty`, in the header.
    pub fn sign(
        self,
        kid: Option<&str>,
        claims: &Map<String, Value>,
        typ: Option<String>,
        cty: Option<String>,
    ) -> Result<String, KeyError> {
        let claims: JWTClaims<Map<String, Value>> =
            serde_json::from_value(Value::Object(claims.clone()))
                .map_err(|e| KeyError::Crypto(format!("claims: {e}")))?;
        let kid = kid.unwrap_or_default();
        let opts = HeaderOptions {
            content_type: cty,
            signature_type: typ,
        };
        let signed = match self {
            SigningKey::Es256(k) => {
                with_kid(k, kid, ES256KeyPair::with_key_id).sign_with_options(claims, &opts)
            }
            SigningKey::Es384(k) => {
                with_kid(k, kid, ES384KeyPair::with_key_id).sign_with_options(claims, &opts)
            }
            SigningKey::Rs256(k) => {
                with_kid(k, kid, RS256KeyPair::with_key_id).sign_with_options(claims, &opts)
            }
            SigningKey::Ps256(k) => {
                with_kid(k, kid, PS256KeyPair::with_key_id).sign_with_options(claims, &opts)
            }
            SigningKey::EdDsa(k) => {
                with_kid(k, kid, Ed25519KeyPair::with_key_id).sign_with_options(claims, &opts)
            }
        };
        signed.map_err(crypto)
    }
}

fn with_kid<K>(key: K, kid: &str, set: fn(K, &str) -> K) -> K {
    if kid.is_empty() {
        key
    } else {
        set(key, kid)
    }
}
