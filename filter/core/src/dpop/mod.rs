//! DPoP (RFC 9449) as a resource server: proofs of possession of the key a token is bound to.
//!
//! | RFC 9449 step | function | reason |
//! | --- | --- | --- |
//! | `Authorization: DPoP`, one `DPoP` header (4.3 1) | `engine::dpop::possession` | `dpop_proof_missing`, `dpop_multiple_proofs` |
//! | a bound token (`cnf.jkt`) only with a proof (7.1, 7.2) | `engine::dpop::possession` | `dpop_bound_token_as_bearer`, `dpop_token_not_bound` |
//! | compact JWS, claims present (4.3 2-3) | [`proof::check`] | `dpop_malformed_proof` |
//! | `typ: dpop+jwt` (4.3 4) | [`proof::check`] | `dpop_wrong_type` |
//! | asymmetric `alg` of the allow-list (4.3 5) | [`proof::check`] | `dpop_disallowed_algorithm` |
//! | `jwk` public, usable (4.3 7) | [`proof::check`] | `dpop_bad_key` |
//! | signature with `jwk` (4.3 6) | [`proof::check`] | `dpop_bad_signature` |
//! | `htm`, `htu` (4.3 8-9) | [`proof::check`], [`htu`] | `dpop_method_mismatch`, `dpop_url_mismatch` |
//! | `iat` window (4.3 11) | [`proof::check`] | `dpop_stale_proof` |
//! | `ath` (4.3 12) | [`proof::check`], [`thumbprint::access_token_hash`] | `dpop_token_hash_mismatch` |
//! | `cnf.jkt` is the key's thumbprint (6.1, 7.1) | [`proof::check`], [`thumbprint::thumbprint`] | `dpop_key_mismatch` |
//! | `jti` used once, across workers (11.1) | [`replay::ReplayCache`] | `dpop_replayed`, `dpop_replay_cache_full` |

pub mod htu;
pub mod proof;
pub mod replay;
pub mod thumbprint;

pub use proof::{check, CheckedProof, Expected, ProofError, PROOF_TYPE};
pub use replay::{Replay, ReplayCache};
pub use thumbprint::{access_token_hash, thumbprint};
