//! A JSON value that keeps the order of object members as written, so that a policy proposal
//! (`review --suggest`) differs from the policy only where it changes something.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A JSON value with ordered members.
#[derive(Debug, Clone, PartialEq)]
pub enum Ordered {
    /// Any scalar (null, boolean, number, string), as serde_json has it.
    Scalar(Value),
    /// An array.
    Array(Vec<Ordered>),
    /// An object, members in order.
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    /// From a serde_json value (member order: serde_json's).
    pub fn from_value(value: &Value) -> Ordered {
        match value {
            Value::Array(items) => Ordered::Array(items.iter().map(Ordered::from_value).collect()),
            Value::Object(map) => Ordered::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Ordered::from_value(v)))
                    .collect(),
            ),
            scalar => Ordered::Scalar(scalar.clone()),
        }
    }

    /// A member of an object.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Ordered> {
        match self {
            Ordered::Object(members) => members.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// An element of an array.
    pub fn at_mut(&mut self, index: usize) -> Option<&mut Ordered> {
        match self {
            Ordered::Array(items) => items.get_mut(index),
            _ => None,
        }
    }

    /// Sets a member (in place when present, else appended); no-op on a non-object.
    pub fn set(&mut self, key: &str, value: Ordered) {
        if let Ordered::Object(members) = self {
            match members.iter_mut().find(|(k, _)| k == key) {
                Some((_, old)) => *old = value,
                None => members.push((key.to_string(), value)),
            }
        }
    }

    /// Removes a member.
    pub fn remove(&mut self, key: &str) {
        if let Ordered::Object(members) = self {
            members.retain(|(k, _)| k != key);
        }
    }

    /// The member `key`, created as an empty object when absent.
    pub fn object_mut(&mut self, key: &str) -> Option<&mut Ordered> {
        if self.get_mut(key).is_none() {
            self.set(key, Ordered::Object(Vec::new()));
        }
        self.get_mut(key)
    }

    /// Pretty JSON, two spaces, as `serde_json::to_string_pretty` lays it out.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        let indent = |out: &mut String, depth: usize| out.push_str(&"  ".repeat(depth));
        match self {
            Ordered::Scalar(value) => out.push_str(&value.to_string()),
            Ordered::Array(items) if items.is_empty() => out.push_str("[]"),
            Ordered::Object(members) if members.is_empty() => out.push_str("{}"),
            Ordered::Array(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    indent(out, depth + 1);
                    item.write(out, depth + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                indent(out, depth);
                out.push(']');
            }
            Ordered::Object(members) => {
                out.push_str("{\n");
                for (i, (key, value)) in members.iter().enumerate() {
                    indent(out, depth + 1);
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push_str(": ");
                    value.write(out, depth + 1);
                    out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
                }
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Ordered, D::Error> {
        Ordered::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
            members.push((key, value));
        }
        Ok(Ordered::Object(members))
    }
}

/// A list of strings as an ordered value.
pub fn strings(items: &[String]) -> Ordered {
    Ordered::Array(
        items
            .iter()
            .map(|s| Ordered::Scalar(Value::String(s.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn member_order_survives_and_the_layout_is_serde_jsons() {
        let text = r#"{"zeta": 1, "alpha": {"b": [1, "x"], "a": null}, "empty": [], "o": {}}"#;
        let mut value: Ordered = serde_json::from_str(text).unwrap();
        value.set("new", Ordered::Scalar(Value::Bool(true)));
        value.get_mut("alpha").unwrap().remove("a");
        let pretty = value.pretty();
        assert!(pretty.find("zeta").unwrap() < pretty.find("alpha").unwrap());
        let reparsed: Value = serde_json::from_str(&pretty).unwrap();
        let expected = serde_json::json!({"zeta": 1, "alpha": {"b": [1, "x"]}, "empty": [], "o": {}, "new": true});
        assert_eq!(reparsed, expected);
        assert_eq!(
            Ordered::from_value(&expected).pretty(),
            serde_json::to_string_pretty(&expected).unwrap()
        );
    }
}
