//! Subject patterns: `*` stands for one `/`-separated segment, a final `**` for any rest.

/// A compiled subject pattern such as `spiffe://prod.example/ns/*/sa/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPattern {
    segments: Vec<Option<String>>,
    rest: bool,
}

impl SubjectPattern {
    /// Compiles a pattern; `None` if `*` is mixed into a segment or `**` is not last.
    pub fn compile(pattern: &str) -> Option<SubjectPattern> {
        let raw: Vec<&str> = pattern.split('/').collect();
        let last = raw.len().saturating_sub(1);
        let mut out = SubjectPattern {
            segments: Vec::new(),
            rest: false,
        };
        for (i, segment) in raw.iter().enumerate() {
            match *segment {
                "**" if i == last => out.rest = true,
                "*" => out.segments.push(None),
                s if s.contains('*') => return None,
                s => out.segments.push(Some(s.to_string())),
            }
        }
        Some(out)
    }

    /// Whether `subject` matches.
    pub fn matches(&self, subject: &str) -> bool {
        let mut parts = subject.split('/');
        for segment in &self.segments {
            let Some(part) = parts.next() else {
                return false;
            };
            match segment {
                Some(literal) if literal != part => return false,
                None if part.is_empty() => return false,
                _ => {}
            }
        }
        if self.rest {
            // `**` needs at least one non-empty further segment.
            parts.next().is_some_and(|p| !p.is_empty())
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
    fn exact_and_rest() {
        let exact = SubjectPattern::compile("test@example.com").unwrap();
        assert!(exact.matches("test@example.com"));
        assert!(!exact.matches("test@example.co"));
        let rest = SubjectPattern::compile("spiffe://prod.example/ns/agents/**").unwrap();
        assert!(rest.matches("spiffe://prod.example/ns/agents/sa/a"));
        assert!(!rest.matches("spiffe://prod.example/ns/agents"));
        assert!(SubjectPattern::compile("spiffe://x/a*").is_none());
    }
}
