//! `config::compile` on arbitrary bytes (as UTF-8): never panics; an accepted policy compiles
//! the same way twice, and a request against it can be judged without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workload_authz_core::{compile, decide, explain, GuestVerifier, RequestView, RuntimeState};
use workload_authz_fuzz::NOW;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match compile(text) {
        Err(errors) => {
            // Every refusal names at least one problem, and renders.
            assert!(!errors.0.is_empty(), "refused without an error");
            for e in &errors.0 {
                let _ = e.to_string();
            }
        }
        Ok(policy) => {
            let again = compile(text).ok();
            assert_eq!(again.as_ref().map(|p| &p.hash), Some(&policy.hash));
            let state = RuntimeState::new(&policy);
            let headers: [(&str, &str); 1] = [("authorization", "Bearer a.b.c")];
            for path in ["/", "/healthz", "/a/b", "/tenants/acme/orders/1"] {
                let req = RequestView {
                    method: "GET",
                    path,
                    authority: "localhost",
                    headers: &headers,
                };
                let d = decide(&policy, &state, &req, NOW, &GuestVerifier);
                let (e, _) = explain(&policy, &state, &req, NOW, &GuestVerifier);
                assert_eq!(d, e, "decide and explain disagree");
            }
        }
    }
});
