//! One access-log line to one decision record. Both documented forms are read:
//!
//! - the default record (`envoy/access-log-format.json`): the typed object under `authz`;
//! - the `keys` form (`envoy/access-log-format-keys.json`): `authz_record` (the record as JSON
//!   text; in Istio's mesh format a typed object), else the `authz_*` keys one by one
//!   (space-separated lists, `-` for an absent fact).
//!
//! A line that is not a JSON object is unreadable; one without a record (a request the filter did
//! not see) is counted apart.

use serde::Deserialize;
use serde_json::value::RawValue;

pub use workload_authz_core::Outcome;

/// What `review` asks of an outcome.
pub trait OutcomeFacts {
    /// Index into per-outcome counters (the order of [`Outcome::ALL`]).
    fn index(self) -> usize;
    /// The token was good enough to let the request through (really or in shadow).
    fn passed(self) -> bool;
    /// A denial, enforced or in shadow.
    fn denied(self) -> bool;
}

impl OutcomeFacts for Outcome {
    fn index(self) -> usize {
        Outcome::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }

    fn passed(self) -> bool {
        matches!(self, Outcome::Allow | Outcome::ShadowAllow)
    }

    fn denied(self) -> bool {
        matches!(self, Outcome::Deny | Outcome::ShadowDeny)
    }
}

/// One decision record, as `review` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `start_time` of the line, Unix seconds.
    pub time: Option<i64>,
    /// The decision.
    pub outcome: Outcome,
    /// The reason code.
    pub reason: String,
    /// `enforce` or `shadow` (absent in the `keys` form's single keys).
    pub mode: Option<String>,
    /// The route action.
    pub action: Option<String>,
    /// The provider the token's issuer names.
    pub provider: Option<String>,
    /// `sub` of a verified token.
    pub subject: Option<String>,
    /// Seconds the token still had to live.
    pub ttl: Option<u64>,
    /// The token's scopes.
    pub scopes_granted: Vec<String>,
    /// What the action required.
    pub scopes_required: Vec<String>,
    /// The delegation chain, current actor first.
    pub actor_chain: Vec<String>,
    /// MCP method, on MCP routes.
    pub mcp_method: Option<String>,
    /// MCP tool, prompt or resource name, on MCP routes.
    pub mcp_name: Option<String>,
    /// The policy hash.
    pub policy: Option<String>,
}

/// What one line held.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A decision record.
    Record(Box<Record>),
    /// A JSON object without a record (a request the filter did not handle).
    WithoutRecord,
    /// Not a JSON object, or a record that does not make sense.
    Unreadable,
}

#[derive(Deserialize)]
struct LogLine<'a> {
    #[serde(default, borrow)]
    start_time: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_record: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_decision: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_reason: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_action: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_provider: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_subject: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_token_ttl_remaining: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_scopes_granted: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_scopes_required: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_actor_chain: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_mcp_method: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_mcp_name: Option<&'a RawValue>,
    #[serde(default, borrow)]
    authz_policy: Option<&'a RawValue>,
}

/// The typed record (the `authz` object, or `authz_record`'s JSON).
#[derive(Deserialize)]
struct TypedRecord {
    decision: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    token_ttl_remaining: Option<u64>,
    #[serde(default)]
    scopes_granted: Option<Vec<String>>,
    #[serde(default)]
    scopes_required: Option<Vec<String>>,
    #[serde(default)]
    actor_chain: Option<Vec<String>>,
    #[serde(default)]
    mcp_method: Option<String>,
    #[serde(default)]
    mcp_name: Option<String>,
    #[serde(default)]
    policy: Option<String>,
}

