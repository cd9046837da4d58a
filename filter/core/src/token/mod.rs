//! Tokens: extraction from the request, JOSE parsing, signature verification and time rules.

pub mod extract;
pub mod jws;
pub mod time;
pub mod verify;

pub use extract::{extract, Extracted, HeaderSource};
pub use jws::{parse, Claims, Header, Jws, ParseError, MAX_TOKEN_BYTES};
pub use time::TimeRules;
pub use verify::{GuestVerifier, SignatureVerifier, VerifyError};
