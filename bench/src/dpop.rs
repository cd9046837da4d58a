//! DPoP (RFC 9449) for the `dpop` workload of `make bench`: the client's proof key, its RFC 7638
//! thumbprint (the `cnf.jkt` of the bound tokens `mint-pool` writes) and proofs (`dpop-proofs`).
//!
//! Written from the RFCs, not from the filter's code, so that the benchmark's sanity check (a
//! fresh proof is served, a replay or a proof for another URL is refused) tests the filter
//! against an independent client.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};

/// A client's DPoP key: ES256 (P-256), RS256 (RSA 2048) or EdDSA (Ed25519).
pub enum ProofKey {
    /// ECDSA P-256 with SHA-256.
    Es256(p256::ecdsa::SigningKey, Value),
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256(Box<rsa::pkcs1v15::SigningKey<rsa::sha2::Sha256>>, Value),
    /// Ed25519.
    EdDsa(ed25519_dalek::SigningKey, Value),
}

impl ProofKey {
    /// A new key of `alg`, as PEM (what [`ProofKey::from_pem`] reads).
    pub fn generate_pem(alg: &str) -> Result<String, String> {
        let failed = |e: jwt_simple::Error| format!("{alg} key: {e}");
        match alg {
            "ES256" => ES256KeyPair::generate().to_pem().map_err(failed),
            "RS256" => RS256KeyPair::generate(2048)
                .and_then(|k| k.to_pem())
                .map_err(failed),
            "EdDSA" => Ok(Ed25519KeyPair::generate().to_pem()),
            other => Err(format!(
                "unsupported DPoP algorithm {other} (ES256, RS256, EdDSA)"
            )),
        }
    }

    /// The key of `alg` in `pem` (PKCS#8, as [`ProofKey::generate_pem`] writes it).
    pub fn from_pem(alg: &str, pem: &str) -> Result<ProofKey, String> {
        let bad = |e: String| format!("{alg} key: {e}");
        match alg {
            "ES256" => {
                let pair = ES256KeyPair::from_pem(pem).map_err(|e| bad(e.to_string()))?;
                let jwk = public_jwk(&pair.public_key().to_jwk())?;
                let key = p256::ecdsa::SigningKey::from_slice(&pair.to_bytes())
                    .map_err(|e| bad(e.to_string()))?;
                Ok(ProofKey::Es256(key, jwk))
            }
            "RS256" => {
                use rsa::pkcs8::DecodePrivateKey as _;
                let pair = RS256KeyPair::from_pem(pem).map_err(|e| bad(e.to_string()))?;
                let jwk = public_jwk(&pair.public_key().to_jwk())?;
                let der = pair.to_der().map_err(|e| bad(e.to_string()))?;
                let key =
                    rsa::RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| bad(e.to_string()))?;
                Ok(ProofKey::Rs256(
                    Box::new(rsa::pkcs1v15::SigningKey::new(key)),
                    jwk,
                ))
            }
            "EdDSA" => {
                let pair = Ed25519KeyPair::from_pem(pem).map_err(|e| bad(e.to_string()))?;
                let jwk = public_jwk(&pair.public_key().to_jwk())?;
                let seed: [u8; 32] = pair
                    .to_bytes()
                    .get(..32)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| bad("not an Ed25519 key".into()))?;
                Ok(ProofKey::EdDsa(
                    ed25519_dalek::SigningKey::from_bytes(&seed),
                    jwk,
                ))
            }
            other => Err(format!(
                "unsupported DPoP algorithm {other} (ES256, RS256, EdDSA)"
            )),
        }
    }

    /// The JOSE `alg`.
    pub fn alg(&self) -> &'static str {
        match self {
            ProofKey::Es256(..) => "ES256",
            ProofKey::Rs256(..) => "RS256",
            ProofKey::EdDsa(..) => "EdDSA",
        }
    }

    /// The public JWK, required members only (what a proof's header carries).
    pub fn jwk(&self) -> &Value {
        match self {
            ProofKey::Es256(_, jwk) | ProofKey::Rs256(_, jwk) | ProofKey::EdDsa(_, jwk) => jwk,
        }
    }

    /// The RFC 7638 thumbprint of [`ProofKey::jwk`]: the `cnf.jkt` of tokens bound to this key.
    pub fn jkt(&self) -> Result<String, String> {
        self.jwk()
            .as_object()
            .and_then(workload_authz_core::dpop::thumbprint)
            .ok_or_else(|| "the key's JWK has no thumbprint".to_string())
    }

    /// The proofs' protected header, base64url: `typ`, `alg` and `jwk`.
    pub fn header_b64(&self) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk()});
        URL_SAFE_NO_PAD.encode(header.to_string())
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            ProofKey::Es256(key, _) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
            ProofKey::Rs256(key, _) => {
                use rsa::signature::{SignatureEncoding as _, Signer as _};
                key.sign(message).to_vec()
            }
            ProofKey::EdDsa(key, _) => {
                use ed25519_dalek::Signer as _;
                key.sign(message).to_bytes().to_vec()
            }
        }
    }

    /// A proof (compact JWS) with `header_b64` (from [`ProofKey::header_b64`]) and `claims`.
    pub fn proof(&self, header_b64: &str, claims: &Value) -> String {
        let input = format!(
            "{header_b64}.{}",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(self.sign(input.as_bytes()));
        format!("{input}.{signature}")
    }
}

