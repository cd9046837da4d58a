//! String templates with `{capture}` placeholders bound to path captures, compiled once.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Capture(usize),
}

/// A compiled template such as `orders:write:{tenant}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{name}` names no capture of the route's path.
    UnknownCapture(String),
    /// An unbalanced `{` or `}`.
    Unbalanced,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::UnknownCapture(name) => write!(f, "unknown capture {{{name}}}"),
            TemplateError::Unbalanced => write!(f, "unbalanced `{{` or `}}`"),
        }
    }
}

impl Template {
    /// Compiles `text`, resolving capture names with `resolve`.
    pub fn compile(
        text: &str,
        resolve: impl Fn(&str) -> Option<usize>,
    ) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            let (literal, tail) = rest.split_at(open);
            if tail.starts_with('}') {
                return Err(TemplateError::Unbalanced);
            }
            let close = tail.find('}').ok_or(TemplateError::Unbalanced)?;
            let name = tail.get(1..close).ok_or(TemplateError::Unbalanced)?;
            if name.contains('{') {
                return Err(TemplateError::Unbalanced);
            }
            let index =
                resolve(name).ok_or_else(|| TemplateError::UnknownCapture(name.to_string()))?;
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_string()));
            }
            parts.push(Part::Capture(index));
            rest = tail.get(close + 1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Whether the template, filled with `captures`, equals `candidate` (no allocation).
    pub fn matches(&self, candidate: &str, captures: &[&str]) -> bool {
        let mut rest = candidate;
        for part in &self.parts {
            let piece = match part {
                Part::Literal(text) => text.as_str(),
                Part::Capture(i) => match captures.get(*i) {
                    Some(value) => value,
                    None => return false,
                },
            };
            match rest.strip_prefix(piece) {
                Some(tail) => rest = tail,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The template filled with `captures` (for error answers and records).
    pub fn render(&self, captures: &[&str]) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Capture(i) => out.push_str(captures.get(*i).copied().unwrap_or_default()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(name: &str) -> Option<usize> {
        ["tenant", "id"].iter().position(|n| *n == name)
    }

    #[test]
    fn renders_and_matches() {
        let t = Template::compile("orders:write:{tenant}", resolve).unwrap();
        assert!(t.matches("orders:write:acme", &["acme", "7"]));
        assert!(!t.matches("orders:write:acme2", &["acme", "7"]));
        assert!(!t.matches("orders:write:", &["acme", "7"]));
        assert_eq!(t.render(&["acme"]), "orders:write:acme");
        let t = Template::compile("{tenant}/{id}", resolve).unwrap();
        assert!(t.matches("acme/7", &["acme", "7"]));
        let plain = Template::compile("orders:read", resolve).unwrap();
        assert!(plain.matches("orders:read", &[]));
    }

    #[test]
    fn unknown_and_unbalanced_are_refused() {
        assert_eq!(
            Template::compile("orders:write:{tennant}", resolve),
            Err(TemplateError::UnknownCapture("tennant".into()))
        );
        assert_eq!(
            Template::compile("a{b", resolve),
            Err(TemplateError::Unbalanced)
        );
        assert_eq!(
            Template::compile("a}b", resolve),
            Err(TemplateError::Unbalanced)
        );
        assert_eq!(
            TemplateError::UnknownCapture("tennant".into()).to_string(),
            "unknown capture {tennant}"
        );
    }
}
