//! Reading one MCP JSON-RPC 2.0 message from a request body.
//!
//! The reader is strict where two readers could disagree: duplicate member names anywhere,
//! a second JSON value after the first, a batch (an array: batching left MCP in 2025-06-18 and
//! would let several calls through one decision), a `jsonrpc` other than `"2.0"`, an `id` that
//! is not a string or an integer. Only requests and notifications are messages a client may
//! POST for the filter to authorize: a body without `method` is refused.

use crate::token::strict_json::{self, StrictJsonError};
use serde_json::{Map, Value};
use std::fmt;

/// The deepest nesting a message may have (objects and arrays, the message itself included).
pub const MAX_DEPTH: usize = 32;

/// What the filter reads of one JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The request `id` (a string or an integer), `None` for a notification.
    pub id: Option<Value>,
    /// `method`, e.g. `tools/call`.
    pub method: String,
    /// What the method acts on: `params.name` of `tools/call` and `prompts/get`, `params.uri`
    /// of `resources/read`, `resources/subscribe` and `resources/unsubscribe`.
    pub target: Option<String>,
    /// `params.arguments` of `tools/call` and `prompts/get` (empty when absent).
    pub arguments: Map<String, Value>,
}

/// The kind of thing a message acts on, which decides the rule table it is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// `tools/call`: `params.name` names a tool.
    Tool,
    /// `prompts/get`: `params.name` names a prompt.
    Prompt,
    /// `resources/read`, `resources/subscribe`, `resources/unsubscribe`: `params.uri`.
    Resource,
}

impl TargetKind {
    /// The kind of target `method` takes, if any.
    pub fn of(method: &str) -> Option<TargetKind> {
        match method {
            "tools/call" => Some(TargetKind::Tool),
            "prompts/get" => Some(TargetKind::Prompt),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                Some(TargetKind::Resource)
            }
            _ => None,
        }
    }

    /// The `params` member holding the target.
    pub fn member(self) -> &'static str {
        match self {
            TargetKind::Tool | TargetKind::Prompt => "name",
            TargetKind::Resource => "uri",
        }
    }
}

/// Why a body is not one MCP message the filter can judge (all `invalid_mcp_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageError {
    /// Empty, not UTF-8 JSON, or followed by a second value.
    NotJson,
    /// A member name appears twice in one object.
    DuplicateMember,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A JSON array: a batch.
    Batch,
    /// A JSON value that is neither an object nor an array.
    NotObject,
    /// `jsonrpc` is missing or not `"2.0"`.
    BadVersion,
    /// No `method` (a response, or not JSON-RPC at all), or `method` is not a string.
    NoMethod,
    /// `id` is present but neither a string nor an integer.
    BadId,
    /// `params` is not an object, or the method's target member is missing or not a string, or
    /// `arguments` is not an object.
    BadParams,
}

impl MessageError {
    /// The stable short text, for traces and logs (never the body).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageError::NotJson => "not one JSON value",
            MessageError::DuplicateMember => "a member name appears twice",
            MessageError::TooDeep => "nested too deep",
            MessageError::Batch => "a JSON-RPC batch (refused: one message per request)",
            MessageError::NotObject => "not a JSON object",
            MessageError::BadVersion => "`jsonrpc` is not \"2.0\"",
            MessageError::NoMethod => "no string `method` (only requests and notifications)",
            MessageError::BadId => "`id` is neither a string nor an integer",
            MessageError::BadParams => "`params` lacks the method's target or is malformed",
        }
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads one JSON-RPC 2.0 request or notification from `body`.
pub fn parse(body: &[u8]) -> Result<Message, MessageError> {
    let value = strict_json::parse(body, MAX_DEPTH).map_err(|e| match e {
        StrictJsonError::Invalid => MessageError::NotJson,
        StrictJsonError::DuplicateKey => MessageError::DuplicateMember,
        StrictJsonError::TooDeep => MessageError::TooDeep,
    })?;
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => return Err(MessageError::Batch),
        _ => return Err(MessageError::NotObject),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(MessageError::BadVersion);
    }
    let method = match object.remove("method") {
        Some(Value::String(method)) => method,
        _ => return Err(MessageError::NoMethod),
    };
    let id = match object.remove("id") {
        None => None,
        Some(id @ Value::String(_)) => Some(id),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Value::Number(n)),
        Some(_) => return Err(MessageError::BadId),
    };
    let mut params = match object.remove("params") {
        None => Map::new(),
        Some(Value::Object(params)) => params,
        Some(_) => return Err(MessageError::BadParams),
    };
    let kind = TargetKind::of(&method);
    let target = match kind {
        None => None,
        Some(kind) => match params.remove(kind.member()) {
            Some(Value::String(target)) => Some(target),
            _ => return Err(MessageError::BadParams),
        },
    };
    let arguments = match (kind, params.remove("arguments")) {
        (Some(TargetKind::Tool | TargetKind::Prompt), Some(Value::Object(arguments))) => arguments,
        (Some(TargetKind::Tool | TargetKind::Prompt), Some(_)) => {
            return Err(MessageError::BadParams)
        }
        _ => Map::new(),
    };
    Ok(Message {
        id,
        method,
        target,
        arguments,
    })
}

