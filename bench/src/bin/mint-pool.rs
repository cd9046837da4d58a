//! `mint-pool`: the keys and token pools of `make bench`.
//!
//! For each algorithm it writes, under `--out DIR/<ALG>/`:
//! - `jwks.json`: the public key (one JWK with `kid`), shared by every Envoy configuration;
//! - `reuse.txt`: `--reuse` valid tokens (one per line), reused by every connection;
//! - `fresh.txt`: `--fresh` distinct valid tokens (each has its own `jti`);
//! - `deny.txt`: `--deny` tokens whose signature was tampered with (one byte flipped), so every
//!   filter reaches signature verification and must answer 401;
//! - `mcp.txt`: `--mcp` valid tokens with `--mcp-scope` instead of `--scope` (the `mcp` workload's
//!   tool calls, reused like `reuse.txt`);
//! - `dpop-key.pem`: the DPoP client's key (PKCS#8, same algorithm), from which `dpop-proofs`
//!   makes the proofs;
//! - `dpop.txt`: `--dpop` valid tokens like `reuse.txt`, bound to that key (`cnf.jkt`, its
//!   RFC 7638 thumbprint), for the `dpop` workload (`Authorization: DPoP` with a fresh proof).
//!
//! and `DIR/manifest.json` (issuer, audience, scope, expiry, counts) that `bench/run.py` reads to
//! decide whether the pool can be reused. Signing runs on every core.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use workload_authz_bench::dpop::ProofKey;

const USAGE: &str = "usage: mint-pool --out DIR [--algs ES256,RS256,EdDSA] [--fresh 20000] \
[--reuse 16] [--deny 64] [--mcp 16] [--dpop 16] [--ttl 14400] [--iss URL] [--aud AUD] [--scope \"orders:read\"] \
[--mcp-scope \"crm:read\"] [--claims minimal|rich]";

