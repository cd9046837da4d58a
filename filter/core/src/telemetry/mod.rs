//! Telemetry as pure data: filter-state entries, the one-line JSON record, metric names,
//! and values safe to put in headers.

use crate::config::{Policy, RecordLevel};
use crate::decision::Decision;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

/// Prefix of every filter-state key (Envoy stores them as `wasm.<key>`).
pub const KEY_PREFIX: &str = "workload_authz.";

/// `sha256:` and the first 16 hex digits of the SHA-256 of a token: correlates without revealing it.
pub fn token_hash(token: &str) -> String {
    let digest = hmac_sha256::Hash::hash(token.as_bytes());
    let mut out = String::from("sha256:");
    for byte in digest.iter().take(8) {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Whether a value may be sent in a header: visible ASCII and spaces only (no CR/LF injection).
pub fn is_header_safe(value: &str) -> bool {
    value.len() <= 4096 && value.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The header form of a claim, like Envoy `jwt_authn`'s `claim_to_headers`: strings as they are,
/// numbers and booleans as JSON text, objects and arrays as base64 of their JSON. `None` when
/// the value is not header-safe.
pub fn header_value(claim: &Value) -> Option<String> {
    let text = match claim {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => return None,
        other => STANDARD.encode(other.to_string()),
    };
    is_header_safe(&text).then_some(text)
}

fn words(list: &[String]) -> String {
    list.join(" ")
}

/// The decision record as `(key, value)` filter-state entries (keys without the `wasm.` prefix).
/// Absent facts are written as `-`, so every access-log field is always filled.
pub fn filter_state(decision: &Decision, policy: &Policy) -> Vec<(&'static str, String)> {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    match policy.decision_record {
        RecordLevel::Off => return Vec::new(),
        RecordLevel::Compact => {
            return vec![
                (
                    "workload_authz.decision",
                    decision.outcome.as_str().to_string(),
                ),
                (
                    "workload_authz.reason",
                    decision.reason.as_str().to_string(),
                ),
                ("workload_authz.action", or_dash(&decision.action)),
                (
                    "workload_authz.record",
                    record(decision, policy).to_string(),
                ),
            ]
        }
        RecordLevel::Full => {}
    }
    vec![
        (
            "workload_authz.decision",
            decision.outcome.as_str().to_string(),
        ),
        (
            "workload_authz.reason",
            decision.reason.as_str().to_string(),
        ),
        ("workload_authz.action", or_dash(&decision.action)),
        ("workload_authz.provider", or_dash(&decision.provider)),
        ("workload_authz.subject", or_dash(&decision.subject)),
        ("workload_authz.issuer", or_dash(&decision.issuer)),
        ("workload_authz.jti", or_dash(&decision.token_id)),
        (
            "workload_authz.token_ttl_remaining",
            decision
                .token_ttl_remaining
                .map_or_else(|| "-".to_string(), |t| t.to_string()),
        ),
        (
            "workload_authz.scopes_granted",
            words(&decision.scopes_granted),
        ),
        (
            "workload_authz.scopes_required",
            words(&decision.scopes_required),
        ),
        (
            "workload_authz.scopes_unused",
            words(&decision.scopes_unused),
        ),
        ("workload_authz.actor_chain", words(&decision.actor_chain)),
        ("workload_authz.txn", or_dash(&decision.txn)),
        ("workload_authz.policy", policy.hash.clone()),
        (
            "workload_authz.record",
            record(decision, policy).to_string(),
        ),
    ]
}

/// All of the decision record as one JSON object (absent facts are `null`).
pub fn record(decision: &Decision, policy: &Policy) -> Value {
    json!({
        "decision": decision.outcome.as_str(),
        "reason": decision.reason.as_str(),
        "mode": decision.mode.as_str(),
        "action": decision.action,
        "provider": decision.provider,
        "subject": decision.subject,
        "issuer": decision.issuer,
        "jti": decision.token_id,
        "token_ttl_remaining": decision.token_ttl_remaining,
        "scopes_granted": decision.scopes_granted,
        "scopes_required": decision.scopes_required,
        "scopes_unused": decision.scopes_unused,
        "actor_chain": decision.actor_chain,
        "txn": decision.txn,
        "policy": policy.hash,
    })
}

/// Name of the decisions counter for one (decision, reason, action) combination, with the
/// labels encoded for the tag-extraction rules in `envoy/stats-config.json`:
/// `decision=.=deny;.;reason=.=expired;.;action=.=orders.read;.;workload_authz_decisions_total`.
pub fn decisions_metric(decision: &Decision) -> String {
    format!(
        "decision=.={};.;reason=.={};.;action=.={};.;workload_authz_decisions_total",
        decision.outcome.as_str(),
        decision.reason.as_str(),
        decision.action.as_deref().unwrap_or("none"),
    )
}

/// Name of the token-validations counter for the decision's token, if one was examined:
/// `provider=.=mesh;.;result=.=valid;.;workload_authz_token_validations_total`.
pub fn validations_metric(decision: &Decision) -> Option<String> {
    let result = decision.token_result?;
    let result = if result == crate::decision::Reason::Allowed {
        "valid"
    } else {
        result.as_str()
    };
    Some(format!(
        "provider=.={};.;result=.={};.;workload_authz_token_validations_total",
        decision.provider.as_deref().unwrap_or("unknown"),
        result
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_short_and_stable() {
        let h = token_hash("abc");
        assert_eq!(h, "sha256:ba7816bf8f01cfea");
        assert_ne!(token_hash("abd"), h);
    }

    #[test]
    fn header_values_follow_jwt_authn() {
        assert_eq!(header_value(&json!("acme")).as_deref(), Some("acme"));
        assert_eq!(header_value(&json!(9999)).as_deref(), Some("9999"));
        assert_eq!(header_value(&json!(true)).as_deref(), Some("true"));
        assert_eq!(
            header_value(&json!(["str1", "str2"])).as_deref(),
            Some("WyJzdHIxIiwic3RyMiJd")
        );
        assert_eq!(header_value(&json!("a\r\nx-admin: 1")), None);
        assert_eq!(header_value(&Value::Null), None);
    }
}
