//! Telemetry as pure data: filter-state entries, the one-line JSON record, metric names,
//! and values safe to put in headers.

use crate::config::{Policy, RecordLevel};
use crate::decision::Decision;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use members::{members, Field};
use serde_json::{json, Value};
use std::borrow::Cow;

mod digest;
mod members;
mod metrics;
mod proto;
pub use digest::arguments_digest;
pub use metrics::{decisions_metric, mcp_calls_metric, validations_metric};
pub use proto::{declare_record_arguments, record_struct, RECORD_PROPERTY, STRUCT_TYPE_URL};

/// `sha256:` and the first 16 hex digits of the SHA-256 of a token: correlates without revealing it.
pub fn token_hash(token: &str) -> String {
    let digest = hmac_sha256::Hash::hash(token.as_bytes());
    let mut out = String::with_capacity(23);
    out.push_str("sha256:");
    for byte in digest.iter().take(8) {
        push_hex(&mut out, *byte);
    }
    out
}

/// Appends `byte` as two lower-case hex digits.
fn push_hex(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for nibble in [byte >> 4, byte & 0xf] {
        out.push(char::from(
            HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
        ));
    }
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

/// A list as one space-separated value (empty for an empty list).
fn words(list: &[String]) -> Cow<'_, str> {
    match list {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(one.as_str()),
        many => Cow::Owned(many.join(" ")),
    }
}

/// An optional fact, `-` when absent.
fn or_dash(value: &Option<String>) -> Cow<'_, str> {
    Cow::Borrowed(value.as_deref().unwrap_or("-"))
}

