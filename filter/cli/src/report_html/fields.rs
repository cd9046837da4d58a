//! Reading the report without trusting its shape: a missing or odd field is empty (text), zero
//! (counts), `None` (optional counts) or an empty list, never a panic.

use serde_json::Value;

static NULL: Value = Value::Null;

/// `value[key]`, or null when `value` is no object or has no `key`.
pub(super) fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&NULL)
}

/// `value[key]` as text: a string as is, a number or boolean printed, anything else empty.
pub(super) fn text(value: &Value, key: &str) -> String {
    as_text(field(value, key))
}

/// A JSON value as text (see [`text`]).
pub(super) fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// `value[key]` as a count: a non-negative integer, a float rounded down, else 0.
pub(super) fn count(value: &Value, key: &str) -> u64 {
    opt_count(value, key).unwrap_or(0)
}

/// `value[key]` as a count, `None` when it is absent, null or no number.
pub(super) fn opt_count(value: &Value, key: &str) -> Option<u64> {
    as_count(field(value, key))
}

/// A JSON value as a count (see [`count`]).
pub(super) fn as_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64().map(|f| {
                if f.is_finite() && f > 0.0 {
                    f as u64
                } else {
                    0
                }
            })
        }),
        _ => None,
    }
}

/// `value[key]` as a list, empty when it is no array.
pub(super) fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    field(value, key).as_array().map_or(&[], Vec::as_slice)
}

/// `value[key]` as a list of texts (items that are no text are left out).
pub(super) fn texts(value: &Value, key: &str) -> Vec<String> {
    list(value, key)
        .iter()
        .map(as_text)
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_fields_read_as_empty() {
        let v = json!({"n": -3, "f": 2.7, "s": 5, "l": "x", "o": {"a": 1}});
        assert_eq!(count(&v, "n"), 0);
        assert_eq!(count(&v, "f"), 2);
        assert_eq!(count(&v, "missing"), 0);
        assert_eq!(opt_count(&v, "l"), None);
        assert_eq!(text(&v, "s"), "5");
        assert_eq!(text(&v, "o"), "");
        assert!(list(&v, "l").is_empty());
        assert_eq!(count(field(&json!(7), "x"), "y"), 0);
    }
}
