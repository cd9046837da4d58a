//! DPoP (RFC 9449) in a real Envoy with two workers: a real client made from joserfc
//! (`integration/dpop/client.py`) holds the key and signs the proofs; the filter checks each
//! proof, the token's binding, and that a proof is used once across worker VMs. The DPoP part of
//! the attack corpus is here too: proof reuse, a proof for another URL or method, `ath` of
//! another token, a private `jwk`, `alg: none`, an HMAC proof, an old `iat`, a bound token sent
//! as a bearer token.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use workload_authz_integration::tokens::{build_token, jwks, key, Alg};
use workload_authz_integration::{
    b64url, now, workspace_root, Envoy, EnvoyOptions, Request, Response,
};

const ISS: &str = "https://issuer.prod.example";
const EDGE_ISS: &str = "https://edge.example";
const SUB: &str = "spiffe://prod.example/ns/shop/sa/agent";
const EXTERNAL: &str = "https://api.example.com/shop";

fn policy() -> String {
    let keys = jwks(&[key(Alg::ES256)]);
    json!({
        "realm": "dpop",
        "providers": {
            "mesh": { "issuer": ISS, "audiences": ["orders"],
                      "local_jwks": { "inline_string": keys } },
            "edge": { "issuer": EDGE_ISS, "audiences": ["orders"],
                      "local_jwks": { "inline_string": keys },
                      "dpop": { "required": true, "external_origin": EXTERNAL,
                                "algorithms": ["ES256", "EdDSA"] } }
        },
        "routes": [
            { "action": "orders.read", "match": { "path": "/orders/{id}", "methods": ["GET", "POST"] },
              "require": { "providers": ["mesh", "edge"], "scopes": ["orders:read"] } },
            { "action": "payments.write", "match": { "path": "/payments", "methods": ["POST"] },
              "require": { "providers": ["mesh"], "dpop": true } }
        ]
    })
    .to_string()
}

fn python() -> PathBuf {
    workspace_root().join(".venv/bin/python")
}