/// The request `id` of a body that may not parse as a whole, for the JSON-RPC error answer:
/// only a well-formed single message yields one (never guess an `id` from a bad body).
pub fn id_of(body: &[u8]) -> Option<Value> {
    parse(body).ok().and_then(|m| m.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(body: &str) -> Message {
        parse(body.as_bytes()).unwrap()
    }

    fn err(body: &str) -> MessageError {
        parse(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn reads_requests_and_notifications() {
        let m = ok(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call",
                      "params":{"name":"search","arguments":{"q":"x","n":{"k":1}}}}"#);
        assert_eq!(m.id, Some(json!(7)));
        assert_eq!(m.method, "tools/call");
        assert_eq!(m.target.as_deref(), Some("search"));
        assert_eq!(m.arguments.get("n"), Some(&json!({"k": 1})));
        let n = ok(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert_eq!(n.id, None);
        assert_eq!(n.target, None);
        let r = ok(
            r#"{"jsonrpc":"2.0","id":"a","method":"resources/read","params":{"uri":"crm://x"}}"#,
        );
        assert_eq!(r.target.as_deref(), Some("crm://x"));
        assert!(r.arguments.is_empty());
        let p = ok(r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"s"}}"#);
        assert_eq!(p.target.as_deref(), Some("s"));
    }

    #[test]
    fn refuses_what_two_readers_could_read_differently() {
        assert_eq!(err(""), MessageError::NotJson);
        assert_eq!(err("{"), MessageError::NotJson);
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","method":"ping"} {"jsonrpc":"2.0","method":"x"}"#),
            MessageError::NotJson
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","method":"ping","method":"tools/call"}"#),
            MessageError::DuplicateMember
        );
        assert_eq!(
            err(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#
            ),
            MessageError::DuplicateMember
        );
        assert_eq!(
            err(r#"[{"jsonrpc":"2.0","method":"ping"}]"#),
            MessageError::Batch
        );
        assert_eq!(err(r#""ping""#), MessageError::NotObject);
        assert_eq!(err(r#"{"method":"ping"}"#), MessageError::BadVersion);
        assert_eq!(
            err(r#"{"jsonrpc":2.0,"method":"ping"}"#),
            MessageError::BadVersion
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            MessageError::NoMethod
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","method":1}"#),
            MessageError::NoMethod
        );
        for id in ["1.5", "1.0", "-0", "1e2"] {
            assert_eq!(
                err(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#)),
                MessageError::BadId,
                "id {id}"
            );
        }
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            MessageError::BadId
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#),
            MessageError::BadId
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}"#),
            MessageError::BadParams
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#),
            MessageError::BadParams
        );
        assert_eq!(
            err(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":[1]}}"#
            ),
            MessageError::BadParams
        );
        assert_eq!(
            err(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":5}}"#),
            MessageError::BadParams
        );
        let deep = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":{}{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert_eq!(err(&deep), MessageError::TooDeep);
        assert_eq!(
            parse(b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}").unwrap_err(),
            MessageError::NotJson
        );
    }

    #[test]
    fn id_of_reads_only_whole_messages() {
        assert_eq!(
            id_of(br#"{"jsonrpc":"2.0","id":"x","method":"ping"}"#),
            Some(json!("x"))
        );
        assert_eq!(
            id_of(br#"{"jsonrpc":"2.0","id":"x","method":"ping","id":"y"}"#),
            None
        );
        assert_eq!(id_of(b"not json"), None);
    }
}
