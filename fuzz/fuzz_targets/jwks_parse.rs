//! `keys::parse_jwks` / `parse_jwks_limited` and `state::parse_fetched_jwks` on arbitrary
//! text: never panic, respect the limits, agree with each other, and every usable key can be
//! looked up for every algorithm.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workload_authz_core::keys::{parse_jwks, parse_jwks_limited, Algorithm, JwksLimits};
use workload_authz_core::state::parse_fetched_jwks;

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest);
    let limits = if selector & 1 == 0 {
        JwksLimits::default()
    } else {
        // Small limits chosen by the input, to reach the limit paths with small documents.
        JwksLimits {
            max_bytes: usize::from(selector >> 1) * 16,
            max_keys: usize::from(selector >> 4),
        }
    };
    let parsed = parse_jwks_limited(&text, &limits);
    if let Ok(p) = &parsed {
        assert!(text.len() <= limits.max_bytes, "JWKS over max_bytes parsed");
        assert!(
            p.keys.len() + p.rejected.len() <= limits.max_keys,
            "over max_keys"
        );
    }
    let fetched = parse_fetched_jwks(&text, &limits);
    match (&parsed, &fetched) {
        (Err(_), Ok(_)) => panic!("fetched JWKS accepted where the document is refused"),
        (Ok(p), Ok(set)) => {
            assert_eq!(p.keys.len(), set.len(), "fetched set lost keys");
            for alg in Algorithm::DEFAULT {
                let kids: Vec<Option<&str>> = p.keys.iter().map(|k| k.kid.as_deref()).collect();
                for kid in kids.into_iter().chain([None, Some("")]) {
                    for spiffe in [false, true] {
                        for key in set.candidates(kid, alg, spiffe) {
                            assert!(key.fits(alg));
                        }
                    }
                }
            }
        }
        (Ok(p), Err(_)) => assert!(p.keys.is_empty(), "usable keys but refused"),
        (Err(_), Err(_)) => {}
    }
    let _ = parse_jwks(&text);
});