/// The decision record as `(key, value)` text filter-state entries (keys without the `wasm.`
/// prefix), for the `keys` and `compact` levels; none for `off` and `struct` (that one is
/// [`record_struct`], written as one typed property).
/// Absent facts are written as `-`, so every access-log field is always filled. Values borrow
/// from the decision where they can (this runs on every request).
pub fn filter_state<'d>(
    decision: &'d Decision,
    policy: &'d Policy,
) -> Vec<(&'static str, Cow<'d, str>)> {
    // Built only for the levels that write text entries (this runs on every request).
    let decision_and_reason = || {
        [
            (
                "workload_authz.decision",
                Cow::Borrowed(decision.outcome.as_str()),
            ),
            (
                "workload_authz.reason",
                Cow::Borrowed(decision.reason.as_str()),
            ),
            ("workload_authz.action", or_dash(&decision.action)),
        ]
    };
    match policy.decision_record {
        RecordLevel::Off | RecordLevel::Struct => Vec::new(),
        RecordLevel::Compact => {
            let mut entries = Vec::with_capacity(4);
            entries.extend(decision_and_reason());
            entries.push((
                "workload_authz.record",
                Cow::Owned(record_json(decision, policy)),
            ));
            entries
        }
        RecordLevel::Keys => {
            let mut entries = Vec::with_capacity(15);
            entries.extend(decision_and_reason());
            entries.extend([
                ("workload_authz.provider", or_dash(&decision.provider)),
                ("workload_authz.subject", or_dash(&decision.subject)),
                ("workload_authz.issuer", or_dash(&decision.issuer)),
                ("workload_authz.jti", or_dash(&decision.token_id)),
                (
                    "workload_authz.token_ttl_remaining",
                    decision
                        .token_ttl_remaining
                        .map_or(Cow::Borrowed("-"), |t| Cow::Owned(t.to_string())),
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
                ("workload_authz.policy", Cow::Borrowed(policy.hash.as_str())),
                (
                    "workload_authz.record",
                    Cow::Owned(record_json(decision, policy)),
                ),
            ]);
            if let Some(dpop) = decision.dpop.as_deref() {
                entries.push(("workload_authz.dpop_jkt", or_dash(&dpop.jkt)));
            }
            if let Some(mcp) = decision.mcp.as_deref() {
                entries.extend([
                    ("workload_authz.mcp_method", or_dash(&mcp.method)),
                    ("workload_authz.mcp_name", or_dash(&mcp.name)),
                    (
                        "workload_authz.mcp_arguments",
                        or_dash(&mcp.arguments_digest),
                    ),
                ]);
            }
            entries
        }
    }
}

/// All of the decision record as one JSON object (absent facts are `null`). On an MCP route it
/// has `mcp_method`, `mcp_name` and `mcp_arguments` (a digest) too; `deny_rule` when a deny
/// rule refused the request.
pub fn record(decision: &Decision, policy: &Policy) -> Value {
    let mut record = json!({
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
    });
    if let (Some(rule), Some(fields)) = (decision.deny_rule.as_deref(), record.as_object_mut()) {
        fields.insert("deny_rule".into(), json!(rule));
    }
    if let (Some(dpop), Some(fields)) = (decision.dpop.as_deref(), record.as_object_mut()) {
        fields.insert("dpop_jkt".into(), json!(dpop.jkt));
    }
    if let (Some(mcp), Some(fields)) = (decision.mcp.as_deref(), record.as_object_mut()) {
        fields.insert("mcp_method".into(), json!(mcp.method));
        fields.insert("mcp_name".into(), json!(mcp.name));
        fields.insert("mcp_arguments".into(), json!(mcp.arguments_digest));
    }
    record
}

/// [`record`] as JSON text, written directly (no `Value` tree: this runs on every request).
/// The same bytes as `record(..).to_string()`: members in the same (sorted) order, strings
/// escaped by `serde_json`.
pub fn record_json(decision: &Decision, policy: &Policy) -> String {
    let mut out = JsonObject::with_capacity(512);
    for (name, value) in members(decision, policy) {
        out.member(name, &value);
    }
    out.finish()
}

/// A flat JSON object written member by member.
struct JsonObject {
    text: String,
}

impl JsonObject {
    fn with_capacity(capacity: usize) -> Self {
        let mut text = String::with_capacity(capacity);
        text.push('{');
        JsonObject { text }
    }

    fn key(&mut self, name: &str) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        self.text.push('"');
        self.text.push_str(name);
        self.text.push_str("\":");
    }

    /// A JSON string, escaped as `serde_json` escapes it. Runs of bytes that need no escape
    /// are copied whole (every escaped byte is ASCII, so runs end on character boundaries).
    fn quoted(&mut self, value: &str) {
        self.text.push('"');
        let mut start = 0;
        for (index, byte) in value.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            self.text.push_str(value.get(start..index).unwrap_or(""));
            start = index + 1;
            if escape.is_empty() {
                self.text.push_str("\\u00");
                push_hex(&mut self.text, byte);
            } else {
                self.text.push_str(escape);
            }
        }
        self.text.push_str(value.get(start..).unwrap_or(""));
        self.text.push('"');
    }

    fn member(&mut self, name: &str, value: &Field<'_>) {
        self.key(name);
        match value {
            Field::Null => self.text.push_str("null"),
            Field::Text(text) => self.quoted(text),
            Field::Number(number) => self.text.push_str(&number.to_string()),
            Field::List(items) => {
                self.text.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        self.text.push(',');
                    }
                    self.quoted(item);
                }
                self.text.push(']');
            }
        }
    }

    fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Mode;
    use crate::decision::Reason;

    #[test]
    fn record_json_is_the_record_as_serde_json_writes_it() {
        let policy = crate::compile(
            r#"{"realm":"r","routes":[{"action":"a","match":{"path":"/"},"public":true}]}"#,
        )
        .unwrap();
        let empty = Decision::new(Reason::NoRoute, Mode::Enforce);
        let mut full = Decision::new(Reason::Allowed, Mode::Shadow);
        full.action = Some("orders.read".into());
        full.provider = Some("mesh".into());
        full.subject = Some("quote\" back\\slash \u{1} \u{1f} \n\r\t\u{8}\u{c} \u{7f} é 🦀".into());
        full.issuer = Some("https://issuer.example".into());
        full.token_id = Some("sha256:0011".into());
        full.token_ttl_remaining = Some(299);
        full.scopes_granted = vec!["a".into(), "b\"c".into()];
        full.scopes_required = vec!["a".into()];
        full.scopes_unused = vec!["b\"c".into()];
        full.actor_chain = vec!["spiffe://x/y".into()];
        full.txn = Some("t-1".into());
        let mut bound = full.clone();
        bound.dpop = Some(Box::new(crate::decision::DpopFacts {
            algs: "ES256".into(),
            proof_checked: true,
            jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into()),
        }));
        let mut unproven = empty.clone();
        unproven.dpop = Some(Box::default());
        assert!(record(&bound, &policy)["dpop_jkt"].is_string());
        assert!(record(&unproven, &policy)["dpop_jkt"].is_null());
        for decision in [&empty, &full, &bound, &unproven] {
            assert_eq!(
                record_json(decision, &policy),
                record(decision, &policy).to_string()
            );
        }
    }

    #[test]
    fn filter_state_writes_dash_for_absent_facts_and_empty_for_empty_lists() {
        let policy = crate::compile(
            r#"{"realm":"r","decision_record":"keys",
                "routes":[{"action":"a","match":{"path":"/"},"public":true}]}"#,
        )
        .unwrap();
        let mut decision = Decision::new(Reason::NoRoute, Mode::Enforce);
        decision.scopes_granted = vec!["a".into(), "b".into()];
        decision.scopes_required = vec!["a".into()];
        let state: std::collections::HashMap<_, _> =
            filter_state(&decision, &policy).into_iter().collect();
        assert_eq!(state.len(), 15);
        for key in ["action", "provider", "subject", "issuer", "jti", "txn"] {
            assert_eq!(
                state[format!("workload_authz.{key}").as_str()],
                "-",
                "{key}"
            );
        }
        assert_eq!(state["workload_authz.token_ttl_remaining"], "-");
        assert_eq!(state["workload_authz.scopes_granted"], "a b");
        assert_eq!(state["workload_authz.scopes_required"], "a");
        assert_eq!(state["workload_authz.scopes_unused"], "");
        assert_eq!(state["workload_authz.actor_chain"], "");
    }

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
