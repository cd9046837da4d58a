//! Scopes granted by a token: `scope` (space-delimited string or array) and `scp` (string or array).
//! A string is split on the space character only (RFC 6749 section 3.3: `scope-token *( SP
//! scope-token )`; repeated spaces are tolerated); each array element is one whole scope (an
//! element with a space in it is not a list and matches nothing). A scope holding any other
//! control character (tab, line feed, carriage return...) makes the token malformed: such a
//! string is read as one scope by some consumers and as several by others.

use serde_json::{Map, Value};

/// The claims scopes are read from.
const SCOPE_CLAIMS: [&str; 2] = ["scope", "scp"];

/// The scopes a token grants, as whole words.
pub fn granted(claims: &Map<String, Value>) -> Vec<&str> {
    let mut scopes = Vec::with_capacity(4);
    for name in SCOPE_CLAIMS {
        match claims.get(name) {
            Some(Value::String(text)) => {
                scopes.extend(text.split(' ').filter(|scope| !scope.is_empty()))
            }
            Some(Value::Array(items)) => scopes.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    scopes
}

/// The first scope claim (`scope` or `scp`) holding a control character other than the
/// separating space, if any.
pub fn malformed_claim(claims: &Map<String, Value>) -> Option<&'static str> {
    let has_control = |text: &str| text.bytes().any(|b| b < 0x20 || b == 0x7f);
    SCOPE_CLAIMS
        .into_iter()
        .find(|name| match claims.get(*name) {
            Some(Value::String(text)) => has_control(text),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(has_control),
            _ => false,
        })
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

    #[test]
    fn only_the_space_separates_and_other_controls_are_malformed() {
        for text in [
            "a\tb", "a\nb", "a\rb", "a\u{c}b", "a\u{b}b", "a\u{0}", "a\u{7f}",
        ] {
            let claims = json!({ "scope": text });
            let claims = claims.as_object().unwrap();
            assert_eq!(malformed_claim(claims), Some("scope"), "{text:?}");
            assert_eq!(granted(claims), vec![text], "not split: {text:?}");
        }
        let claims = json!({"scope": "a b", "scp": ["c", "d\te"]});
        assert_eq!(malformed_claim(claims.as_object().unwrap()), Some("scp"));
        let clean = json!({"scope": " a  b ", "scp": ["c d"]});
        assert_eq!(malformed_claim(clean.as_object().unwrap()), None);
        assert_eq!(granted(clean.as_object().unwrap()), vec!["a", "b", "c d"]);
    }
}