/// Parses one log line.
pub fn parse(line: &[u8]) -> Parsed {
    let line = trim(line);
    if line.first() != Some(&b'{') {
        return Parsed::Unreadable;
    }
    let Ok(log) = serde_json::from_slice::<LogLine>(line) else {
        return Parsed::Unreadable;
    };
    let time = log
        .start_time
        .and_then(text_of)
        .and_then(|t| super::time::parse_rfc3339(&t));
    let typed = [log.authz, log.authz_record]
        .into_iter()
        .flatten()
        .find_map(typed_record);
    let record = match typed {
        Some(Ok(typed)) => from_typed(typed, time),
        Some(Err(())) => return Parsed::Unreadable,
        None => from_keys(&log, time),
    };
    match record {
        Some(record) => Parsed::Record(Box::new(record)),
        None if has_record_fields(&log) => Parsed::Unreadable,
        None => Parsed::WithoutRecord,
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |at| at + 1);
    line.get(start..end).unwrap_or_default()
}

/// The record in a raw value: an object, or a string holding the object's JSON. `None` when the
/// value is absent (`null`, `-`, an empty string); `Some(Err)` when it is not a record.
fn typed_record(raw: &RawValue) -> Option<Result<TypedRecord, ()>> {
    let text = raw.get().trim();
    let parsed = if text.starts_with('{') {
        serde_json::from_str::<TypedRecord>(text)
    } else {
        let inner = text_of(raw)?;
        if !inner.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str::<TypedRecord>(&inner)
    };
    Some(parsed.map_err(|_| ()))
}

/// A raw value that is a JSON string, unescaped, or `None` (`null`, `-`, empty, not a string).
fn text_of(raw: &RawValue) -> Option<String> {
    let text: String = serde_json::from_str::<Option<String>>(raw.get()).ok()??;
    (!text.is_empty() && text != "-").then_some(text)
}

