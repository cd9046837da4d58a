//! `review-log N FILE`: writes N access-log lines (the default record of
//! envoy/access-log-format.json) of generated mixed traffic, for the `review` scale benchmark:
//! 400 workloads (some agents acting for users), 60 routes (some in shadow mode), unused
//! scopes, long-lived tokens, denials of many reasons, over a day. Deterministic (a fixed seed).

use serde_json::json;
use std::io::{BufWriter, Write};

/// xorshift64*: fast, deterministic, good enough for traffic shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORKLOADS: u64 = 400;
const ROUTES: u64 = 60;
const START: i64 = 1_796_169_600; // 2026-12-02T00:00:00Z
const DAY: u64 = 86_400;
const REASONS: [&str; 8] = [
    "insufficient_scope",
    "expired",
    "bad_audience",
    "subject_not_allowed",
    "bad_signature",
    "revoked",
    "delegation_too_deep",
    "no_route",
];

fn rfc3339(seconds: i64, millis: u64) -> String {
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400);
    // 2026-12-02 is day 20789 since the epoch; the generated window stays within December.
    let day_of_month = 2 + (days - 20_789);
    format!(
        "2026-12-{day_of_month:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(count), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: review-log N FILE");
        std::process::exit(2);
    };
    let Ok(count) = count.parse::<u64>() else {
        eprintln!("review-log: N must be a number");
        std::process::exit(2);
    };
    let file = match std::fs::File::create(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("review-log: {path}: {e}");
            std::process::exit(2);
        }
    };
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..count {
        let t = START + i64::try_from(i * DAY / count.max(1)).unwrap_or(0);
        // Skewed: a few workloads make most calls.
        let spread = rng.below(WORKLOADS) + 1;
        let w = rng.below(spread);
        let route = (w * 7 + rng.below(3)) % ROUTES;
        let shadow = route % 10 == 9;
        let delegated = w.is_multiple_of(25);
        let subject = if delegated {
            format!("user:u{w}")
        } else {
            format!("spiffe://prod.example/ns/ns{}/sa/svc{w}", w % 20)
        };
        let actors: Vec<String> = if delegated {
            vec![format!("spiffe://prod.example/ns/agents/sa/agent{}", w % 4)]
        } else {
            vec![]
        };
        let action = format!(
            "api{route}.{}",
            if route.is_multiple_of(3) {
                "write"
            } else {
                "read"
            }
        );
        let needed = format!(
            "api{route}:{}",
            if route.is_multiple_of(3) {
                "write"
            } else {
                "read"
            }
        );
        let mut granted = vec![needed.clone()];
        if w.is_multiple_of(3) {
            granted.push(format!("api{route}:admin"));
        }
        let denied = rng.below(100) < 4;
        let (decision, reason) = match (denied, shadow) {
            (false, false) => ("allow", "allowed"),
            (false, true) => ("shadow_allow", "allowed"),
            (true, s) => (
                if s { "shadow_deny" } else { "deny" },
                REASONS
                    .get(usize::try_from(rng.below(REASONS.len() as u64)).unwrap_or(0))
                    .copied()
                    .unwrap_or("expired"),
            ),
        };
        let verified = !matches!(reason, "bad_signature" | "expired" | "bad_audience");
        let ttl = if w % 50 == 7 {
            7000
        } else {
            60 + rng.below(240)
        };
        let unused: Vec<&String> = granted.iter().filter(|g| **g != needed).collect();
        let line = json!({
            "start_time": rfc3339(t, rng.below(1000)),
            "method": if route.is_multiple_of(3) { "POST" } else { "GET" },
            "path": format!("/api/{route}/items/{}", rng.below(10_000)),
            "authority": "api.prod.example",
            "status": if decision == "deny" { 403 } else { 200 },
            "authz": {
                "action": action,
                "actor_chain": actors,
                "decision": decision,
                "issuer": verified.then_some("https://issuer.prod.example"),
                "jti": format!("sha256:{:016x}", rng.next()),
                "mode": if shadow { "shadow" } else { "enforce" },
                "policy": "b090747761a1f530",
                "provider": "mesh",
                "reason": reason,
                "scopes_granted": if verified { granted.clone() } else { vec![] },
                "scopes_required": [needed],
                "scopes_unused": if verified { unused } else { vec![] },
                "subject": verified.then_some(subject),
                "token_ttl_remaining": verified.then_some(ttl),
                "txn": null,
            }
        });
        if writeln!(out, "{line}").is_err() {
            eprintln!("review-log: {path}: write failed");
            std::process::exit(1);
        }
    }
    if out.flush().is_err() {
        eprintln!("review-log: {path}: write failed");
        std::process::exit(1);
    }
}
