//! Subject patterns: `*` stands for one `/`-separated segment, a final `**` for any rest.
//!
//! A wildcard never stands for a `.` or `..` segment or one holding a control character, and a
//! subject starting with `spiffe://` must be a valid SPIFFE ID (trust domain and path segment
//! rules of `SPIFFE-ID.md`) to match anything, whatever the provider: `spiffe://td/ns/../sa/web`
//! or a segment with a NUL would otherwise pass for `spiffe://td/ns/*/sa/web`.

use crate::identity::spiffe;

/// Why a subject pattern is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectPatternError {
    /// `*` mixed into a segment, or `**` not the last segment.
    Wildcard,
    /// A `spiffe://` pattern that no valid SPIFFE ID can match.
    NotSpiffe(spiffe::SpiffeError),
}

impl std::fmt::Display for SubjectPatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubjectPatternError::Wildcard => {
                f.write_str("`*` must be a whole segment, and `**` only the last one")
            }
            SubjectPatternError::NotSpiffe(error) => {
                write!(f, "no SPIFFE ID can match this pattern: {error}")
            }
        }
    }
}

/// A compiled subject pattern such as `spiffe://prod.example/ns/*/sa/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPattern {
    segments: Vec<Option<String>>,
    rest: bool,
    /// The pattern as configured, for messages.
    source: String,
}

impl SubjectPattern {
    /// Compiles a pattern.
    pub fn compile(pattern: &str) -> Result<SubjectPattern, SubjectPatternError> {
        let raw: Vec<&str> = pattern.split('/').collect();
        let last = raw.len().saturating_sub(1);
        let mut out = SubjectPattern {
            segments: Vec::new(),
            rest: false,
            source: pattern.to_string(),
        };
        for (i, segment) in raw.iter().enumerate() {
            match *segment {
                "**" if i == last => out.rest = true,
                "*" => out.segments.push(None),
                s if s.contains('*') => return Err(SubjectPatternError::Wildcard),
                s => out.segments.push(Some(s.to_string())),
            }
        }
        if pattern.starts_with("spiffe://") {
            let example: Vec<&str> = pattern
                .split('/')
                .map(|s| if s == "*" || s == "**" { "x" } else { s })
                .collect();
            spiffe::parse(&example.join("/")).map_err(SubjectPatternError::NotSpiffe)?;
        }
        Ok(out)
    }

    /// The pattern as configured (`spiffe://prod.example/ns/*/sa/*`), for messages.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `subject` matches.
    pub fn matches(&self, subject: &str) -> bool {
        if subject.starts_with("spiffe://") && spiffe::parse(subject).is_err() {
            return false;
        }
        let wild_ok = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part.bytes().any(|b| b < 0x20 || b == 0x7f)
        };
        let mut parts = subject.split('/');
        for segment in &self.segments {
            let Some(part) = parts.next() else {
                return false;
            };
            match segment {
                Some(literal) if literal != part => return false,
                None if !wild_ok(part) => return false,
                _ => {}
            }
        }
        if self.rest {
            // `**` needs at least one further segment, and stands for none that `*` could not.
            let mut rest = parts.peekable();
            rest.peek().is_some() && rest.all(wild_ok)
        } else {
            parts.next().is_none()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_segments() {
        let p = SubjectPattern::compile("spiffe://prod.example/ns/*/sa/*").unwrap();
        assert!(p.matches("spiffe://prod.example/ns/shop/sa/checkout"));
        assert!(!p.matches("spiffe://prod.example/ns/shop/sa/checkout/x"));
        assert!(!p.matches("spiffe://prod.example/ns//sa/checkout"));
        assert!(!p.matches("spiffe://other.example/ns/shop/sa/checkout"));
        assert!(!p.matches("spiffe://prod.example/ns/shop/sa"));
    }

    #[test]
    fn keeps_its_source_text() {
        let p = SubjectPattern::compile("spiffe://prod.example/ns/*/sa/**").unwrap();
        assert_eq!(p.as_str(), "spiffe://prod.example/ns/*/sa/**");
    }

    #[test]
    fn exact_and_rest() {
        let exact = SubjectPattern::compile("test@example.com").unwrap();
        assert!(exact.matches("test@example.com"));
        assert!(!exact.matches("test@example.co"));
        let rest = SubjectPattern::compile("spiffe://prod.example/ns/agents/**").unwrap();
        assert!(rest.matches("spiffe://prod.example/ns/agents/sa/a"));
        assert!(!rest.matches("spiffe://prod.example/ns/agents"));
        assert_eq!(
            SubjectPattern::compile("spiffe://x/a*"),
            Err(SubjectPatternError::Wildcard)
        );
    }

    #[test]
    fn spiffe_rules_apply_to_spiffe_subjects_always() {
        let p = SubjectPattern::compile("spiffe://prod.example/ns/*/sa/web").unwrap();
        assert!(p.matches("spiffe://prod.example/ns/shop/sa/web"));
        for bad in [
            "spiffe://prod.example/ns/../sa/web",
            "spiffe://prod.example/ns/./sa/web",
            "spiffe://prod.example/ns/a\u{0}b/sa/web",
            "spiffe://prod.example/ns/a%2Fb/sa/web",
            "spiffe://prod.example/ns/a b/sa/web",
        ] {
            assert!(!p.matches(bad), "{bad:?}");
        }
        let rest = SubjectPattern::compile("spiffe://prod.example/ns/**").unwrap();
        assert!(!rest.matches("spiffe://prod.example/ns/../sa/web"));
        assert!(!rest.matches("spiffe://prod.example/ns/a/"));
        // Other subjects: wildcards never stand for dot segments or control characters.
        let uri = SubjectPattern::compile("https://agents.example/*/run").unwrap();
        assert!(uri.matches("https://agents.example/a1/run"));
        assert!(!uri.matches("https://agents.example/../run"));
        assert!(!uri.matches("https://agents.example/a\u{0}/run"));
        let any = SubjectPattern::compile("team/**").unwrap();
        assert!(!any.matches("team/a/../b"));
        // A spiffe pattern that no SPIFFE ID can match is refused.
        assert!(matches!(
            SubjectPattern::compile("spiffe://Prod.example/ns/*"),
            Err(SubjectPatternError::NotSpiffe(_))
        ));
        assert!(SubjectPattern::compile("spiffe://prod.example/ns/*/").is_err());
    }
}
