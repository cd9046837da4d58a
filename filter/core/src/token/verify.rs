//! Signature verification behind one small interface, so a host-backed verifier
//! (Envoy's `verify_signature` foreign function) can replace the guest one without touching the rules.

use super::jws::Jws;
use crate::keys::{Algorithm, PublicKey};
use p256::ecdsa::signature::DigestVerifier as _;
use superboring::bn::BigNum;
use superboring::hash::MessageDigest;
use superboring::pkey::{PKey, Public};
use superboring::rsa::{Padding, Rsa};
use superboring::sign::Verifier;

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// The signature does not verify with this key.
    Mismatch,
    /// The key does not fit the algorithm (never reached through [`crate::keys::KeySet::candidates`]).
    KeyMismatch,
}

/// The largest `limits.max_token_bytes` a configuration may set.
pub const MAX_TOKEN_LIMIT: usize = 64 * 1024;

/// Checks a JWS signature with one key.
pub trait SignatureVerifier {
    /// Verifies `jws` (its `signing_input` and `signature`) with `key` under `alg`.
    fn verify(&self, alg: Algorithm, key: &PublicKey, jws: &Jws<'_>) -> Result<(), VerifyError>;
}

/// Pure-Rust verification inside the guest, with the primitives `jwt-simple` calls, used
/// directly (no second parse of the token, none of its error types in the module):
/// `superboring` RSA, the RustCrypto `p256`/`p384` ECDSA over `signing_input`; Ed25519 with
/// `ed25519-dalek` (strict), twice as fast under V8 as `jwt-simple`'s `ed25519-compact`. Keys
/// are built by the constructors below, the same ones that check a key set's keys when it is
/// read. Every claim rule is ours: only the signature decides.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuestVerifier;

fn mismatch<E>(_: E) -> VerifyError {
    VerifyError::Mismatch
}

/// An RSA public key from its big-endian modulus and exponent (`None`: not a key `superboring`
/// accepts). The key-set reader checks size and exponent before it.
pub(crate) fn rsa_public_key(n: &[u8], e: &[u8]) -> Option<Rsa<Public>> {
    let n = BigNum::from_slice(n).ok()?;
    let e = BigNum::from_slice(e).ok()?;
    Rsa::from_public_components(n, e).ok()
}

/// A P-256 public key from its uncompressed SEC1 point (`None`: not on the curve).
pub(crate) fn p256_public_key(point: &[u8]) -> Option<p256::ecdsa::VerifyingKey> {
    p256::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()
}

/// A P-384 public key from its uncompressed SEC1 point (`None`: not on the curve).
pub(crate) fn p384_public_key(point: &[u8]) -> Option<p384::ecdsa::VerifyingKey> {
    p384::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()
}

/// An Ed25519 public key (`None`: not a point, or of small order: a weak key).
pub(crate) fn ed25519_public_key(bytes: &[u8]) -> Option<ed25519_dalek::VerifyingKey> {
    let raw: [u8; 32] = bytes.try_into().ok()?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&raw).ok()?;
    (!key.is_weak()).then_some(key)
}

/// RSASSA-PKCS1-v1_5 or RSASSA-PSS over `message` with SHA-256/384/512.
fn rsa(
    n: &[u8],
    e: &[u8],
    digest: MessageDigest,
    padding: Padding,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let key = rsa_public_key(n, e).ok_or(VerifyError::Mismatch)?;
    let pkey = PKey::from_rsa(key).map_err(mismatch)?;
    let mut verifier = Verifier::new(digest, &pkey).map_err(mismatch)?;
    verifier.set_rsa_padding(padding).map_err(mismatch)?;
    verifier.update(message).map_err(mismatch)?;
    match verifier.verify(signature) {
        Ok(true) => Ok(()),
        _ => Err(VerifyError::Mismatch),
    }
}

