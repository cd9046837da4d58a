//! A small path-aware reader over `serde_json::Value`: typed field access that records
//! errors with their JSON path instead of stopping at the first one.

use super::error::{ConfigError, ConfigErrorKind};
use serde_json::{Map, Value};

/// Collects errors while a configuration is read.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<ConfigError>);

impl Errors {
    /// Records one error.
    pub fn push(&mut self, error: ConfigError) {
        self.0.push(error);
    }

    /// Records an error of `kind` at `path`.
    pub fn add(&mut self, path: &str, kind: ConfigErrorKind) {
        self.0.push(ConfigError::new(path, kind));
    }
}

/// `parent.key`, or `key` at the top.
pub fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[index]`.
pub fn item(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// A JSON object being read, with the list of fields the schema knows.
pub struct Obj<'a> {
    /// Path of this object.
    pub path: String,
    /// Its fields.
    pub map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// Reads `value` as an object whose fields must all be in `known`.
    pub fn new(
        value: &'a Value,
        path: &str,
        known: &[&'static str],
        errors: &mut Errors,
    ) -> Option<Obj<'a>> {
        let Some(map) = value.as_object() else {
            errors.push(ConfigError::new(
                path,
                ConfigErrorKind::WrongType {
                    expected: "an object",
                },
            ));
            return None;
        };
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                errors.push(ConfigError::new(
                    child(path, key),
                    ConfigErrorKind::UnknownField {
                        suggestion: closest(key, known),
                    },
                ));
            }
        }
        Some(Obj {
            path: path.to_string(),
            map,
        })
    }

    /// Path of one field of this object.
    pub fn path_of(&self, key: &str) -> String {
        child(&self.path, key)
    }

    /// The raw value of a field, if present (JSON `null` counts as absent).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required field.
    pub fn required(&self, key: &str, errors: &mut Errors) -> Option<&'a Value> {
        let value = self.get(key);
        if value.is_none() {
            errors.push(ConfigError::new(
                self.path_of(key),
                ConfigErrorKind::Missing,
            ));
        }
        value
    }

    /// An optional string field.
    pub fn opt_str(&self, key: &str, errors: &mut Errors) -> Option<&'a str> {
        let value = self.get(key)?;
        let text = value.as_str();
        if text.is_none() {
            errors.push(wrong_type(&self.path_of(key), "a string"));
        }
        text
    }

    /// A required, non-empty string field.
    pub fn req_str(&self, key: &str, errors: &mut Errors) -> Option<&'a str> {
        let value = self.required(key, errors)?;
        non_empty_str(value, &self.path_of(key), errors)
    }

    /// An optional boolean field.
    pub fn opt_bool(&self, key: &str, errors: &mut Errors) -> Option<bool> {
        let value = self.get(key)?;
        let flag = value.as_bool();
        if flag.is_none() {
            errors.push(wrong_type(&self.path_of(key), "true or false"));
        }
        flag
    }

    /// An optional whole number field within `min..=max`.
    pub fn opt_u64(&self, key: &str, min: u64, max: u64, errors: &mut Errors) -> Option<u64> {
        let value = self.get(key)?;
        let path = self.path_of(key);
        match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(_) => {
                errors.add(&path, ConfigErrorKind::OutOfRange { min, max });
                None
            }
            None => {
                errors.push(wrong_type(&path, "a whole number"));
                None
            }
        }
    }

    /// An optional list of non-empty strings (each item reported with its index).
    pub fn opt_str_list(&self, key: &str, errors: &mut Errors) -> Option<Vec<&'a str>> {
        let value = self.get(key)?;
        str_list(value, &self.path_of(key), errors)
    }
}

/// A `WrongType` error.
pub fn wrong_type(path: &str, expected: &'static str) -> ConfigError {
    ConfigError::new(path, ConfigErrorKind::WrongType { expected })
}

/// A non-empty string.
pub fn non_empty_str<'a>(value: &'a Value, path: &str, errors: &mut Errors) -> Option<&'a str> {
    match value.as_str() {
        Some("") => {
            errors.push(ConfigError::new(path, ConfigErrorKind::Empty));
            None
        }
        Some(text) => Some(text),
        None => {
            errors.push(wrong_type(path, "a string"));
            None
        }
    }
}

/// A list of non-empty strings.
pub fn str_list<'a>(value: &'a Value, path: &str, errors: &mut Errors) -> Option<Vec<&'a str>> {
    let Some(items) = value.as_array() else {
        errors.push(wrong_type(path, "a list of strings"));
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, entry) in items.iter().enumerate() {
        match non_empty_str(entry, &item(path, i), errors) {
            Some(text) => out.push(text),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The known name closest to `key` (edit distance at most 2, or one a prefix of the other),
/// for "did you mean" hints.
pub fn closest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    let near = known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k);
    near.or_else(|| {
        known
            .iter()
            .find(|k| key.len() >= 3 && (k.starts_with(key) || key.starts_with(**k)))
            .copied()
    })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let insertion = current.get(j).copied().unwrap_or(0) + 1;
            let deletion = previous.get(j + 1).copied().unwrap_or(0) + 1;
            current.push(substitution.min(insertion).min(deletion));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_reported_with_a_suggestion() {
        let value = json!({"scope": ["a"], "subjects": []});
        let mut errors = Errors::default();
        let obj = Obj::new(
            &value,
            "routes[0].require",
            &["scopes", "subjects"],
            &mut errors,
        );
        assert!(obj.is_some());
        assert_eq!(errors.0.len(), 1);
        assert_eq!(
            errors.0[0].to_string(),
            "routes[0].require.scope: unknown field (did you mean `scopes`?)"
        );
    }

    #[test]
    fn numbers_are_range_checked() {
        let value = json!({"n": 5000, "m": "x"});
        let mut errors = Errors::default();
        let obj = Obj::new(&value, "", &["n", "m"], &mut errors).unwrap();
        assert_eq!(obj.opt_u64("n", 0, 3600, &mut errors), None);
        assert_eq!(obj.opt_u64("m", 0, 3600, &mut errors), None);
        assert_eq!(errors.0[0].to_string(), "n: must be between 0 and 3600");
        assert_eq!(errors.0[1].to_string(), "m: must be a whole number");
    }

    #[test]
    fn string_lists_report_the_bad_item() {
        let value = json!(["a", "", 3]);
        let mut errors = Errors::default();
        assert_eq!(str_list(&value, "x", &mut errors), None);
        assert_eq!(errors.0[0].to_string(), "x[1]: must not be empty");
        assert_eq!(errors.0[1].to_string(), "x[2]: must be a string");
    }
}
