//! `dpop-proofs`: fresh DPoP proofs (RFC 9449) for the `dpop` workload of `make bench`.
//!
//! A proof can be used once only (the filter remembers every `jti` it accepted), so the
//! benchmark mints as many as a run can send, just before it. Each line of `--out` is
//! `INDEX<TAB>PROOF`: proof `i` is for token `INDEX = i % tokens` (0-based line of `--tokens`,
//! the bound tokens `mint-pool` wrote), with `jti` `PREFIX-i`, `htm`, `htu`, `iat` and `ath` (the
//! hash of that token), signed with the client key of `--key` (written by `mint-pool`).
//! Signing runs on every core; on stdout one JSON line tells how many proofs, how fast.
//! Built with the `bench-tools` profile (opt-level 3): RSA signing at the workspace's
//! `opt-level = "z"` is several times slower.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use workload_authz_bench::dpop::{access_token_hash, proof_claims, ProofKey};

const USAGE: &str = "usage: dpop-proofs --alg ES256|RS256|EdDSA --key KEY.pem --tokens FILE \
--htu URL [--htm GET] --count N [--iat UNIX_SECONDS] [--jti PREFIX] --out FILE";

/// Proofs signed per round (each round split over the cores, then written).
const ROUND: usize = 4096;

struct Options {
    alg: String,
    key: PathBuf,
    tokens: PathBuf,
    htu: String,
    htm: String,
    count: usize,
    iat: Option<u64>,
    jti: Option<String>,
    out: PathBuf,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        alg: String::new(),
        key: PathBuf::new(),
        tokens: PathBuf::new(),
        htu: String::new(),
        htm: "GET".into(),
        count: 0,
        iat: None,
        jti: None,
        out: PathBuf::new(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--alg" => o.alg = value.clone(),
            "--key" => o.key = PathBuf::from(value),
            "--tokens" => o.tokens = PathBuf::from(value),
            "--htu" => o.htu = value.clone(),
            "--htm" => o.htm = value.clone(),
            "--count" => o.count = number(value)? as usize,
            "--iat" => o.iat = Some(number(value)?),
            "--jti" => o.jti = Some(value.clone()),
            "--out" => o.out = PathBuf::from(value),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if o.alg.is_empty() || o.htu.is_empty() || o.out.as_os_str().is_empty() {
        return Err(format!(
            "--alg, --key, --tokens, --htu and --out are needed\n{USAGE}"
        ));
    }
    Ok(o)
}

fn run(o: &Options) -> Result<(), String> {
    let started = Instant::now();
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("clock: {e}"))?;
    let iat = o.iat.unwrap_or(since_epoch.as_secs());
    // Unique across runs: the proofs of every batch are remembered by the same Envoy.
    let prefix = o
        .jti
        .clone()
        .unwrap_or_else(|| format!("{:x}-{}", since_epoch.as_nanos(), std::process::id()));
    let read =
        |path: &PathBuf| fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
    let key = ProofKey::from_pem(&o.alg, &read(&o.key)?)?;
    let hashes: Vec<String> = read(&o.tokens)?
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(access_token_hash)
        .collect();
    if hashes.is_empty() {
        return Err(format!("{}: no tokens", o.tokens.display()));
    }
    let header = key.header_b64();
    let file = fs::File::create(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let mut out = BufWriter::new(file);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sign = |i: usize| {
        let token = i % hashes.len();
        let ath = hashes.get(token).map_or("", String::as_str);
        let claims = proof_claims(&format!("{prefix}-{i}"), &o.htm, &o.htu, iat, ath);
        format!("{token}\t{}\n", key.proof(&header, &claims))
    };
    for round in (0..o.count).step_by(ROUND) {
        let end = (round + ROUND).min(o.count);
        let chunk = (end - round).div_ceil(threads).max(1);
        let parts: Vec<Result<String, String>> = std::thread::scope(|workers| {
            let handles: Vec<_> = (round..end)
                .step_by(chunk)
                .map(|start| {
                    let stop = (start + chunk).min(end);
                    workers.spawn(move || (start..stop).map(sign).collect::<String>())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| "a signing thread died".to_string()))
                .collect()
        });
        for part in parts {
            let part = part?;
            out.write_all(part.as_bytes())
                .map_err(|e| format!("{}: {e}", o.out.display()))?;
        }
    }
    out.flush()
        .map_err(|e| format!("{}: {e}", o.out.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "alg": o.alg, "count": o.count, "iat": iat, "jti_prefix": prefix, "htu": o.htu,
            "seconds": seconds, "per_second": o.count as f64 / seconds.max(1e-9),
        })
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args).and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dpop-proofs: {e}");
            ExitCode::FAILURE
        }
    }
}