/// ECDSA P-256 with SHA-256, the signature as JWS's fixed-size `r || s`.
fn es256(point: &[u8], message: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
    let key = p256_public_key(point).ok_or(VerifyError::Mismatch)?;
    let signature = p256::ecdsa::Signature::try_from(signature).map_err(mismatch)?;
    key.verify_digest(
        |digest: &mut hmac_sha256::Hash| {
            digest.update(message);
            Ok(())
        },
        &signature,
    )
    .map_err(mismatch)
}

/// ECDSA P-384 with SHA-384.
fn es384(point: &[u8], message: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
    let key = p384_public_key(point).ok_or(VerifyError::Mismatch)?;
    let signature = p384::ecdsa::Signature::try_from(signature).map_err(mismatch)?;
    key.verify_digest(
        |digest: &mut hmac_sha512::sha384::Hash| {
            digest.update(message);
            Ok(())
        },
        &signature,
    )
    .map_err(mismatch)
}

/// Ed25519 (RFC 8032, `EdDSA` in JWS), with ed25519-dalek's strict rules: canonical `S`, no
/// small-order `R` or key (weak keys are refused when the key set is read, too).
fn ed25519(bytes: &[u8], message: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
    let key = ed25519_public_key(bytes).ok_or(VerifyError::Mismatch)?;
    let signature = ed25519_dalek::Signature::from_slice(signature).map_err(mismatch)?;
    key.verify_strict(message, &signature).map_err(mismatch)
}

