//! A tiny argument reader: `--flag value`, repeated flags, and positionals.

use std::fmt;

/// A command-line problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// `--flag` given without a value.
    MissingValue(String),
    /// A required flag is absent.
    Required(&'static str),
    /// A flag that the command does not know.
    Unknown(String),
    /// A value that does not parse.
    Invalid(&'static str, String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::MissingValue(flag) => write!(f, "`{flag}` needs a value"),
            ArgError::Required(flag) => write!(f, "`--{flag}` is required"),
            ArgError::Unknown(flag) => write!(f, "unknown option `{flag}`"),
            ArgError::Invalid(flag, value) => write!(f, "`--{flag}`: `{value}` is not valid"),
        }
    }
}

/// Parsed arguments of one subcommand.
#[derive(Debug, Default)]
pub struct Args {
    flags: Vec<(String, String)>,
    /// Arguments that are not flags, in order.
    pub positional: Vec<String>,
}

impl Args {
    /// Reads `raw`, accepting only the flags in `known` (each takes a value).
    pub fn parse(raw: &[String], known: &[&str]) -> Result<Args, ArgError> {
        let mut args = Args::default();
        let mut iter = raw.iter();
        while let Some(arg) = iter.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (name, None),
                };
                if !known.contains(&name) {
                    return Err(ArgError::Unknown(arg.clone()));
                }
                let value = match inline {
                    Some(v) => v,
                    None => iter
                        .next()
                        .cloned()
                        .ok_or_else(|| ArgError::MissingValue(arg.clone()))?,
                };
                args.flags.push((name.to_string(), value));
            } else {
                args.positional.push(arg.clone());
            }
        }
        Ok(args)
    }

    /// The last value of a flag.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated flag.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A required flag.
    pub fn require(&self, name: &'static str) -> Result<&str, ArgError> {
        self.get(name).ok_or(ArgError::Required(name))
    }

    /// An optional whole number.
    pub fn number(&self, name: &'static str) -> Result<Option<u64>, ArgError> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| ArgError::Invalid(name, v.to_string()))
            })
            .transpose()
    }
}
