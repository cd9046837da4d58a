//! Configuration errors: every one names the JSON path of the field it is about.

use std::fmt;

/// What is wrong with one configuration field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The configuration is not JSON at all.
    NotJson(String),
    /// A required field is absent.
    Missing,
    /// The field has the wrong JSON type.
    WrongType {
        /// What the field must be, in words.
        expected: &'static str,
    },
    /// The field is not part of the schema (a typo would otherwise silently weaken a policy).
    UnknownField {
        /// The closest known field name, when one is close.
        suggestion: Option<&'static str>,
    },
    /// A list or string that must not be empty is empty.
    Empty,
    /// The value is of the right type but breaks a rule; the text says which.
    Invalid(String),
}

/// One configuration problem, with the path of the offending field (`routes[2].require.scopes[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the field, for example `providers.mesh.audiences`.
    pub path: String,
    /// What is wrong with it.
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    /// Builds an error for `path`.
    pub fn new(path: impl Into<String>, kind: ConfigErrorKind) -> Self {
        ConfigError {
            path: path.into(),
            kind,
        }
    }

    /// Builds an [`ConfigErrorKind::Invalid`] error with a message.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::new(path, ConfigErrorKind::Invalid(message.into()))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "configuration"
        } else {
            self.path.as_str()
        };
        match &self.kind {
            ConfigErrorKind::NotJson(detail) => write!(f, "{path}: not valid JSON: {detail}"),
            ConfigErrorKind::Missing => write!(f, "{path}: required field is missing"),
            ConfigErrorKind::WrongType { expected } => write!(f, "{path}: must be {expected}"),
            ConfigErrorKind::UnknownField {
                suggestion: Some(s),
            } => {
                write!(f, "{path}: unknown field (did you mean `{s}`?)")
            }
            ConfigErrorKind::UnknownField { suggestion: None } => {
                write!(f, "{path}: unknown field")
            }
            ConfigErrorKind::Empty => write!(f, "{path}: must not be empty"),
            ConfigErrorKind::Invalid(message) => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// All the problems found in one configuration (compilation does not stop at the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