impl SignatureVerifier for GuestVerifier {
    fn verify(&self, alg: Algorithm, key: &PublicKey, jws: &Jws<'_>) -> Result<(), VerifyError> {
        if jws.signature.is_empty() {
            return Err(VerifyError::Mismatch);
        }
        let message = jws.signing_input.as_bytes();
        let signature = jws.signature.as_slice();
        let pkcs1 = Padding::PKCS1;
        let pss = Padding::PKCS1_PSS;
        match (alg, key) {
            (Algorithm::Rs256, PublicKey::Rsa { n, e }) => {
                rsa(n, e, MessageDigest::sha256(), pkcs1, message, signature)
            }
            (Algorithm::Rs384, PublicKey::Rsa { n, e }) => {
                rsa(n, e, MessageDigest::sha384(), pkcs1, message, signature)
            }
            (Algorithm::Rs512, PublicKey::Rsa { n, e }) => {
                rsa(n, e, MessageDigest::sha512(), pkcs1, message, signature)
            }
            (Algorithm::Ps256, PublicKey::Rsa { n, e }) => {
                rsa(n, e, MessageDigest::sha256(), pss, message, signature)
            }
            (Algorithm::Ps384, PublicKey::Rsa { n, e }) => {
                rsa(n, e, MessageDigest::sha384(), pss, message, signature)
            }
            (Algorithm::Ps512, PublicKey::Rsa { n, e }) => {
                rsa(n, e, MessageDigest::sha512(), pss, message, signature)
            }
            (Algorithm::Es256, PublicKey::EcP256(point)) => es256(point, message, signature),
            (Algorithm::Es384, PublicKey::EcP384(point)) => es384(point, message, signature),
            (Algorithm::EdDsa, PublicKey::Ed25519(bytes)) => ed25519(bytes, message, signature),
            _ => Err(VerifyError::KeyMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::jws::parse;
    use jwt_simple::prelude::{
        Claims, Duration, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ECDSAP384KeyPairLike,
        ECDSAP384PublicKeyLike, ES256KeyPair, ES384KeyPair, Ed25519KeyPair, EdDSAKeyPairLike,
        PS256KeyPair, PS384KeyPair, PS512KeyPair, RS256KeyPair, RS384KeyPair, RS512KeyPair,
        RSAKeyPairLike,
    };

    /// A signed token of each algorithm with the public key it verifies under.
    fn signed() -> Vec<(Algorithm, PublicKey, String)> {
        let claims = || Claims::create(Duration::from_secs(60)).with_subject("s");
        let rsa = RS256KeyPair::generate(2048).unwrap();
        let der = rsa.to_der().unwrap();
        let c = rsa.public_key().to_components();
        let rsa_key = PublicKey::Rsa { n: c.n, e: c.e };
        let es256 = ES256KeyPair::generate();
        let es384 = ES384KeyPair::generate();
        let ed = Ed25519KeyPair::generate();
        vec![
            (
                Algorithm::Rs256,
                rsa_key.clone(),
                rsa.sign(claims()).unwrap(),
            ),
            (
                Algorithm::Rs384,
                rsa_key.clone(),
                RS384KeyPair::from_der(&der)
                    .unwrap()
                    .sign(claims())
                    .unwrap(),
            ),
            (
                Algorithm::Rs512,
                rsa_key.clone(),
                RS512KeyPair::from_der(&der)
                    .unwrap()
                    .sign(claims())
                    .unwrap(),
            ),
            (
                Algorithm::Ps256,
                rsa_key.clone(),
                PS256KeyPair::from_der(&der)
                    .unwrap()
                    .sign(claims())
                    .unwrap(),
            ),
            (
                Algorithm::Ps384,
                rsa_key.clone(),
                PS384KeyPair::from_der(&der)
                    .unwrap()
                    .sign(claims())
                    .unwrap(),
            ),
            (
                Algorithm::Ps512,
                rsa_key,
                PS512KeyPair::from_der(&der)
                    .unwrap()
                    .sign(claims())
                    .unwrap(),
            ),
            (
                Algorithm::Es256,
                PublicKey::EcP256(es256.public_key().public_key().to_bytes_uncompressed()),
                es256.sign(claims()).unwrap(),
            ),
            (
                Algorithm::Es384,
                PublicKey::EcP384(es384.public_key().public_key().to_bytes_uncompressed()),
                es384.sign(claims()).unwrap(),
            ),
            (
                Algorithm::EdDsa,
                PublicKey::Ed25519(ed.public_key().to_bytes()),
                ed.sign(claims()).unwrap(),
            ),
        ]
    }

    #[test]
    fn every_algorithm_verifies_its_signature_and_nothing_else() {
        let all = signed();
        for (alg, key, token) in &all {
            let jws = parse(token).unwrap();
            assert_eq!(GuestVerifier.verify(*alg, key, &jws), Ok(()), "{alg:?}");
            // One bit of the signature flipped.
            let mut bad = parse(token).unwrap();
            if let Some(last) = bad.signature.last_mut() {
                *last ^= 1;
            }
            assert_eq!(
                GuestVerifier.verify(*alg, key, &bad),
                Err(VerifyError::Mismatch),
                "{alg:?} tampered signature"
            );
            // Another signing input under the same signature.
            let other = format!("{}x", jws.signing_input);
            let moved = Jws {
                signing_input: &other,
                ..parse(token).unwrap()
            };
            assert_eq!(
                GuestVerifier.verify(*alg, key, &moved),
                Err(VerifyError::Mismatch),
                "{alg:?} other input"
            );
            // No signature, a truncated one.
            let mut short = parse(token).unwrap();
            short.signature.truncate(short.signature.len() / 2);
            assert_eq!(
                GuestVerifier.verify(*alg, key, &short),
                Err(VerifyError::Mismatch),
                "{alg:?} truncated"
            );
            let mut empty = parse(token).unwrap();
            empty.signature.clear();
            assert_eq!(
                GuestVerifier.verify(*alg, key, &empty),
                Err(VerifyError::Mismatch),
                "{alg:?} empty"
            );
        }
        // A signature of one algorithm never verifies under another with the same key.
        let (_, rsa_key, rs256) = &all[0];
        let jws = parse(rs256).unwrap();
        for alg in [Algorithm::Rs384, Algorithm::Ps256] {
            assert_eq!(
                GuestVerifier.verify(alg, rsa_key, &jws),
                Err(VerifyError::Mismatch)
            );
        }
        // A key of another type.
        let (_, ec_key, es256) = &all[6];
        assert_eq!(
            GuestVerifier.verify(Algorithm::Rs256, ec_key, &parse(es256).unwrap()),
            Err(VerifyError::KeyMismatch)
        );
    }
}
