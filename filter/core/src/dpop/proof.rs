//! Checking one DPoP proof (RFC 9449 section 4.3) against the request and the access token.
//! Each check fails with its own [`ProofError`], and so its own reason code.

use super::thumbprint::{access_token_hash, thumbprint};
use crate::config::dpop::DpopConfig;
use crate::decision::Reason;
use crate::keys::{jwk, Algorithm};
use crate::token::{jws, SignatureVerifier, TokenLimits};
use serde_json::Value;
use std::fmt;

/// The `typ` of a DPoP proof.
pub const PROOF_TYPE: &str = "dpop+jwt";
/// Longest `jti` accepted (bytes).
pub const MAX_JTI_BYTES: usize = 256;

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// Not a compact JWS with JSON header and claims, or a claim is missing or mistyped.
    Malformed(String),
    /// `typ` is not `dpop+jwt`.
    WrongType(Option<String>),
    /// `alg` is `none`, symmetric, unknown, or not on the provider's `dpop.algorithms`.
    DisallowedAlgorithm(String),
    /// `jwk` is missing, not a public key the filter can use, holds a private member, or does
    /// not fit `alg`.
    BadKey(String),
    /// The signature does not verify with the proof's own `jwk`.
    BadSignature,
    /// `htm` is not the request's method.
    MethodMismatch {
        /// The proof's `htm`.
        htm: String,
    },
    /// `htu` is not the request's URI (after normalisation).
    UrlMismatch {
        /// The proof's `htu`, normalised when it could be.
        htu: String,
        /// The request's URI as the filter sees it.
        request: String,
    },
    /// `iat` is further than `iat_window_seconds` from now.
    Stale {
        /// The proof's `iat`.
        iat: u64,
    },
    /// `ath` is not the hash of the access token presented with it.
    TokenHashMismatch,
    /// The proof's key is not the one the token is bound to (`cnf.jkt`).
    KeyMismatch,
}

impl ProofError {
    /// The reason code of this failure.
    pub fn reason(&self) -> Reason {
        match self {
            ProofError::Malformed(_) => Reason::DpopMalformedProof,
            ProofError::WrongType(_) => Reason::DpopWrongType,
            ProofError::DisallowedAlgorithm(_) => Reason::DpopDisallowedAlgorithm,
            ProofError::BadKey(_) => Reason::DpopBadKey,
            ProofError::BadSignature => Reason::DpopBadSignature,
            ProofError::MethodMismatch { .. } => Reason::DpopMethodMismatch,
            ProofError::UrlMismatch { .. } => Reason::DpopUrlMismatch,
            ProofError::Stale { .. } => Reason::DpopStaleProof,
            ProofError::TokenHashMismatch => Reason::DpopTokenHashMismatch,
            ProofError::KeyMismatch => Reason::DpopKeyMismatch,
        }
    }
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::Malformed(what) => write!(f, "malformed proof: {what}"),
            ProofError::WrongType(typ) => {
                write!(
                    f,
                    "`typ` is `{}`, not `{PROOF_TYPE}`",
                    typ.as_deref().unwrap_or("-")
                )
            }
            ProofError::DisallowedAlgorithm(alg) => {
                write!(f, "`alg` `{alg}` is not an accepted proof algorithm")
            }
            ProofError::BadKey(why) => write!(f, "`jwk` {why}"),
            ProofError::BadSignature => write!(f, "the signature does not verify with `jwk`"),
            ProofError::MethodMismatch { htm } => {
                write!(f, "`htm` `{htm}` is not the request method")
            }
            ProofError::UrlMismatch { htu, request } => {
                write!(f, "`htu` `{htu}` is not the request URI `{request}`")
            }
            ProofError::Stale { iat } => write!(f, "`iat` {iat} is outside the accepted window"),
            ProofError::TokenHashMismatch => {
                write!(f, "`ath` is not the hash of the presented access token")
            }
            ProofError::KeyMismatch => {
                write!(f, "the proof key's thumbprint is not the token's `cnf.jkt`")
            }
        }
    }
}