fn words(raw: Option<&RawValue>) -> Vec<String> {
    raw.and_then(text_of)
        .map(|t| {
            t.split(' ')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn from_typed(typed: TypedRecord, time: Option<i64>) -> Option<Record> {
    Some(Record {
        time,
        outcome: Outcome::parse(typed.decision.as_deref()?)?,
        reason: typed.reason.unwrap_or_default(),
        mode: typed.mode,
        action: typed.action,
        provider: typed.provider,
        subject: typed.subject,
        ttl: typed.token_ttl_remaining,
        scopes_granted: typed.scopes_granted.unwrap_or_default(),
        scopes_required: typed.scopes_required.unwrap_or_default(),
        actor_chain: typed.actor_chain.unwrap_or_default(),
        mcp_method: typed.mcp_method,
        mcp_name: typed.mcp_name,
        policy: typed.policy,
    })
}

fn from_keys(log: &LogLine, time: Option<i64>) -> Option<Record> {
    let decision = log.authz_decision.and_then(text_of)?;
    Some(Record {
        time,
        outcome: Outcome::parse(&decision)?,
        reason: log.authz_reason.and_then(text_of).unwrap_or_default(),
        mode: None,
        action: log.authz_action.and_then(text_of),
        provider: log.authz_provider.and_then(text_of),
        subject: log.authz_subject.and_then(text_of),
        ttl: log
            .authz_token_ttl_remaining
            .and_then(|raw| text_of(raw).or_else(|| Some(raw.get().to_string())))
            .and_then(|t| t.parse().ok()),
        scopes_granted: words(log.authz_scopes_granted),
        scopes_required: words(log.authz_scopes_required),
        actor_chain: words(log.authz_actor_chain),
        mcp_method: log.authz_mcp_method.and_then(text_of),
        mcp_name: log.authz_mcp_name.and_then(text_of),
        policy: log.authz_policy.and_then(text_of),
    })
}

/// The line names a record (a decision key, or a record value) that could not be read.
fn has_record_fields(log: &LogLine) -> bool {
    [log.authz, log.authz_record, log.authz_decision]
        .into_iter()
        .flatten()
        .any(|raw| text_of(raw).is_some() || raw.get().trim_start().starts_with('{'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn record(line: &str) -> Record {
        match parse(line.as_bytes()) {
            Parsed::Record(record) => *record,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn the_default_record_is_read() {
        let r = record(
            r#"{"authority":"localhost:10000","method":"GET","path":"/tenants/acme/orders/42","status":200,
 "start_time":"2026-12-02T05:02:11.482Z",
 "authz":{"action":"orders.read","actor_chain":["spiffe://a/agent"],"decision":"allow",
          "issuer":"https://issuer.prod.example","jti":"sha256:5d1ce4c3ae3b5b8c","mode":"enforce",
          "policy":"b090747761a1f530","provider":"mesh","reason":"allowed",
          "scopes_granted":["orders:read","orders:write:acme"],"scopes_required":["orders:read"],
          "scopes_unused":["orders:write:acme"],"subject":"spiffe://prod.example/ns/shop/sa/checkout",
          "token_ttl_remaining":294,"txn":null}}"#
                .replace('\n', "")
                .as_str(),
        );
        assert_eq!(r.time, Some(1_796_187_731));
        assert_eq!(r.outcome, Outcome::Allow);
        assert_eq!(r.reason, "allowed");
        assert_eq!(r.mode.as_deref(), Some("enforce"));
        assert_eq!(r.action.as_deref(), Some("orders.read"));
        assert_eq!(
            r.subject.as_deref(),
            Some("spiffe://prod.example/ns/shop/sa/checkout")
        );
        assert_eq!(r.ttl, Some(294));
        assert_eq!(r.scopes_granted, ["orders:read", "orders:write:acme"]);
        assert_eq!(r.scopes_required, ["orders:read"]);
        assert_eq!(r.actor_chain, ["spiffe://a/agent"]);
        assert_eq!(r.policy.as_deref(), Some("b090747761a1f530"));
    }

    #[test]
    fn the_keys_form_is_read_from_its_record_or_its_keys() {
        let from_record = record(
            r#"{"start_time":"2026-12-02T05:02:11Z","authz_decision":"deny","authz_record":"{\"action\":\"a\",\"actor_chain\":[],\"decision\":\"deny\",\"mode\":\"shadow\",\"reason\":\"expired\",\"scopes_granted\":[],\"scopes_required\":[],\"scopes_unused\":[],\"subject\":null,\"token_ttl_remaining\":null}"}"#,
        );
        assert_eq!(from_record.outcome, Outcome::Deny);
        assert_eq!(from_record.mode.as_deref(), Some("shadow"));
        assert_eq!(from_record.reason, "expired");
        let from_keys = record(
            r#"{"start_time":"2026-12-02T05:02:11Z","authz_decision":"shadow_deny","authz_reason":"missing_scope","authz_action":"orders.write","authz_provider":"mesh","authz_subject":"spiffe://x/y","authz_token_ttl_remaining":"120","authz_scopes_granted":"a b","authz_scopes_required":"c","authz_actor_chain":"-","authz_record":"-"}"#,
        );
        assert_eq!(from_keys.outcome, Outcome::ShadowDeny);
        assert_eq!(from_keys.ttl, Some(120));
        assert_eq!(from_keys.scopes_granted, ["a", "b"]);
        assert!(from_keys.actor_chain.is_empty());
        assert_eq!(from_keys.mode, None);
    }

    #[test]
    fn istio_typed_labels_are_read() {
        let r = record(
            r#"{"authz_decision":"allow","authz_record":{"decision":"allow","reason":"allowed","subject":"s","actor_chain":[]}}"#,
        );
        assert_eq!(r.subject.as_deref(), Some("s"));
    }

    #[test]
    fn lines_without_a_record_and_garbage_are_told_apart() {
        assert_eq!(
            parse(br#"{"path":"/","authz":null}"#),
            Parsed::WithoutRecord
        );
        assert_eq!(
            parse(br#"{"path":"/","authz_decision":"-"}"#),
            Parsed::WithoutRecord
        );
        assert_eq!(
            parse(b"[2026-12-02 05:02:11] info: started"),
            Parsed::Unreadable
        );
        assert_eq!(
            parse(br#"{"authz":{"decision":"maybe"}}"#),
            Parsed::Unreadable
        );
        assert_eq!(
            parse(br#"{"authz":{"decision":"allow","token_ttl_remaining":"x"}}"#),
            Parsed::Unreadable
        );
        assert_eq!(parse(b"{not json"), Parsed::Unreadable);
    }
}
