//! The `limits` block: bounds on what the filter reads from a request or a key set.

use super::reader::{Errors, Obj};
use crate::keys::JwksLimits;
use crate::token::verify::MAX_TOKEN_LIMIT;
use crate::token::TokenLimits;

/// Every configurable limit, with safe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Token size and claims shape.
    pub token: TokenLimits,
    /// Most request headers read; more is answered 431 on protected routes.
    pub max_headers: usize,
    /// JWKS size and key count (local and fetched).
    pub jwks: JwksLimits,
    /// Most nested `act` claims read.
    pub max_actor_hops: usize,
    /// Most `authorization_details` entries read.
    pub max_authorization_details: usize,
    /// Verified tokens kept per worker (0 disables the cache).
    pub token_cache_entries: usize,
    /// Decisions memoised per worker for the current second (0 disables the memo).
    pub decision_memo_entries: usize,
    /// DPoP proofs remembered against replay, across all workers (live entries; when full,
    /// new proofs are refused until entries expire).
    pub dpop_replay_entries: usize,
}

/// The default `limits.dpop_replay_entries`.
pub const DEFAULT_DPOP_REPLAY_ENTRIES: usize = 65536;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            token: TokenLimits::default(),
            max_headers: 128,
            jwks: JwksLimits::default(),
            max_actor_hops: 8,
            max_authorization_details: 16,
            token_cache_entries: crate::token::cache::DEFAULT_ENTRIES,
            decision_memo_entries: crate::memo::DEFAULT_ENTRIES,
            dpop_replay_entries: DEFAULT_DPOP_REPLAY_ENTRIES,
        }
    }
}

/// The fields of `limits`.
pub const FIELDS: &[&str] = &[
    "max_token_bytes",
    "max_headers",
    "max_claims_bytes",
    "max_claims_depth",
    "max_jwks_bytes",
    "max_jwks_keys",
    "max_actor_hops",
    "max_authorization_details",
    "token_cache_entries",
    "decision_memo_entries",
    "dpop_replay_entries",
];

fn size(
    obj: &Obj<'_>,
    key: &str,
    min: u64,
    max: u64,
    default: usize,
    errors: &mut Errors,
) -> usize {
    obj.opt_u64(key, min, max, errors)
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or(default)
}

/// Reads the optional `limits` object.
pub fn compile(obj: Option<&serde_json::Value>, errors: &mut Errors) -> Limits {
    let defaults = Limits::default();
    let Some(value) = obj else {
        return defaults;
    };
    let Some(fields) = Obj::new(value, "limits", FIELDS, errors) else {
        return defaults;
    };
    let max_token = u64::try_from(MAX_TOKEN_LIMIT).unwrap_or(u64::MAX);
    Limits {
        token: TokenLimits {
            max_token_bytes: size(
                &fields,
                "max_token_bytes",
                512,
                max_token,
                defaults.token.max_token_bytes,
                errors,
            ),
            max_json_bytes: size(
                &fields,
                "max_claims_bytes",
                256,
                max_token,
                defaults.token.max_json_bytes,
                errors,
            ),
            max_json_depth: size(
                &fields,
                "max_claims_depth",
                2,
                64,
                defaults.token.max_json_depth,
                errors,
            ),
        },
        max_headers: size(
            &fields,
            "max_headers",
            8,
            1024,
            defaults.max_headers,
            errors,
        ),
        jwks: JwksLimits {
            max_bytes: size(
                &fields,
                "max_jwks_bytes",
                1024,
                4 * 1024 * 1024,
                defaults.jwks.max_bytes,
                errors,
            ),
            max_keys: size(
                &fields,
                "max_jwks_keys",
                1,
                1000,
                defaults.jwks.max_keys,
                errors,
            ),
        },
        token_cache_entries: size(
            &fields,
            "token_cache_entries",
            0,
            65_536,
            defaults.token_cache_entries,
            errors,
        ),
        decision_memo_entries: size(
            &fields,
            "decision_memo_entries",
            0,
            65_536,
            defaults.decision_memo_entries,
            errors,
        ),
        dpop_replay_entries: size(
            &fields,
            "dpop_replay_entries",
            16,
            1_000_000,
            defaults.dpop_replay_entries,
            errors,
        ),
        max_actor_hops: size(
            &fields,
            "max_actor_hops",
            1,
            32,
            defaults.max_actor_hops,
            errors,
        ),
        max_authorization_details: size(
            &fields,
            "max_authorization_details",
            1,
            256,
            defaults.max_authorization_details,
            errors,
        ),
    }
}
