//! DPoP proofs (RFC 9449) for development: `mint --dpop-key` binds a token to a key (`cnf.jkt`)
//! and can print a proof beside it; `proof` makes a fresh proof for an existing token.

use crate::keys::SigningKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::Args;
use serde_json::{json, Value};
use std::process::ExitCode;
use workload_authz_core::dpop::{access_token_hash, thumbprint};

/// Arguments of `proof`.
#[derive(Args, Debug)]
pub struct ProofArgs {
    /// The client's DPoP key (PKCS#8 PEM, as written by keygen): ES256, ES384 or EdDSA.
    #[arg(long, value_name = "KEY.pem")]
    pub dpop_key: String,
    /// The access token the proof is sent with (its hash becomes `ath`).
    #[arg(long)]
    pub token: String,
    /// `htu`: the URL of the request, as the client addresses it (no query).
    #[arg(long, value_name = "URL")]
    pub htu: String,
    /// `htm`: the method of the request.
    #[arg(long, default_value = "GET")]
    pub htm: String,
    /// `iat` (default: now), seconds since the Unix epoch.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub now: Option<u64>,
    /// `jti` (default: a fresh one).
    #[arg(long)]
    pub jti: Option<String>,
}

/// The public JWK of `key`, required members only (what a proof's header carries).
pub fn public_jwk(key: &SigningKey) -> Value {
    let mut jwk = key.public_jwk("");
    if let Some(members) = jwk.as_object_mut() {
        for extra in ["kid", "alg", "use"] {
            members.remove(extra);
        }
    }
    jwk
}

/// The RFC 7638 thumbprint of `key`'s public JWK: the `cnf.jkt` of tokens bound to it.
pub fn jkt(key: &SigningKey) -> Result<String, String> {
    public_jwk(key)
        .as_object()
        .and_then(thumbprint)
        .ok_or_else(|| "the key has no JWK thumbprint".to_string())
}

/// Loads a DPoP key from a PEM file.
pub fn load_key(path: &str) -> Result<SigningKey, String> {
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let key = SigningKey::from_pem(&pem, None).map_err(|e| format!("{path}: {e}"))?;
    match key {
        SigningKey::Rs256(_) | SigningKey::Ps256(_) => Err(format!(
            "{path}: DPoP proofs here are made with EC (ES256, ES384) or Ed25519 keys; \
             `workload-authz keygen --alg ES256` makes one"
        )),
        key => Ok(key),
    }
}

/// A DPoP proof by `key` for `htm htu`, sent with `token`, made at `iat`.
pub fn proof(
    key: &SigningKey,
    htm: &str,
    htu: &str,
    token: &str,
    iat: u64,
    jti: &str,
) -> Result<String, String> {
    let header = json!({"typ": "dpop+jwt", "alg": key.alg(), "jwk": public_jwk(key)});
    let claims = json!({"jti": jti, "htm": htm, "htu": htu, "iat": iat,
                        "ath": access_token_hash(token)});
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let signature = sign(key, input.as_bytes())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

fn sign(key: &SigningKey, message: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |e: String| format!("signing the proof: {e}");
    match key {
        SigningKey::Es256(pair) => {
            use p256::ecdsa::signature::Signer as _;
            let sk = p256::ecdsa::SigningKey::from_slice(&pair.to_bytes())
                .map_err(|e| bad(e.to_string()))?;
            let signature: p256::ecdsa::Signature = sk.sign(message);
            Ok(signature.to_bytes().to_vec())
        }
        SigningKey::Es384(pair) => {
            use p384::ecdsa::signature::Signer as _;
            let sk = p384::ecdsa::SigningKey::from_slice(&pair.to_bytes())
                .map_err(|e| bad(e.to_string()))?;
            let signature: p384::ecdsa::Signature = sk.sign(message);
            Ok(signature.to_bytes().to_vec())
        }
        SigningKey::EdDsa(pair) => {
            use ed25519_dalek::Signer as _;
            let bytes = pair.to_bytes();
            let seed: [u8; 32] = bytes
                .get(..32)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| bad("not an Ed25519 key".to_string()))?;
            Ok(ed25519_dalek::SigningKey::from_bytes(&seed)
                .sign(message)
                .to_bytes()
                .to_vec())
        }
        SigningKey::Rs256(_) | SigningKey::Ps256(_) => {
            Err(bad("RSA keys do not make proofs here".to_string()))
        }
    }
}

/// A fresh `jti` (time and process based, unique enough for development; not secret).
pub fn fresh_jti(now: u64) -> String {
    format!("{:x}", crate::mint::jti_seed(now))
}

/// Runs `proof`.
pub fn run(args: &ProofArgs) -> Result<ExitCode, String> {
    let key = load_key(&args.dpop_key)?;
    let now = match args.now {
        Some(now) => now,
        None => crate::mint::unix_now()?,
    };
    let jti = args.jti.clone().unwrap_or_else(|| fresh_jti(now));
    println!(
        "{}",
        proof(&key, &args.htm, &args.htu, args.token.trim(), now, &jti)?
    );
    Ok(ExitCode::SUCCESS)
}
