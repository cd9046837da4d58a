//! `token::parse` on arbitrary text, then signature verification with every fixture key that
//! fits the token's `alg` and `kid`. Never panics; a parsed token is well-formed compact JWS; a
//! signature only verifies over a `header.payload` a fixture key really signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workload_authz_core::keys::Algorithm;
use workload_authz_core::token::{
    parse, parse_with, GuestVerifier, SignatureVerifier, TokenLimits,
};
use workload_authz_fuzz::{fixture_keys, is_genuine_signing_input};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Tight limits: an accepted token respects them.
    let tight = TokenLimits {
        max_token_bytes: 512,
        max_json_bytes: 256,
        max_json_depth: 3,
    };
    if parse_with(&text, &tight).is_ok() {
        assert!(text.len() <= tight.max_token_bytes, "over the tight limit");
    }
    let Ok(jws) = parse(&text) else {
        return;
    };
    // Structural invariants of an accepted token.
    assert!(
        text.len() <= TokenLimits::default().max_token_bytes,
        "over-long token parsed"
    );
    assert_eq!(text.split('.').count(), 3, "not three parts");
    assert!(!text.contains('='), "padding accepted");
    assert!(
        !text.contains(['+', '/', ' ', '\n', '\r', '\t']),
        "non-base64url character accepted"
    );
    assert!(text.starts_with(jws.signing_input));
    let Ok(alg) = Algorithm::parse(&jws.header.alg) else {
        return;
    };
    for key in fixture_keys().candidates(jws.header.kid.as_deref(), alg, false) {
        if GuestVerifier.verify(alg, &key.key, &jws).is_ok() {
            assert!(
                is_genuine_signing_input(jws.signing_input),
                "forged signature verified: {text}"
            );
        }
    }
});
