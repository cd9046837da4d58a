//! Strict JSON for token headers and payloads: duplicate member names and nesting deeper than a
//! limit are refused (two parsers reading `{"sub":"a","sub":"b"}` differently is a bypass).

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a JSON text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictJsonError {
    /// Not JSON (or a number out of range, trailing data...).
    Invalid,
    /// The same member name twice in one object.
    DuplicateKey,
    /// Objects and arrays nested deeper than allowed.
    TooDeep,
}

const DUPLICATE: &str = "duplicate member name";
const TOO_DEEP: &str = "nested too deep";

/// Parses `bytes` as JSON with at most `max_depth` levels of nesting and no duplicate names.
pub fn parse(bytes: &[u8], max_depth: usize) -> Result<Value, StrictJsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = ValueSeed {
        depth: 0,
        max_depth,
    }
    .deserialize(&mut deserializer)
    .map_err(classify)?;
    deserializer.end().map_err(|_| StrictJsonError::Invalid)?;
    Ok(value)
}

fn classify(error: serde_json::Error) -> StrictJsonError {
    let text = error.to_string();
    if text.starts_with(DUPLICATE) {
        StrictJsonError::DuplicateKey
    } else if text.starts_with(TOO_DEEP) {
        StrictJsonError::TooDeep
    } else {
        StrictJsonError::Invalid
    }
}

#[derive(Clone, Copy)]
struct ValueSeed {
    depth: usize,
    max_depth: usize,
}

impl ValueSeed {
    fn deeper<E: de::Error>(self) -> Result<ValueSeed, E> {
        if self.depth >= self.max_depth {
            return Err(E::custom(TOO_DEEP));
        }
        Ok(ValueSeed {
            depth: self.depth + 1,
            max_depth: self.max_depth,
        })
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(DUPLICATE));
            }
            let value = access.next_value_seed(inner)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ordinary_json() {
        let v = parse(
            br#"{"a": [1, -2, 3.5, "x", null, true], "b": {"c": {}}}"#,
            8,
        )
        .unwrap();
        assert_eq!(v["a"][1], -2);
        assert_eq!(v["b"]["c"], serde_json::json!({}));
    }

    #[test]
    fn refuses_duplicates_at_any_depth() {
        assert_eq!(
            parse(br#"{"sub":"a","sub":"b"}"#, 8),
            Err(StrictJsonError::DuplicateKey)
        );
        assert_eq!(
            parse(br#"{"x":{"k":1,"k":2}}"#, 8),
            Err(StrictJsonError::DuplicateKey)
        );
        assert_eq!(
            parse(br#"{"x":[{"k":1,"k":2}]}"#, 8),
            Err(StrictJsonError::DuplicateKey)
        );
    }

    #[test]
    fn refuses_deep_nesting_and_junk() {
        assert!(parse(b"[[[1]]]", 3).is_ok());
        assert_eq!(parse(b"[[[[1]]]]", 3), Err(StrictJsonError::TooDeep));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse(deep.as_bytes(), 16), Err(StrictJsonError::TooDeep));
        assert_eq!(parse(b"{} x", 4), Err(StrictJsonError::Invalid));
        assert_eq!(parse(b"1e400", 4), Err(StrictJsonError::Invalid));
        assert_eq!(parse(b"{\"a\":1", 4), Err(StrictJsonError::Invalid));
    }
}
