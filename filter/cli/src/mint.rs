//! `keygen` and `mint`: development keys and tokens (used by `make run` and the examples).

use crate::keys::SigningKey;
use clap::Args;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// Arguments of `keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// ES256, ES384, RS256, PS256 or EdDSA.
    #[arg(long, default_value = "ES256")]
    pub alg: String,
    /// The key id (also the file name: DIR/KID.pem).
    #[arg(long)]
    pub kid: String,
    /// Directory for KID.pem and jwks.json (created if needed; a key of the same kid in
    /// jwks.json is replaced).
    #[arg(long, value_name = "DIR")]
    pub out: String,
}

/// Arguments of `mint`.
#[derive(Args, Debug)]
pub struct MintArgs {
    /// The private key (PKCS#8 PEM, as written by keygen).
    #[arg(long, value_name = "KEY.pem")]
    pub key: String,
    /// The algorithm (default: guessed from the key; an RSA key signs RS256 unless PS256 is given).
    #[arg(long)]
    pub alg: Option<String>,
    /// `kid` of the header.
    #[arg(long)]
    pub kid: Option<String>,
    /// `iss`.
    #[arg(long)]
    pub iss: String,
    /// `aud` (repeat for a list).
    #[arg(long, required = true)]
    pub aud: Vec<String>,
    /// `sub`.
    #[arg(long)]
    pub sub: Option<String>,
    /// `scope`, a space-separated string.
    #[arg(long)]
    pub scope: Option<String>,
    /// Lifetime: `exp = iat + TTL`.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub ttl: u64,
    /// A claim NAME=VALUE (repeatable). VALUE is JSON when it parses as JSON (`n=5`,
    /// `roles=["a","b"]`, `org={"unit":"ops"}`), else a string. Overrides the flags above.
    #[arg(long, value_name = "NAME=VALUE")]
    pub claim: Vec<String>,
    /// The time the token is made at (`iat`), seconds since the Unix epoch (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub now: Option<u64>,
    /// `nbf`: seconds since the Unix epoch, or `+N`/`-N` relative to --now.
    #[arg(long, allow_hyphen_values = true, value_name = "TIME")]
    pub nbf: Option<String>,
    /// `iat` when it differs from --now: seconds since the Unix epoch, or `+N`/`-N`.
    #[arg(long, allow_hyphen_values = true, value_name = "TIME")]
    pub iat: Option<String>,
    /// `jti` (default: a fresh random-enough id).
    #[arg(long, conflicts_with = "no_jti")]
    pub jti: Option<String>,
    /// Leave out `jti`.
    #[arg(long)]
    pub no_jti: bool,
    /// Leave out `iat`.
    #[arg(long)]
    pub no_iat: bool,
    /// Leave out `exp`.
    #[arg(long)]
    pub no_exp: bool,
    /// A JOSE header field: `typ=VALUE` or `cty=VALUE` (repeatable).
    #[arg(long, value_name = "typ=VALUE|cty=VALUE")]
    pub header: Vec<String>,
    /// Binds the token to this DPoP key (PKCS#8 PEM: ES256, ES384 or EdDSA): `cnf.jkt` is
    /// its RFC 7638 thumbprint, and the token is then accepted only with a proof by that key.
    #[arg(long, value_name = "KEY.pem")]
    pub dpop_key: Option<String>,
    /// With --dpop-key: also print, on a second line, a DPoP proof for a request to URL.
    #[arg(long, value_name = "URL", requires = "dpop_key")]
    pub htu: Option<String>,
    /// The method of that request (`htm`).
    #[arg(long, default_value = "GET", requires = "htu")]
    pub htm: String,
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> Result<u64, String> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|e| e.to_string())
}

/// Runs `keygen`.
pub fn keygen(args: &KeygenArgs) -> Result<ExitCode, String> {
    let kid = args.kid.as_str();
    let out = Path::new(&args.out);
    let key = SigningKey::generate(&args.alg).map_err(|e| e.to_string())?;
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

fn time_arg(flag: &str, text: &str, now: u64) -> Result<u64, String> {
    let bad = || format!("`--{flag} {text}`: expected seconds since the epoch, or +N / -N");
    if let Some(delta) = text.strip_prefix('+') {
        return delta
            .parse::<u64>()
            .map(|d| now.saturating_add(d))
            .map_err(|_| bad());
    }
    if let Some(delta) = text.strip_prefix('-') {
        return delta
            .parse::<u64>()
            .map(|d| now.saturating_sub(d))
            .map_err(|_| bad());
    }
    text.parse().map_err(|_| bad())
}

/// Runs `mint`.
pub fn mint(args: &MintArgs) -> Result<ExitCode, String> {
    let pem = std::fs::read_to_string(&args.key).map_err(|e| format!("{}: {e}", args.key))?;
    let key = SigningKey::from_pem(&pem, args.alg.as_deref()).map_err(|e| e.to_string())?;
    let now = match args.now {
        Some(now) => now,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs(),
    };
    let iat = match &args.iat {
        Some(text) => time_arg("iat", text, now)?,
        None => now,
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(args.iss));
    if let Some(sub) = &args.sub {
        claims.insert("sub".into(), json!(sub));
    }
    match args.aud.as_slice() {
        [one] => claims.insert("aud".into(), json!(one)),
        many => claims.insert("aud".into(), json!(many)),
    };
    if let Some(scope) = &args.scope {
        claims.insert("scope".into(), json!(scope));
    }
    if !args.no_iat {
        claims.insert("iat".into(), json!(iat));
    }
    if !args.no_exp {
        claims.insert("exp".into(), json!(iat.saturating_add(args.ttl)));
    }
    if let Some(nbf) = &args.nbf {
        claims.insert("nbf".into(), json!(time_arg("nbf", nbf, now)?));
    }
    if !args.no_jti {
        let jti = args
            .jti
            .clone()
            .unwrap_or_else(|| format!("{:x}", jti_seed(now)));
        claims.insert("jti".into(), json!(jti));
    }
    let dpop_key = match &args.dpop_key {
        Some(path) => {
            let dpop_key = crate::dpop::load_key(path)?;
            claims.insert("cnf".into(), json!({"jkt": crate::dpop::jkt(&dpop_key)?}));
            Some(dpop_key)
        }
        None => None,
    };
    for pair in &args.claim {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("`--claim {pair}`: expected NAME=VALUE"));
        };
        let value = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
        claims.insert(name.to_string(), value);
    }
    let mut typ = None;
    let mut cty = None;
    for pair in &args.header {
        match pair.split_once('=') {
            Some(("typ", value)) => typ = Some(value.to_string()),
            Some(("cty", value)) => cty = Some(value.to_string()),
            _ => {
                return Err(format!(
                    "`--header {pair}`: only typ=VALUE and cty=VALUE can be set (alg and kid come from --alg and --kid)"
                ))
            }
        }
    }
    let token = key
        .sign(args.kid.as_deref(), &claims, typ, cty)
        .map_err(|e| e.to_string())?;
    println!("{token}");
    if let (Some(dpop_key), Some(htu)) = (&dpop_key, &args.htu) {
        let jti = crate::dpop::fresh_jti(now);
        println!(
            "{}",
            crate::dpop::proof(dpop_key, &args.htm, htu, &token, now, &jti)?
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A unique-enough token id for development tokens (time and process based, not secret).
pub(crate) fn jti_seed(now: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    now.rotate_left(20) ^ nanos ^ u64::from(std::process::id()).rotate_left(40)
}
