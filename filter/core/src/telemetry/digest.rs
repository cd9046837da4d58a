//! The digest of an MCP call's arguments (the record's `mcp_arguments`): the 8-byte BLAKE2b
//! (RFC 7693) of their compact JSON text, members in key order, as `serde_json` writes it. The
//! text is fed to the hash as it is produced, a string's unescaped runs in one piece, so a large
//! argument costs little more than hashing its bytes.

use serde_json::{Map, Value};

/// `blake2b:` and 16 hex digits of the 8-byte BLAKE2b of the arguments' compact JSON text.
pub fn arguments_digest(arguments: &Map<String, Value>) -> String {
    let mut state = blake2b_simd::Params::new().hash_length(8).to_state();
    feed_object(&mut state, arguments);
    let digest = state.finalize();
    let mut out = String::with_capacity(24);
    out.push_str("blake2b:");
    for byte in digest.as_bytes() {
        super::push_hex(&mut out, *byte);
    }
    out
}

fn feed_object(state: &mut blake2b_simd::State, object: &Map<String, Value>) {
    state.update(b"{");
    for (i, (name, value)) in object.iter().enumerate() {
        if i > 0 {
            state.update(b",");
        }
        feed_string(state, name);
        state.update(b":");
        feed(state, value);
    }
    state.update(b"}");
}

/// The value's compact JSON text (the parser that made it bounds its depth).
fn feed(state: &mut blake2b_simd::State, value: &Value) {
    match value {
        Value::Null => {
            state.update(b"null");
        }
        Value::Bool(true) => {
            state.update(b"true");
        }
        Value::Bool(false) => {
            state.update(b"false");
        }
        // `Number`'s text is the one `serde_json` writes (integers as they are, floats by ryu).
        Value::Number(n) => {
            state.update(n.to_string().as_bytes());
        }
        Value::String(s) => feed_string(state, s),
        Value::Array(items) => {
            state.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    state.update(b",");
                }
                feed(state, item);
            }
            state.update(b"]");
        }
        Value::Object(object) => feed_object(state, object),
    }
}

/// A JSON string as `serde_json` escapes it: `"`, `\` and control characters only (`\b \t \n
/// \f \r` by name, the others as `\u00XX`); everything else, non-ASCII included, as it is.
fn feed_string(state: &mut blake2b_simd::State, text: &str) {
    state.update(b"\"");
    let bytes = text.as_bytes();
    let mut run = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let named: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        state.update(bytes.get(run..i).unwrap_or_default());
        if named.is_empty() {
            // Rare (a control character without a short form): the hex of `telemetry`.
            let mut escape = String::from("\\u00");
            super::push_hex(&mut escape, byte);
            state.update(escape.as_bytes());
        } else {
            state.update(named);
        }
        run = i + 1;
    }
    state.update(bytes.get(run..).unwrap_or_default());
    state.update(b"\"");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(arguments: &Map<String, Value>) -> String {
        let text = serde_json::to_vec(arguments).unwrap();
        let digest = blake2b_simd::Params::new().hash_length(8).hash(&text);
        let hex: String = digest
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("blake2b:{hex}")
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn is_blake2b_64_of_the_compact_text() {
        // Python: hashlib.blake2b(b'{"region":"eu"}', digest_size=8).hexdigest()
        assert_eq!(
            arguments_digest(&object(json!({"region": "eu"}))),
            "blake2b:47cce3d02f536beb"
        );
        assert_eq!(arguments_digest(&Map::new()), "blake2b:01e7b720ff566d53");
        // Members in key order, no spacing: the text sent does not matter, the arguments do.
        let sent: Value = serde_json::from_str(r#"{ "b": [1, 2], "a": "x" }"#).unwrap();
        let again: Value = serde_json::from_str(r#"{"a":"x","b":[1,2]}"#).unwrap();
        assert_eq!(
            arguments_digest(&object(sent)),
            arguments_digest(&object(again))
        );
        assert_ne!(
            arguments_digest(&object(json!({"region": "us"}))),
            arguments_digest(&object(json!({"region": "eu"})))
        );
    }

    #[test]
    fn feeds_exactly_the_text_serde_json_writes() {
        let every_control: String = (0u8..0x20).map(char::from).collect();
        let cases = [
            json!({}),
            json!({"q": "customers in region eu", "limit": 50, "ok": true, "no": false, "n": null}),
            json!({"quote": "a\"b", "back": "c\\d", "slash": "e/f", "controls": every_control}),
            json!({"unicode": "é日本\u{1F600}", "\u{7f}del": "\u{7f}", "\u{2028}": "\u{2029}"}),
            json!({"floats": [0.1, -2.5e-10, 1e300, 3.0], "ints": [-0, 0, -7, 18446744073709551615u64]}),
            json!({"nested": {"b": [{"c": []}, {}], "a": [[], [[null]]]}, "": ""}),
            json!({"padding": "x".repeat(2000), "tail\n": "\u{0}\u{1f}"}),
        ];
        for case in cases {
            let arguments = object(case);
            assert_eq!(
                arguments_digest(&arguments),
                reference(&arguments),
                "{arguments:?}"
            );
        }
    }
}