/// Runs the joserfc client; its stdout.
fn client(args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(workspace_root().join("integration/dpop/client.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running the DPoP client: {e}"));
    assert!(
        out.status.success(),
        "client {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A client key: its file and its RFC 7638 thumbprint (as joserfc computes it).
struct ClientKey {
    file: String,
    jkt: String,
}

impl ClientKey {
    fn generate(dir: &Path, name: &str, alg: &str) -> ClientKey {
        let file = dir.join(format!("{name}.json")).display().to_string();
        let jkt = client(&["keygen", &file, "--alg", alg]);
        ClientKey { file, jkt }
    }

    fn proof(&self, method: &str, url: &str, token: &str, extra: &[&str]) -> String {
        let mut args = vec!["proof", self.file.as_str(), method, url, token];
        args.extend_from_slice(extra);
        client(&args)
    }
}

/// An access token of `iss` bound to `jkt` (none: a plain bearer token).
fn token(iss: &str, jkt: Option<&str>) -> String {
    let t = now();
    let mut claims = json!({"iss": iss, "aud": "orders", "sub": SUB, "iat": t, "exp": t + 600,
                            "scope": "orders:read"});
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    key(Alg::ES256).sign(&claims)
}

fn send(envoy: &Envoy, req: Request) -> Response {
    envoy.send(&req).expect("request failed")
}

fn dpop_get(envoy: &Envoy, path: &str, token: &str, proof: &str) -> Response {
    send(
        envoy,
        Request::get(path)
            .header("Authorization", &format!("DPoP {token}"))
            .header("DPoP", proof),
    )
}

fn start() -> (Envoy, tempdir::Dir) {
    let opts = EnvoyOptions {
        concurrency: 2,
        ..EnvoyOptions::default()
    };
    let envoy = Envoy::start_with(&policy(), &opts)
        .unwrap_or_else(|e| panic!("Envoy failed to start: {e}"));
    let dir = tempdir::Dir::new(envoy.dir());
    (envoy, dir)
}

/// A scratch directory inside the Envoy run's own.
mod tempdir {
    use std::path::{Path, PathBuf};
    pub struct Dir(pub PathBuf);
    impl Dir {
        pub fn new(parent: &Path) -> Dir {
            let dir = parent.join("dpop-client");
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            Dir(dir)
        }
    }
}

fn challenge(resp: &Response) -> String {
    resp.www_authenticate().unwrap_or_default().to_string()
}

#[test]
fn a_joserfc_client_is_served_and_its_key_recorded() {
    let (envoy, dir) = start();
    for alg in ["ES256", "EdDSA"] {
        let client_key = ClientKey::generate(&dir.0, alg, alg);
        let bound = token(ISS, Some(&client_key.jkt));
        let url = format!("http://{}/orders/1", envoy.listener);
        let answer: Value =
            serde_json::from_str(&client(&["request", &client_key.file, "GET", &url, &bound]))
                .unwrap_or_else(|e| panic!("client answer: {e}"));
        assert_eq!(answer["status"], 200, "{alg}: {answer}");
    }
    let records = envoy.wait_access_log(2);
    for record in &records {
        assert_eq!(record["authz"]["reason"], "allowed", "{record}");
        assert!(record["authz"]["dpop_jkt"].is_string(), "{record}");
    }
}

#[test]
fn each_proof_is_accepted_once_across_workers() {
    let (envoy, dir) = start();
    let client_key = ClientKey::generate(&dir.0, "replay", "ES256");
    let bound = token(ISS, Some(&client_key.jkt));
    let url = "http://localhost/orders/1";
    let proofs: Vec<String> = (0..12)
        .map(|_| client_key.proof("GET", url, &bound, &[]))
        .collect();
    let mut allowed = 0;
    let mut replayed = 0;
    // Each proof three times, each time on a new connection: Envoy spreads connections over
    // its two workers, so most second uses land on the other worker's VM.
    for round in 0..3 {
        for proof in &proofs {
            let resp = dpop_get(&envoy, "/orders/1", &bound, proof);
            match (resp.status, resp.reason().as_deref()) {
                (200, _) => allowed += 1,
                (401, Some("dpop_replayed")) => {
                    replayed += 1;
                    assert!(
                        challenge(&resp).starts_with("DPoP ")
                            && challenge(&resp).contains("error=\"invalid_dpop_proof\""),
                        "{}",
                        challenge(&resp)
                    );
                }
                other => panic!("round {round}: {other:?} {}", resp.body_str()),
            }
        }
    }
    assert_eq!((allowed, replayed), (12, 24));
}

#[test]
fn the_dpop_attack_corpus_is_refused_with_its_reason() {
    let (envoy, dir) = start();
    let client_key = ClientKey::generate(&dir.0, "attacks", "ES256");
    let other_key = ClientKey::generate(&dir.0, "other", "ES256");
    let bound = token(ISS, Some(&client_key.jkt));
    let other_bound = token(ISS, Some(&other_key.jkt));
    let plain = token(ISS, None);
    let url = "http://localhost/orders/1";
    let hand_made = |alg: &str, jwk: Value, signature: &[u8]| {
        let claims = json!({"jti": format!("hand-{alg}"), "htm": "GET", "htu": url,
                            "iat": now(), "ath": b64url(&sha256(bound.as_bytes()))});
        build_token(
            &json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}),
            &claims,
            signature,
        )
    };
    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "proof for another URL",
            bound.clone(),
            client_key.proof("GET", "http://localhost/orders/2", &bound, &[]),
            "dpop_url_mismatch",
        ),
        (
            "proof for another method",
            bound.clone(),
            client_key.proof("DELETE", url, &bound, &[]),
            "dpop_method_mismatch",
        ),
        (
            "ath of another token",
            bound.clone(),
            client_key.proof("GET", url, &plain, &[]),
            "dpop_token_hash_mismatch",
        ),
        (
            "private jwk",
            bound.clone(),
            client_key.proof("GET", url, &bound, &["--private-jwk"]),
            "dpop_bad_key",
        ),
        (
            "alg none",
            bound.clone(),
            hand_made("none", json!({"kty": "EC"}), b""),
            "dpop_disallowed_algorithm",
        ),
        (
            "HMAC proof",
            bound.clone(),
            hand_made("HS256", json!({"kty": "oct", "k": "c2VjcmV0"}), b"sig"),
            "dpop_disallowed_algorithm",
        ),
        (
            "old iat",
            bound.clone(),
            client_key.proof("GET", url, &bound, &["--iat", &(now() - 300).to_string()]),
            "dpop_stale_proof",
        ),
        (
            "another key's proof",
            other_bound.clone(),
            client_key.proof("GET", url, &other_bound, &[]),
            "dpop_key_mismatch",
        ),
        (
            "unbound token with a proof",
            plain.clone(),
            client_key.proof("GET", url, &plain, &[]),
            "dpop_token_not_bound",
        ),
    ];
    for (name, token, proof, reason) in cases {
        let resp = dpop_get(&envoy, "/orders/1", &token, &proof);
        assert_eq!(resp.status, 401, "{name}: {}", resp.body_str());
        assert_eq!(resp.reason().as_deref(), Some(reason), "{name}");
        let challenge = challenge(&resp);
        assert!(challenge.starts_with("DPoP "), "{name}: {challenge}");
        assert!(challenge.contains("algs=\""), "{name}: {challenge}");
    }
    // A bound token sent as a bearer token, with or without its proof.
    let proof = client_key.proof("GET", url, &bound, &[]);
    for req in [
        Request::get("/orders/1").bearer(&bound),
        Request::get("/orders/1")
            .bearer(&bound)
            .header("DPoP", &proof),
    ] {
        let resp = send(&envoy, req);
        assert_eq!(resp.status, 401);
        assert_eq!(resp.reason().as_deref(), Some("dpop_bound_token_as_bearer"));
        assert!(challenge(&resp).contains("error=\"invalid_token\""));
    }
    // Two proofs.
    let resp = send(
        &envoy,
        Request::get("/orders/1")
            .header("Authorization", &format!("DPoP {bound}"))
            .header("DPoP", &proof)
            .header("DPoP", &client_key.proof("GET", url, &bound, &[])),
    );
    assert_eq!(resp.reason().as_deref(), Some("dpop_multiple_proofs"));
    // A plain bearer token still works where DPoP is not required.
    assert_eq!(
        send(&envoy, Request::get("/orders/1").bearer(&plain)).status,
        200
    );
}

