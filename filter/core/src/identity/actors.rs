//! Delegation chains (RFC 8693 section 4.1): nested `act` claims, the current actor first.

use serde_json::{Map, Value};

/// Why an `act` claim is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorError {
    /// An `act` that is not an object with a string `sub`.
    Malformed,
    /// More nested actors than `limits.max_actor_hops`.
    TooManyHops,
}

/// The actor chain of a token: the current actor (the outermost `act`) first, then the prior
/// ones. Empty when the token has no `act`.
pub fn chain(claims: &Map<String, Value>, max_hops: usize) -> Result<Vec<String>, ActorError> {
    let mut out = Vec::new();
    let mut next = claims.get("act");
    while let Some(act) = next {
        if out.len() >= max_hops {
            return Err(ActorError::TooManyHops);
        }
        let object = act.as_object().ok_or(ActorError::Malformed)?;
        let sub = object
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(ActorError::Malformed)?;
        out.push(sub.to_string());
        next = object.get("act");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        let mut claims = json!({"sub": "user"});
        let mut act = Value::Null;
        for i in (0..depth).rev() {
            act = if act.is_null() {
                json!({"sub": format!("agent-{i}")})
            } else {
                json!({"sub": format!("agent-{i}"), "act": act})
            };
        }
        if depth > 0 {
            claims["act"] = act;
        }
        claims
    }

    #[test]
    fn chains_of_depth_zero_to_five() {
        for depth in 0..=5 {
            let claims = nested(depth);
            let chain = chain(claims.as_object().unwrap(), 8).unwrap();
            let expected: Vec<String> = (0..depth).map(|i| format!("agent-{i}")).collect();
            assert_eq!(chain, expected, "depth {depth}");
        }
    }

    #[test]
    fn bounded_and_strict() {
        let claims = nested(5);
        assert_eq!(
            chain(claims.as_object().unwrap(), 4),
            Err(ActorError::TooManyHops)
        );
        let bad = json!({"act": {"client_id": "x"}});
        assert_eq!(
            chain(bad.as_object().unwrap(), 8),
            Err(ActorError::Malformed)
        );
        let bad = json!({"act": "agent"});
        assert_eq!(
            chain(bad.as_object().unwrap(), 8),
            Err(ActorError::Malformed)
        );
    }
}
