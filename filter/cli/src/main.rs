//! `workload-authz`: the native command over the same core as the filter.
//!
//! Subcommands today: `check` (compile a policy exactly as the filter does), `keygen` and `mint`
//! (development keys and tokens, used by `make run` and the examples).

mod args;
mod keys;

use args::Args;
use keys::SigningKey;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
usage:
  workload-authz check POLICY.json
      compile a policy exactly as the filter's on_configure does; print every error
  workload-authz keygen --alg ES256|ES384|RS256|PS256|EdDSA --kid KID --out DIR
      write DIR/KID.pem (private key) and add the public key to DIR/jwks.json
  workload-authz mint --key KEY.pem --iss ISS --aud AUD --sub SUB [--scope \"a b\"] [--ttl 300]
                      [--kid KID] [--alg ALG] [--claim name=value]... [--now UNIX_SECONDS]
      print a signed JWT (claim values are JSON when they parse as JSON, else strings)";

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = raw.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "check" => check(rest),
        "keygen" => keygen(rest),
        "mint" => mint(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("workload-authz: {message}");
            ExitCode::from(2)
        }
    }
}

fn check(raw: &[String]) -> Result<ExitCode, String> {
    let args = Args::parse(raw, &[]).map_err(|e| e.to_string())?;
    let [path] = args.positional.as_slice() else {
        return Err("check takes one POLICY file".into());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    match workload_authz_core::compile(&text) {
        Ok(policy) => {
            println!(
                "{path}: ok ({} provider(s), {} route(s), mode {})",
                policy.providers.len(),
                policy.routes.len(),
                policy.mode.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for error in &errors.0 {
                println!("{path}: error: {error}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn keygen(raw: &[String]) -> Result<ExitCode, String> {
    let args = Args::parse(raw, &["alg", "kid", "out"]).map_err(|e| e.to_string())?;
    let alg = args.get("alg").unwrap_or("ES256");
    let kid = args.require("kid").map_err(|e| e.to_string())?;
    let out = Path::new(args.require("out").map_err(|e| e.to_string())?);
    let key = SigningKey::generate(alg).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let pem_path = out.join(format!("{kid}.pem"));
    std::fs::write(&pem_path, key.to_pem().map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: {e}", pem_path.display()))?;
    let jwks_path = out.join("jwks.json");
    let mut jwks: Value = match std::fs::read_to_string(&jwks_path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", jwks_path.display()))?
        }
        Err(_) => json!({"keys": []}),
    };
    let Some(list) = jwks.get_mut("keys").and_then(Value::as_array_mut) else {
        return Err(format!("{}: has no `keys` array", jwks_path.display()));
    };
    list.retain(|k| k.get("kid").and_then(Value::as_str) != Some(kid));
    list.push(key.public_jwk(kid));
    let text = serde_json::to_string_pretty(&jwks).map_err(|e| e.to_string())?;
    std::fs::write(&jwks_path, text + "\n").map_err(|e| format!("{}: {e}", jwks_path.display()))?;
    println!("wrote {} and {}", pem_path.display(), jwks_path.display());
    Ok(ExitCode::SUCCESS)
}

fn mint(raw: &[String]) -> Result<ExitCode, String> {
    let known = [
        "key", "alg", "kid", "iss", "aud", "sub", "scope", "ttl", "claim", "now",
    ];
    let args = Args::parse(raw, &known).map_err(|e| e.to_string())?;
    let key_path = args.require("key").map_err(|e| e.to_string())?;
    let pem = std::fs::read_to_string(key_path).map_err(|e| format!("{key_path}: {e}"))?;
    let key = SigningKey::from_pem(&pem, args.get("alg")).map_err(|e| e.to_string())?;
    let now = match args.number("now").map_err(|e| e.to_string())? {
        Some(now) => now,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs(),
    };
    let ttl = args
        .number("ttl")
        .map_err(|e| e.to_string())?
        .unwrap_or(300);
    let mut claims = Map::new();
    for name in ["iss", "sub"] {
        let value = args.require(name).map_err(|e| e.to_string())?;
        claims.insert(name.to_string(), json!(value));
    }
    let audiences = args.all("aud");
    match audiences.as_slice() {
        [] => return Err("`--aud` is required".into()),
        [one] => claims.insert("aud".into(), json!(one)),
        many => claims.insert("aud".into(), json!(many)),
    };
    if let Some(scope) = args.get("scope") {
        claims.insert("scope".into(), json!(scope));
    }
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now.saturating_add(ttl)));
    claims.insert("jti".into(), json!(format!("{:x}", jti_seed(now))));
    for pair in args.all("claim") {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("`--claim {pair}`: expected name=value"));
        };
        let value = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
        claims.insert(name.to_string(), value);
    }
    let token = key
        .sign(args.get("kid"), &claims)
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// A unique-enough token id for development tokens (time and process based, not secret).
fn jti_seed(now: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    now.rotate_left(20) ^ nanos ^ u64::from(std::process::id()).rotate_left(40)
}
