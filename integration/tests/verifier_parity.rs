//! Differential test of the two signature paths: Envoy's `verify_signature` (host, BoringSSL) and
//! the pure-Rust guest verifier must give the same verdict on every token of a corpus of good,
//! tampered and malformed tokens, for every algorithm the host handles.

use serde_json::json;
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{jwks, key, other_key, Alg};
use workload_authz_integration::{b64url, b64url_decode, now, Envoy, Request};

const ISS: &str = "https://issuer.example";

fn policy(verifier: &str) -> String {
    let keys = [
        key(Alg::RS256),
        key(Alg::PS256),
        key(Alg::ES256),
        key(Alg::ES384),
        key(Alg::EdDSA),
    ];
    json!({
        "signature_verifier": verifier,
        "providers": {"p": {"issuer": ISS, "audiences": ["svc"], "local_jwks": {"inline_string": jwks(&keys)}}},
        "routes": [{"action": "any", "match": {"path": "/**"}}]
    })
    .to_string()
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let (head, _) = token.rsplit_once('.').unwrap_or((token, ""));
    format!("{head}.{}", b64url(signature))
}

fn signature_of(token: &str) -> Vec<u8> {
    token
        .rsplit('.')
        .next()
        .and_then(b64url_decode)
        .unwrap_or_default()
}

/// n - s for P-256 (the other valid signature of the same message, "high S").
fn p256_high_s(signature: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let mut out = signature.to_vec();
    let s = &signature[32..64];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = N[i] as i16 - s[i] as i16 - borrow;
        borrow = if d < 0 {
            d += 256;
            1
        } else {
            0
        };
        out[32 + i] = d as u8;
    }
    out
}

/// DER `SEQUENCE { r, s }` of a raw ECDSA signature (what a JOSE verifier must refuse).
fn der(signature: &[u8], width: usize) -> Vec<u8> {
    let int = |v: &[u8]| {
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        let mut body = if v.first().is_some_and(|b| b & 0x80 != 0) {
            vec![0]
        } else {
            vec![]
        };
        body.extend(v);
        let mut out = vec![0x02, body.len() as u8];
        out.extend(body);
        out
    };
    let body = [int(&signature[..width]), int(&signature[width..])].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

fn corpus() -> Vec<(String, String)> {
    let t = now();
    let claims = json!({"iss": ISS, "aud": "svc", "sub": "s", "iat": t, "exp": t + 300});
    let mut out = Vec::new();
    for alg in [Alg::RS256, Alg::ES256, Alg::ES384, Alg::PS256, Alg::EdDSA] {
        let name = alg.name();
        let good = key(alg).sign(&claims);
        let sig = signature_of(&good);
        out.push((format!("{name} good"), good.clone()));
        let (head, _) = good.rsplit_once('.').unwrap();
        let (header, _) = head.split_once('.').unwrap();
        let tampered = format!(
            "{header}.{}.{}",
            b64url(
                json!({"iss": ISS, "aud": "svc", "sub": "admin", "iat": t, "exp": t + 300})
                    .to_string()
                    .as_bytes()
            ),
            b64url(&sig)
        );
        out.push((format!("{name} tampered payload"), tampered));
        let mut flipped = sig.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        out.push((
            format!("{name} flipped bit"),
            with_signature(&good, &flipped),
        ));
        let mut first = sig.clone();
        first[0] ^= 0x80;
        out.push((
            format!("{name} flipped first bit"),
            with_signature(&good, &first),
        ));
        out.push((
            format!("{name} truncated"),
            with_signature(&good, &sig[..sig.len() - 1]),
        ));
        out.push((
            format!("{name} extended"),
            with_signature(&good, &[sig.clone(), vec![0]].concat()),
        ));
        out.push((format!("{name} empty"), with_signature(&good, &[])));
        out.push((
            format!("{name} zeros"),
            with_signature(&good, &vec![0u8; sig.len()]),
        ));
        out.push((
            format!("{name} ones"),
            with_signature(&good, &vec![0xffu8; sig.len()]),
        ));
        let foreign = other_key(alg).sign(&claims);
        let (fhead, fsig) = foreign.rsplit_once('.').unwrap();
        let _ = fhead;
        out.push((
            format!("{name} other key's signature"),
            format!("{head}.{fsig}"),
        ));
        if matches!(alg, Alg::ES256 | Alg::ES384) {
            let width = if alg == Alg::ES256 { 32 } else { 48 };
            out.push((
                format!("{name} DER signature"),
                with_signature(&good, &der(&sig, width)),
            ));
            let mut r_zero = sig.clone();
            r_zero[..width].iter_mut().for_each(|b| *b = 0);
            out.push((format!("{name} r = 0"), with_signature(&good, &r_zero)));
        }
        if alg == Alg::ES256 {
            out.push((
                "ES256 high S".to_string(),
                with_signature(&good, &p256_high_s(&sig)),
            ));
        }
        if alg == Alg::RS256 {
            let mut leading = vec![0u8];
            leading.extend(&sig);
            out.push((
                "RS256 leading zero".to_string(),
                with_signature(&good, &leading),
            ));
        }
    }
    out
}

fn verdict(envoy: &Envoy, token: &str) -> (u16, String) {
    let resp = envoy
        .send(&Request::get("/x").bearer(token))
        .expect("request");
    (resp.status, resp.reason().unwrap_or_default())
}

#[test]
fn host_and_guest_verifiers_agree() {
    let host = start_envoy(&policy("auto"));
    let guest = start_envoy(&policy("guest"));
    let mut disagreements = Vec::new();
    let mut allowed = 0;
    let corpus = corpus();
    for (name, token) in &corpus {
        let (a, b) = (verdict(&host, token), verdict(&guest, token));
        if a.0 == 200 {
            allowed += 1;
        }
        if a != b {
            disagreements.push(format!("{name}: host {a:?}, guest {b:?}"));
        }
    }
    eprintln!("{} tokens, {allowed} allowed by both paths", corpus.len());
    // Which path each Envoy used (Envoy flushes its log file every few seconds).
    let logged = |envoy: &Envoy, text: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            if envoy.log_tail(2000).contains(text) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        false
    };
    assert!(
        logged(&host, "signatures verified by the host"),
        "the host path is in use"
    );
    assert!(logged(&guest, "signatures verified by the guest"));
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(allowed >= 5, "every algorithm's good token is allowed");
}