struct Options {
    out: PathBuf,
    algs: Vec<String>,
    fresh: usize,
    reuse: usize,
    deny: usize,
    mcp: usize,
    dpop: usize,
    ttl: u64,
    iss: String,
    aud: String,
    scope: String,
    mcp_scope: String,
    /// `rich`: each token also carries the claims a typical identity provider adds (about
    /// 700 bytes more payload), to see how claim size moves the costs.
    rich_claims: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        out: PathBuf::from("target/bench/pool"),
        algs: vec!["ES256".into(), "RS256".into(), "EdDSA".into()],
        fresh: 20_000,
        reuse: 16,
        deny: 64,
        mcp: 16,
        dpop: 16,
        ttl: 4 * 3600,
        iss: "https://issuer.bench.example".into(),
        aud: "orders".into(),
        scope: "orders:read orders:write".into(),
        mcp_scope: "crm:read".into(),
        rich_claims: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--out" => o.out = PathBuf::from(value),
            "--algs" => o.algs = value.split(',').map(str::to_string).collect(),
            "--fresh" => o.fresh = number(value)?,
            "--reuse" => o.reuse = number(value)?,
            "--deny" => o.deny = number(value)?,
            "--mcp" => o.mcp = number(value)?,
            "--dpop" => o.dpop = number(value)?,
            "--ttl" => o.ttl = number(value)? as u64,
            "--iss" => o.iss = value.clone(),
            "--aud" => o.aud = value.clone(),
            "--scope" => o.scope = value.clone(),
            "--mcp-scope" => o.mcp_scope = value.clone(),
            "--claims" => {
                o.rich_claims = match value.as_str() {
                    "minimal" => false,
                    "rich" => true,
                    other => return Err(format!("--claims: minimal or rich, not {other}")),
                }
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// One signing key of the benchmark.
enum Signer {
    Es256(ES256KeyPair),
    Rs256(Box<RS256KeyPair>),
    EdDsa(Ed25519KeyPair),
}

impl Signer {
    fn generate(alg: &str) -> Result<Signer, String> {
        let kid = format!("bench-{}", alg.to_ascii_lowercase());
        Ok(match alg {
            "ES256" => Signer::Es256(ES256KeyPair::generate().with_key_id(&kid)),
            "RS256" => Signer::Rs256(Box::new(
                RS256KeyPair::generate(2048)
                    .map_err(|e| format!("RSA key generation: {e}"))?
                    .with_key_id(&kid),
            )),
            "EdDSA" => Signer::EdDsa(Ed25519KeyPair::generate().with_key_id(&kid)),
            other => {
                return Err(format!(
                    "unsupported algorithm {other} (ES256, RS256, EdDSA)"
                ))
            }
        })
    }

    fn public_jwk(&self) -> Result<Value, String> {
        let text = match self {
            Signer::Es256(k) => k.public_key().to_jwk(),
            Signer::Rs256(k) => k.public_key().to_jwk(),
            Signer::EdDsa(k) => k.public_key().to_jwk(),
        };
        let full: Value = serde_json::from_str(&text).map_err(|e| format!("bad JWK: {e}"))?;
        let mut out = Map::new();
        for field in ["kty", "crv", "n", "e", "x", "y", "kid"] {
            if let Some(v) = full.get(field) {
                out.insert(field.to_string(), v.clone());
            }
        }
        out.insert("use".into(), json!("sig"));
        Ok(Value::Object(out))
    }

    fn sign(&self, claims: &Value) -> Result<String, String> {
        let custom: Map<String, Value> = match claims {
            Value::Object(m) => m.clone(),
            _ => return Err("claims must be an object".into()),
        };
        let claims = JWTClaims {
            issued_at: None,
            expires_at: None,
            invalid_before: None,
            issuer: None,
            subject: None,
            audiences: None,
            jwt_id: None,
            nonce: None,
            custom,
        };
        match self {
            Signer::Es256(k) => k.sign(claims),
            Signer::Rs256(k) => k.sign(claims),
            Signer::EdDsa(k) => k.sign(claims),
        }
        .map_err(|e| format!("signing failed: {e}"))
    }
}

/// The same token with one byte of its signature flipped (still canonical base64url).
fn tamper(token: &str) -> Result<String, String> {
    let (head, sig) = token
        .rsplit_once('.')
        .ok_or_else(|| "token without a signature".to_string())?;
    let mut bytes = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|e| format!("bad signature encoding: {e}"))?;
    let middle = bytes.len() / 2;
    let byte = bytes
        .get_mut(middle)
        .ok_or_else(|| "empty signature".to_string())?;
    *byte ^= 0x5a;
    Ok(format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// What the tokens of one pool carry: `tag` keeps pools' `jti`s distinct, `jkt` binds them to
/// a DPoP key (`cnf.jkt`).
#[derive(Clone, Copy)]
struct Pool<'a> {
    tag: &'a str,
    scope: &'a str,
    jkt: Option<&'a str>,
}

impl<'a> Pool<'a> {
    fn new(tag: &'a str, scope: &'a str) -> Self {
        Pool {
            tag,
            scope,
            jkt: None,
        }
    }
}

/// Signs tokens `first..first + count` of a pool.
fn sign_range(
    signer: &Signer,
    o: &Options,
    now: u64,
    pool: Pool<'_>,
    range: std::ops::Range<usize>,
) -> Result<Vec<String>, String> {
    range
        .map(|i| {
            let mut claims = json!({
                "iss": o.iss,
                "aud": o.aud,
                "sub": format!("spiffe://bench.example/ns/load/sa/client-{}", i % 16),
                "iat": now,
                "exp": now + o.ttl,
                "jti": format!("{}-{i}", pool.tag),
                "scope": pool.scope,
            });
            if o.rich_claims {
                add_rich_claims(&mut claims, i, now);
            }
            if let (Some(jkt), Some(map)) = (pool.jkt, claims.as_object_mut()) {
                map.insert("cnf".into(), json!({ "jkt": jkt }));
            }
            signer.sign(&claims)
        })
        .collect()
}

/// The claims a typical identity provider adds to a workload's access token.
fn add_rich_claims(claims: &mut serde_json::Value, i: usize, now: u64) {
    let extra = json!({
        "nbf": now,
        "azp": format!("client-{}", i % 16),
        "client_id": format!("client-{}", i % 16),
        "tenant": "tenant-0042",
        "ver": "2.0",
        "auth_time": now,
        "acr": "urn:example:acr:workload",
        "amr": ["mtls", "pop"],
        "groups": (0..12).map(|g| format!("group-{g:02}-bench-platform")).collect::<Vec<_>>(),
        "roles": ["reader", "writer", "auditor", "operator"],
        "kubernetes.io": {
            "namespace": "load",
            "serviceaccount": { "name": format!("client-{}", i % 16), "uid": "7a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" },
            "pod": { "name": format!("client-{}-6d5f7c9b8-x2k4q", i % 16), "uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" }
        },
        "sid": format!("session-{i:08}-bench"),
    });
    if let (Some(target), serde_json::Value::Object(more)) = (claims.as_object_mut(), extra) {
        target.extend(more);
    }
}

/// Signs `count` tokens of `pool`, split over the machine's cores.
fn sign_pool(
    signer: &Signer,
    o: &Options,
    now: u64,
    pool: Pool<'_>,
    count: usize,
) -> Result<Vec<String>, String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = count.div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<String>, String>> = std::thread::scope(|workers| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let end = (start + chunk).min(count);
                workers.spawn(move || sign_range(signer, o, now, pool, start..end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a signing thread died".into()))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(count);
    for part in parts {
        all.extend(part?);
    }
    Ok(all)
}

fn write_lines(path: &Path, lines: &[String]) -> Result<(), String> {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(o: &Options) -> Result<(), String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("clock: {e}"))?
        .as_secs();
    for alg in &o.algs {
        let started = std::time::Instant::now();
        let dir = o.out.join(alg);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let signer = Signer::generate(alg)?;
        let jwks = json!({ "keys": [signer.public_jwk()?] });
        fs::write(dir.join("jwks.json"), jwks.to_string())
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        write_lines(
            &dir.join("reuse.txt"),
            &sign_pool(&signer, o, now, Pool::new("reuse", &o.scope), o.reuse)?,
        )?;
        write_lines(
            &dir.join("fresh.txt"),
            &sign_pool(&signer, o, now, Pool::new("fresh", &o.scope), o.fresh)?,
        )?;
        let deny = sign_pool(&signer, o, now, Pool::new("deny", &o.scope), o.deny)?
            .iter()
            .map(|t| tamper(t))
            .collect::<Result<Vec<_>, _>>()?;
        write_lines(&dir.join("deny.txt"), &deny)?;
        write_lines(
            &dir.join("mcp.txt"),
            &sign_pool(&signer, o, now, Pool::new("mcp", &o.mcp_scope), o.mcp)?,
        )?;
        let pem = ProofKey::generate_pem(alg)?;
        let jkt = ProofKey::from_pem(alg, &pem)?.jkt()?;
        fs::write(dir.join("dpop-key.pem"), pem).map_err(|e| format!("{}: {e}", dir.display()))?;
        let bound = Pool {
            jkt: Some(&jkt),
            ..Pool::new("dpop", &o.scope)
        };
        write_lines(
            &dir.join("dpop.txt"),
            &sign_pool(&signer, o, now, bound, o.dpop)?,
        )?;
        eprintln!(
            "mint-pool: {alg}: {} reuse, {} fresh, {} deny, {} mcp, {} dpop-bound tokens in {:.1}s",
            o.reuse,
            o.fresh,
            o.deny,
            o.mcp,
            o.dpop,
            started.elapsed().as_secs_f64()
        );
    }
    let manifest = json!({
        "issuer": o.iss,
        "audience": o.aud,
        "scope": o.scope,
        "iat": now,
        "exp": now + o.ttl,
        "algorithms": o.algs,
        "fresh": o.fresh,
        "reuse": o.reuse,
        "deny": o.deny,
        "mcp": o.mcp,
        "mcp_scope": o.mcp_scope,
        "dpop": o.dpop,
        "claims": if o.rich_claims { "rich" } else { "minimal" },
    });
    let path = o.out.join("manifest.json");
    fs::write(&path, format!("{manifest:#}\n")).map_err(|e| format!("{}: {e}", path.display()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args).and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mint-pool: {e}");
            ExitCode::FAILURE
        }
    }
}
