//! Scopes granted by a token: `scope` (space-delimited string or array) and `scp` (string or array).
//! A string is split on whitespace; each array element is one whole scope (an element with a
//! space in it is not a list and matches nothing).

use serde_json::{Map, Value};

/// The scopes a token grants, as whole words.
pub fn granted(claims: &Map<String, Value>) -> Vec<&str> {
    let mut scopes = Vec::with_capacity(4);
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(text)) => scopes.extend(text.split_ascii_whitespace()),
            Some(Value::Array(items)) => scopes.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_scope_and_scp_in_both_shapes() {
        let claims = json!({"scope": "a  b", "scp": ["c", "d e"]});
        assert_eq!(
            granted(claims.as_object().unwrap()),
            vec!["a", "b", "c", "d e"]
        );
        let claims = json!({"scope": ["x"], "scp": "y"});
        assert_eq!(granted(claims.as_object().unwrap()), vec!["x", "y"]);
        let claims = json!({"scope": 5});
        assert!(granted(claims.as_object().unwrap()).is_empty());
    }
}