/// The claims of a proof for `htm htu`, sent with the token whose `ath` is given.
pub fn proof_claims(jti: &str, htm: &str, htu: &str, iat: u64, ath: &str) -> Value {
    json!({"jti": jti, "htm": htm, "htu": htu, "iat": iat, "ath": ath})
}

/// The required members of a JWK (RFC 7638 section 3.2) from jwt-simple's JWK text.
fn public_jwk(text: &str) -> Result<Value, String> {
    let full: Value = serde_json::from_str(text).map_err(|e| format!("bad JWK: {e}"))?;
    let members: &[&str] = match full.get("kty").and_then(Value::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("RSA") => &["e", "kty", "n"],
        Some("OKP") => &["crv", "kty", "x"],
        other => return Err(format!("JWK of kty {other:?}")),
    };
    let mut out = Map::new();
    for name in members {
        let value = full
            .get(*name)
            .ok_or_else(|| format!("JWK without `{name}`"))?;
        out.insert((*name).to_string(), value.clone());
    }
    Ok(Value::Object(out))
}

/// `ath` (RFC 9449 section 4.2), as the filter computes it.
pub use workload_authz_core::dpop::access_token_hash;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn rfc_7638_section_3_1_thumbprint() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            workload_authz_core::dpop::thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn proofs_verify_with_their_own_jwk() {
        for alg in ["ES256", "RS256", "EdDSA"] {
            let key = ProofKey::from_pem(alg, &ProofKey::generate_pem(alg).unwrap()).unwrap();
            let claims = proof_claims("j1", "GET", "http://a.example/x", 1, "ath");
            let proof = key.proof(&key.header_b64(), &claims);
            let parts: Vec<&str> = proof.split('.').collect();
            assert_eq!(parts.len(), 3);
            let header: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
            assert_eq!(header["typ"], "dpop+jwt");
            assert_eq!(header["alg"], alg);
            assert_eq!(&header["jwk"], key.jwk());
            assert!(header["jwk"].get("d").is_none(), "no private member");
            let payload: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(payload, claims);
            let input = format!("{}.{}", parts[0], parts[1]);
            let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
            verify(&key, input.as_bytes(), &signature);
        }
    }

    fn verify(key: &ProofKey, message: &[u8], signature: &[u8]) {
        match key {
            ProofKey::Es256(k, _) => {
                use p256::ecdsa::signature::Verifier as _;
                let sig = p256::ecdsa::Signature::from_slice(signature).unwrap();
                k.verifying_key().verify(message, &sig).unwrap();
            }
            ProofKey::Rs256(k, _) => {
                use rsa::signature::{Keypair as _, Verifier as _};
                let sig = rsa::pkcs1v15::Signature::try_from(signature).unwrap();
                k.verifying_key().verify(message, &sig).unwrap();
            }
            ProofKey::EdDsa(k, _) => {
                use ed25519_dalek::Verifier as _;
                let sig = ed25519_dalek::Signature::from_slice(signature).unwrap();
                k.verifying_key().verify(message, &sig).unwrap();
            }
        }
    }
}
