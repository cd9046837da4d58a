//! EdDSA (Ed25519) verification, natively: the filter's guest verifier (`GuestVerifier`:
//! ed25519-dalek, strict, the key decoded per call as in the filter) beside the primitives of
//! the two maintained pure-Rust implementations, ed25519-compact (jwt-simple's) and
//! ed25519-dalek (curve25519-dalek). Envoy has no host path for EdDSA, so the guest's verifier
//! is what an EdDSA token costs; under V8 (`make bench-instructions`, `BENCH_ALGS=EdDSA`) the
//! figures that count are in docs/benchmark.md. `cargo bench -p workload-authz-bench --bench
//! eddsa` (the bench profile is the release one: `opt-level = "z"`, curve25519-dalek at 3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ed25519_dalek::Verifier as _;
use workload_authz_core::keys::{Algorithm, PublicKey};
use workload_authz_core::token::{jws, SignatureVerifier};
use workload_authz_core::GuestVerifier;

fn bench(c: &mut Criterion) {
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([7u8; 32]));
    let header = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9";
    let payload = "eyJzdWIiOiJzcGlmZmU6Ly9wcm9kLmV4YW1wbGUvbnMvc2hvcC9zYS9jaGVja291dCIsImV4cCI6MTgwMDAwMDAwMH0";
    let signing_input = format!("{header}.{payload}");
    let signature = pair.sk.sign(signing_input.as_bytes(), None);
    let token = format!("{signing_input}.{}", base64_url(signature.as_ref()));
    let parsed = jws::parse(&token).unwrap();
    let key = PublicKey::Ed25519(pair.pk.to_vec());
    assert_eq!(
        GuestVerifier.verify(Algorithm::EdDsa, &key, &parsed),
        Ok(())
    );

    let dalek_key =
        ed25519_dalek::VerifyingKey::from_bytes(&pair.pk.as_ref().try_into().unwrap()).unwrap();
    let dalek_signature = ed25519_dalek::Signature::from_slice(signature.as_ref()).unwrap();
    assert!(dalek_key
        .verify(signing_input.as_bytes(), &dalek_signature)
        .is_ok());
    assert!(dalek_key
        .verify_strict(signing_input.as_bytes(), &dalek_signature)
        .is_ok());

    let mut g = c.benchmark_group("eddsa_verify");
    g.bench_function("filter_guest_verifier", |b| {
        b.iter(|| GuestVerifier.verify(Algorithm::EdDsa, &key, black_box(&parsed)))
    });
    g.bench_function("ed25519_compact", |b| {
        b.iter(|| {
            pair.pk
                .verify(black_box(signing_input.as_bytes()), &signature)
        })
    });
    g.bench_function("ed25519_dalek_verify", |b| {
        b.iter(|| dalek_key.verify(black_box(signing_input.as_bytes()), &dalek_signature))
    });
    g.bench_function("ed25519_dalek_verify_strict", |b| {
        b.iter(|| dalek_key.verify_strict(black_box(signing_input.as_bytes()), &dalek_signature))
    });
    g.finish();
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

criterion_group! {
    name = eddsa;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(eddsa);
