//! Revocation: single credentials by `jti`, and every token of a subject issued before a time.
//!
//! The document (served by the `revocation` endpoint, or the static `revoked` block):
//! `{"jti": ["task-42", ...], "subjects_revoked_before": {"spiffe://.../agent-7": 1764400000}}`.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Most `jti` entries and subjects read from one document; past that the document is refused
/// (the last good list keeps serving), so memory stays bounded.
pub const MAX_ENTRIES: usize = 100_000;
/// Largest revocation document read, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// Why a revocation document is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationError {
    /// Larger than [`MAX_DOCUMENT_BYTES`].
    TooLarge,
    /// Not JSON, or not an object.
    NotJson,
    /// A member has the wrong shape; the text says which.
    BadMember(&'static str),
    /// More than [`MAX_ENTRIES`] entries.
    TooManyEntries,
}

impl fmt::Display for RevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevocationError::TooLarge => write!(f, "larger than {MAX_DOCUMENT_BYTES} bytes"),
            RevocationError::NotJson => write!(f, "not a JSON object"),
            RevocationError::BadMember("jti") => write!(f, "`jti` must be a list of strings"),
            RevocationError::BadMember(m) => {
                write!(f, "`{m}` must be an object of subject to Unix time")
            }
            RevocationError::TooManyEntries => write!(f, "more than {MAX_ENTRIES} entries"),
        }
    }
}

/// A set of revocations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    jti: HashSet<String>,
    subjects_revoked_before: HashMap<String, u64>,
}

impl RevocationList {
    /// Parses a revocation document.
    pub fn parse(text: &str) -> Result<RevocationList, RevocationError> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(RevocationError::TooLarge);
        }
        let value: Value = serde_json::from_str(text).map_err(|_| RevocationError::NotJson)?;
        RevocationList::from_value(&value)
    }

    /// Reads an already parsed document.
    pub fn from_value(value: &Value) -> Result<RevocationList, RevocationError> {
        let object = value.as_object().ok_or(RevocationError::NotJson)?;
        let mut list = RevocationList::default();
        if let Some(jti) = object.get("jti") {
            let items = jti.as_array().ok_or(RevocationError::BadMember("jti"))?;
            if items.len() > MAX_ENTRIES {
                return Err(RevocationError::TooManyEntries);
            }
            for item in items {
                let id = item.as_str().ok_or(RevocationError::BadMember("jti"))?;
                list.jti.insert(id.to_string());
            }
        }
        if let Some(subjects) = object.get("subjects_revoked_before") {
            let map = subjects
                .as_object()
                .ok_or(RevocationError::BadMember("subjects_revoked_before"))?;
            if map.len() > MAX_ENTRIES {
                return Err(RevocationError::TooManyEntries);
            }
            for (subject, before) in map {
                let before = before
                    .as_u64()
                    .ok_or(RevocationError::BadMember("subjects_revoked_before"))?;
                list.subjects_revoked_before.insert(subject.clone(), before);
            }
        }
        Ok(list)
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.jti.is_empty() && self.subjects_revoked_before.is_empty()
    }

    /// Number of entries (jti plus subjects).
    pub fn len(&self) -> usize {
        self.jti.len() + self.subjects_revoked_before.len()
    }

    /// Whether a token with this `jti`, `sub` and `iat` is revoked. A token of a listed subject
    /// without `iat` cannot prove it is newer than the cut-off, so it is revoked too.
    pub fn revokes(&self, jti: Option<&str>, sub: Option<&str>, iat: Option<u64>) -> bool {
        if jti.is_some_and(|id| self.jti.contains(id)) {
            return true;
        }
        let cutoff = sub.and_then(|s| self.subjects_revoked_before.get(s));
        match (cutoff, iat) {
            (Some(before), Some(iat)) => iat < *before,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"jti": ["0b7c", "task-42"],
        "subjects_revoked_before": {"spiffe://prod.example/ns/a/sa/agent-7": 1764400000}}"#;

    #[test]
    fn revokes_by_jti_and_by_subject_cutoff() {
        let list = RevocationList::parse(DOC).unwrap();
        assert_eq!(list.len(), 3);
        assert!(list.revokes(Some("task-42"), None, None));
        assert!(!list.revokes(Some("task-43"), None, None));
        let agent = Some("spiffe://prod.example/ns/a/sa/agent-7");
        assert!(list.revokes(None, agent, Some(1_764_399_999)));
        assert!(!list.revokes(None, agent, Some(1_764_400_000)));
        assert!(list.revokes(None, agent, None));
        assert!(!list.revokes(None, Some("spiffe://prod.example/ns/a/sa/other"), Some(1)));
    }

    #[test]
    fn bad_documents_are_refused() {
        assert_eq!(RevocationList::parse("[]"), Err(RevocationError::NotJson));
        assert_eq!(RevocationList::parse("nope"), Err(RevocationError::NotJson));
        assert_eq!(
            RevocationList::parse(r#"{"jti": "x"}"#),
            Err(RevocationError::BadMember("jti"))
        );
        assert_eq!(
            RevocationList::parse(r#"{"jti": [1]}"#),
            Err(RevocationError::BadMember("jti"))
        );
        assert_eq!(
            RevocationList::parse(r#"{"subjects_revoked_before": {"a": "x"}}"#),
            Err(RevocationError::BadMember("subjects_revoked_before"))
        );
        assert!(RevocationList::parse("{}").unwrap().is_empty());
    }
}
