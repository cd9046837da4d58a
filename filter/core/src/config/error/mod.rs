//! Configuration errors: every one names the JSON path of the field it is about, says what is
//! wrong ([`ConfigErrorKind`], one variant per kind of mistake) and what to change
//! ([`ConfigError::hint`]). The filter's log line and the CLI's `check` print the same two texts.

mod hint;
mod kind;
#[cfg(test)]
mod tests;
mod words;

pub use kind::ConfigErrorKind;
pub use words::{Choice, ListOf};

use std::fmt;

/// One configuration problem, with the path of the offending field (`routes[2].require.scopes[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the field, for example `providers.mesh.audiences`; empty for the whole
    /// configuration.
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

    /// What to change, in words. Every error has one: the kind's own hint (built from its data,
    /// such as the declared providers or the route's captures), else an example of the field and
    /// the README section that documents it.
    pub fn hint(&self) -> String {
        hint::hint(self)
    }

    /// The error and its hint on one line (`path: message; hint: ...`), as the filter logs it.
    pub fn with_hint(&self) -> String {
        format!("{self}; hint: {}", self.hint())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "configuration"
        } else {
            self.path.as_str()
        };
        write!(f, "{path}: {}", self.kind)
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