#[test]
fn required_routes_and_providers_and_the_external_origin() {
    let (envoy, dir) = start();
    let client_key = ClientKey::generate(&dir.0, "required", "ES256");
    let plain = token(ISS, None);
    let bound = token(ISS, Some(&client_key.jkt));
    // `require.dpop`: a bearer token gets the bare DPoP challenge.
    let resp = send(&envoy, Request::post("/payments").bearer(&plain));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.reason().as_deref(), Some("dpop_proof_missing"));
    assert_eq!(
        challenge(&resp),
        "DPoP realm=\"dpop\", algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA\""
    );
    let proof = client_key.proof("POST", "http://localhost/payments", &bound, &[]);
    let resp = send(
        &envoy,
        Request::post("/payments")
            .header("Authorization", &format!("DPoP {bound}"))
            .header("DPoP", &proof),
    );
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    // The `edge` provider requires DPoP and sits behind a TLS terminator that rewrites the path:
    // proofs name the URL its clients use.
    let edge_plain = token(EDGE_ISS, None);
    let edge_bound = token(EDGE_ISS, Some(&client_key.jkt));
    let resp = send(&envoy, Request::get("/orders/1").bearer(&edge_plain));
    assert_eq!(resp.reason().as_deref(), Some("dpop_proof_missing"));
    let external = format!("{EXTERNAL}/orders/1");
    let good = client_key.proof("GET", &external, &edge_bound, &[]);
    assert_eq!(
        dpop_get(&envoy, "/orders/1", &edge_bound, &good).status,
        200
    );
    let internal = client_key.proof("GET", "http://localhost/orders/1", &edge_bound, &[]);
    let resp = dpop_get(&envoy, "/orders/1", &edge_bound, &internal);
    assert_eq!(resp.reason().as_deref(), Some("dpop_url_mismatch"));
}

fn sha256(data: &[u8]) -> [u8; 32] {
    hmac_sha256::Hash::hash(data)
}