/// What a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// `:method`.
    pub method: &'a str,
    /// The request URI, normalised (see [`super::htu::request_uri`]); `None` when the request's
    /// parts make no URI (every `htu` then mismatches).
    pub uri: Option<&'a str>,
    /// The access token presented with the proof.
    pub access_token: &'a str,
    /// The token's `cnf.jkt`.
    pub jkt: &'a str,
    /// Seconds since the Unix epoch.
    pub now: u64,
}

/// A proof that passed every check but the replay check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProof {
    /// The thumbprint of its key (equal to the token's `cnf.jkt`).
    pub jkt: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `iat`.
    pub iat: u64,
    /// Its algorithm.
    pub alg: Algorithm,
}

/// Checks `proof` in RFC 9449's order: form, `typ`, `alg`, `jwk`, signature, `htm`, `htu`,
/// `iat`, `ath`, then the key binding. The replay check (`jti`) is the caller's, last.
pub fn check(
    proof: &str,
    expected: &Expected<'_>,
    config: &DpopConfig,
    limits: &TokenLimits,
    verifier: &dyn SignatureVerifier,
) -> Result<CheckedProof, ProofError> {
    let malformed = |what: &str| ProofError::Malformed(what.to_string());
    let (parsed, header) =
        jws::parse_keeping_header(proof, limits).map_err(|e| malformed(&format!("{e:?}")))?;
    let claims = &parsed.claims;
    let text = |name: &str| claims.all.get(name).and_then(Value::as_str);
    let (Some(htm), Some(htu)) = (text("htm"), text("htu")) else {
        return Err(malformed("`htm` and `htu` must be strings"));
    };
    let Some(iat) = claims.iat else {
        return Err(malformed("`iat` is missing"));
    };
    let jti = match claims.jti.as_deref() {
        Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI_BYTES => jti,
        _ => return Err(malformed("`jti` must be a string of 1 to 256 bytes")),
    };
    let Some(ath) = text("ath") else {
        return Err(malformed(
            "`ath` is missing (a proof sent with an access token needs it)",
        ));
    };
    let typ = parsed.header.typ.as_deref();
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case(PROOF_TYPE)) {
        return Err(ProofError::WrongType(typ.map(str::to_string)));
    }
    let alg_name = parsed.header.alg.as_str();
    let alg = Algorithm::parse(alg_name)
        .ok()
        .filter(|alg| config.algorithms.contains(alg))
        .ok_or_else(|| ProofError::DisallowedAlgorithm(alg_name.to_string()))?;
    // `parse_jwk` refuses private members (`d`, `p`...) and symmetric keys, as in key sets.
    let jwk_value = header
        .get("jwk")
        .ok_or_else(|| ProofError::BadKey("is missing".to_string()))?;
    let key = jwk::parse_jwk(jwk_value).map_err(|e| ProofError::BadKey(e.to_string()))?;
    if !key.fits(alg) {
        return Err(ProofError::BadKey(format!("does not fit `alg` {alg}")));
    }
    verifier
        .verify(alg, &key.key, &parsed)
        .map_err(|_| ProofError::BadSignature)?;
    if htm != expected.method {
        return Err(ProofError::MethodMismatch {
            htm: htm.to_string(),
        });
    }
    let htu_normalised = super::htu::Uri::parse(htu).map(|u| u.normalised());
    if htu_normalised.is_none() || htu_normalised.as_deref() != expected.uri {
        return Err(ProofError::UrlMismatch {
            htu: htu_normalised.unwrap_or_else(|| htu.to_string()),
            request: expected.uri.unwrap_or("-").to_string(),
        });
    }
    if iat.abs_diff(expected.now) > config.iat_window_seconds {
        return Err(ProofError::Stale { iat });
    }
    if ath != access_token_hash(expected.access_token) {
        return Err(ProofError::TokenHashMismatch);
    }
    let jkt = jwk_value
        .as_object()
        .and_then(thumbprint)
        .ok_or_else(|| ProofError::BadKey("has no thumbprint".to_string()))?;
    if jkt != expected.jkt {
        return Err(ProofError::KeyMismatch);
    }
    Ok(CheckedProof {
        jkt,
        jti: jti.to_string(),
        iat,
        alg,
    })
}
