//! Tokens: extraction from the request, JOSE parsing, signature verification and time rules.

pub mod cache;
pub mod extract;
pub mod host_args;
pub mod jws;
pub mod strict_json;
pub mod time;
pub mod verify;

pub use extract::{extract, Extracted, HeaderSource, TokenSource};
pub use jws::{parse, parse_with, Claims, Header, Jws, ParseError, TokenLimits, MAX_TOKEN_BYTES};
pub use time::TimeRules;
pub use verify::{GuestVerifier, SignatureVerifier, VerifyError};
