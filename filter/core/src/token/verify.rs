//! Signature verification behind one small interface, so a host-backed verifier
//! (Envoy's `verify_signature` foreign function) can replace the guest one without touching the rules.

use super::jws::Jws;
use crate::keys::{Algorithm, PublicKey};
use jwt_simple::prelude::*;

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

/// Pure-Rust verification inside the guest, with `jwt-simple`.
///
/// `jwt-simple` verifies whole tokens and re-checks claims; every claim rule is ours, so its
/// own time and claim checks are neutralised (time pinned to the epoch, future tokens accepted,
/// `typ` pinned to the token's own). Only the signature decides.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuestVerifier;

impl GuestVerifier {
    fn options(jws: &Jws<'_>) -> VerificationOptions {
        VerificationOptions {
            accept_future: true,
            artificial_time: Some(Duration::from_secs(0)),
            time_tolerance: Some(Duration::from_secs(0)),
            required_signature_type: jws.header.typ.clone(),
            // Our own limits ran first; this only has to admit every token they admit.
            max_token_length: Some(MAX_TOKEN_LIMIT),
            ..Default::default()
        }
    }
}

fn verdict<T>(result: Result<T, jwt_simple::Error>) -> Result<(), VerifyError> {
    result.map(|_| ()).map_err(|_| VerifyError::Mismatch)
}

impl SignatureVerifier for GuestVerifier {
    fn verify(&self, alg: Algorithm, key: &PublicKey, jws: &Jws<'_>) -> Result<(), VerifyError> {
        if jws.signature.is_empty() {
            return Err(VerifyError::Mismatch);
        }
        let options = Some(Self::options(jws));
        let token = jws.compact;
        match (alg, key) {
            (Algorithm::Rs256, PublicKey::Rsa { n, e }) => verdict(
                RS256PublicKey::from_components(n, e)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            (Algorithm::Rs384, PublicKey::Rsa { n, e }) => verdict(
                RS384PublicKey::from_components(n, e)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            (Algorithm::Rs512, PublicKey::Rsa { n, e }) => verdict(
                RS512PublicKey::from_components(n, e)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            (Algorithm::Ps256, PublicKey::Rsa { n, e }) => verdict(
                PS256PublicKey::from_components(n, e)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            (Algorithm::Ps384, PublicKey::Rsa { n, e }) => verdict(
                PS384PublicKey::from_components(n, e)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            (Algorithm::Ps512, PublicKey::Rsa { n, e }) => verdict(
                PS512PublicKey::from_components(n, e)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            (Algorithm::Es256, PublicKey::EcP256(point)) => verdict(
                ES256PublicKey::from_bytes(point)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            (Algorithm::Es384, PublicKey::EcP384(point)) => verdict(
                ES384PublicKey::from_bytes(point)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            (Algorithm::EdDsa, PublicKey::Ed25519(bytes)) => verdict(
                Ed25519PublicKey::from_bytes(bytes)
                    .and_then(|k| k.verify_token::<NoCustomClaims>(token, options)),
            ),
            _ => Err(VerifyError::KeyMismatch),
        }
    }
}
