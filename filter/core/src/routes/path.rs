//! Path templates (`/tenants/{tenant}/orders/{id}`, `*`, final `**`), matched on the canonical
//! request path of [`super::clean`] (re-exported here: `clean_path`, `without_trailing_slash`).

pub use super::clean::{clean_path, without_trailing_slash, PathError};
use super::clean::{uppercase_escapes, validate_segment};
use std::fmt;

/// One compiled segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Must equal this text (case-sensitive).
    Literal(String),
    /// Any one non-empty segment, captured at this index.
    Capture(usize),
    /// Any one non-empty segment.
    Star,
}

/// A compiled path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segments: Vec<Segment>,
    /// A final `**`: zero or more further segments.
    rest: bool,
    captures: Vec<String>,
    /// The template as configured, for messages.
    source: String,
}

/// Why a path template is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPatternError {
    /// It does not start with `/`.
    NotAbsolute,
    /// `**` anywhere but as the last segment.
    RestNotLast,
    /// `{` `}` `*` mixed into a literal, or an invalid capture name.
    BadSegment(String),
    /// The same capture name twice.
    DuplicateCapture(String),
    /// A literal segment that requests could never carry (`.`, `..`, empty, `%2F`...).
    UnmatchableSegment(String),
}

impl fmt::Display for PathPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathPatternError::NotAbsolute => write!(f, "must start with `/`"),
            PathPatternError::RestNotLast => write!(f, "`**` may only be the last segment"),
            PathPatternError::BadSegment(s) => write!(
                f,
                "segment `{s}` must be a literal, `{{name}}`, `*` or a final `**`"
            ),
            PathPatternError::DuplicateCapture(name) => {
                write!(f, "capture {{{name}}} is used twice")
            }
            PathPatternError::UnmatchableSegment(s) => {
                write!(f, "segment `{s}` can never match a valid request path")
            }
        }
    }
}

fn is_capture_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl PathPattern {
    /// Compiles a template.
    pub fn compile(template: &str) -> Result<PathPattern, PathPatternError> {
        let body = template
            .strip_prefix('/')
            .ok_or(PathPatternError::NotAbsolute)?;
        let mut pattern = PathPattern {
            segments: Vec::new(),
            rest: false,
            captures: Vec::new(),
            source: template.to_string(),
        };
        if body.is_empty() {
            return Ok(pattern); // "/" matches only "/".
        }
        let raw: Vec<&str> = body.split('/').collect();
        let last = raw.len().saturating_sub(1);
        for (i, segment) in raw.iter().enumerate() {
            if *segment == "**" {
                if i != last {
                    return Err(PathPatternError::RestNotLast);
                }
                pattern.rest = true;
            } else if *segment == "*" {
                pattern.segments.push(Segment::Star);
            } else if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if !is_capture_name(name) {
                    return Err(PathPatternError::BadSegment(segment.to_string()));
                }
                if pattern.captures.iter().any(|c| c == name) {
                    return Err(PathPatternError::DuplicateCapture(name.to_string()));
                }
                pattern
                    .segments
                    .push(Segment::Capture(pattern.captures.len()));
                pattern.captures.push(name.to_string());
            } else if segment.contains(['{', '}', '*']) {
                return Err(PathPatternError::BadSegment(segment.to_string()));
            } else if (segment.is_empty() && i != last) || validate_segment(segment).is_err() {
                return Err(PathPatternError::UnmatchableSegment(segment.to_string()));
            } else {
                pattern
                    .segments
                    .push(Segment::Literal(uppercase_escapes(segment).into_owned()));
            }
        }
        Ok(pattern)
    }

    /// The template as configured (`/tenants/{tenant}/orders`), for messages.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether every clean path `other` matches is matched by `self` too. Sound, not complete:
    /// a `true` always holds, a `false` may be a coverage too subtle to see. Segment by segment,
    /// a literal covers only the same literal, `{x}` and `*` any non-empty segment (not an empty
    /// final one, as in `/a/`); past `self`'s segments, only a final `**` covers what is left.
    /// `lint` asks it to find unreachable routes (WA006).
    pub fn covers(&self, other: &PathPattern) -> bool {
        if other.segments.len() < self.segments.len() {
            return false; // `other` matches shorter paths (or, with `**`, paths of any length).
        }
        let each = self
            .segments
            .iter()
            .zip(&other.segments)
            .all(|(mine, theirs)| match (mine, theirs) {
                (Segment::Literal(a), Segment::Literal(b)) => a == b,
                (Segment::Literal(_), Segment::Capture(_) | Segment::Star) => false,
                (Segment::Capture(_) | Segment::Star, Segment::Literal(b)) => !b.is_empty(),
                (Segment::Capture(_) | Segment::Star, Segment::Capture(_) | Segment::Star) => true,
            });
        each && (self.rest || (self.segments.len() == other.segments.len() && !other.rest))
    }

    /// Capture names, in order; the index of a name is its index in the captures of a match.
    pub fn capture_names(&self) -> &[String] {
        &self.captures
    }

    /// Index of a capture by name.
    pub fn capture_index(&self, name: &str) -> Option<usize> {
        self.captures.iter().position(|c| c == name)
    }

    /// Whether the template ends in `**` (it then covers any deeper path).
    pub fn has_rest(&self) -> bool {
        self.rest
    }

    /// A request path this template matches: every capture and `*` filled with `x`, `**` with
    /// nothing. Used to ask the compiled policy where a variant of such a path goes.
    pub fn sample_path(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Capture(_) | Segment::Star => out.push('x'),
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }

    /// Matches a clean path (see [`clean_path`]), returning the captured segments.
    pub fn matches<'p>(&self, path: &'p str) -> Option<Vec<&'p str>> {
        let body = path.strip_prefix('/')?;
        let mut captures = Vec::with_capacity(self.captures.len());
        let mut parts = if body.is_empty() {
            None
        } else {
            Some(body.split('/'))
        };
        for segment in &self.segments {
            let part = parts.as_mut().and_then(Iterator::next)?;
            match segment {
                Segment::Literal(text) => {
                    if part != text {
                        return None;
                    }
                }
                Segment::Capture(_) => {
                    if part.is_empty() {
                        return None;
                    }
                    captures.push(part);
                }
                Segment::Star => {
                    if part.is_empty() {
                        return None;
                    }
                }
            }
        }
        let leftover = parts.as_mut().and_then(Iterator::next).is_some();
        (self.rest || !leftover).then_some(captures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_capture_star_and_rest() {
        let p = PathPattern::compile("/tenants/{tenant}/orders/{id}").unwrap();
        assert_eq!(p.matches("/tenants/acme/orders/7"), Some(vec!["acme", "7"]));
        assert_eq!(p.matches("/tenants/acme/orders"), None);
        assert_eq!(p.matches("/tenants/acme/orders/7/x"), None);
        assert_eq!(p.matches("/tenants//orders/7"), None);
        assert_eq!(p.capture_index("id"), Some(1));

        let star = PathPattern::compile("/a/*/c").unwrap();
        assert_eq!(star.matches("/a/b/c"), Some(vec![]));
        assert_eq!(star.matches("/a/c"), None);

        let rest = PathPattern::compile("/static/**").unwrap();
        assert_eq!(rest.matches("/static"), Some(vec![]));
        assert_eq!(rest.matches("/static/a/b"), Some(vec![]));
        assert_eq!(rest.matches("/staticx"), None);

        let root = PathPattern::compile("/").unwrap();
        assert_eq!(root.matches("/"), Some(vec![]));
        assert_eq!(root.matches("/a"), None);
        let all = PathPattern::compile("/**").unwrap();
        assert_eq!(all.matches("/"), Some(vec![]));
        assert_eq!(all.matches("/x/y"), Some(vec![]));
    }

    #[test]
    fn matching_is_exact_and_case_sensitive() {
        let p = PathPattern::compile("/healthz").unwrap();
        assert!(p.matches("/healthz").is_some());
        assert!(p.matches("/HEALTHZ").is_none());
        assert!(p.matches("/healthz/").is_none());
        assert!(p.matches("/healthzz").is_none());
    }

    #[test]
    fn bad_templates_are_refused() {
        assert_eq!(
            PathPattern::compile("healthz"),
            Err(PathPatternError::NotAbsolute)
        );
        assert_eq!(
            PathPattern::compile("/a/**/b"),
            Err(PathPatternError::RestNotLast)
        );
        assert!(matches!(
            PathPattern::compile("/a{b}"),
            Err(PathPatternError::BadSegment(_))
        ));
        assert!(matches!(
            PathPattern::compile("/{1x}"),
            Err(PathPatternError::BadSegment(_))
        ));
        assert!(matches!(
            PathPattern::compile("/a*"),
            Err(PathPatternError::BadSegment(_))
        ));
        assert_eq!(
            PathPattern::compile("/{a}/{a}"),
            Err(PathPatternError::DuplicateCapture("a".into()))
        );
        assert!(matches!(
            PathPattern::compile("/a/../b"),
            Err(PathPatternError::UnmatchableSegment(_))
        ));
        assert!(matches!(
            PathPattern::compile("/a//b"),
            Err(PathPatternError::UnmatchableSegment(_))
        ));
    }

    #[test]
    fn escape_case_does_not_change_the_match() {
        let p = PathPattern::compile("/caf%c3%a9/{id}").unwrap();
        for path in ["/caf%C3%A9/1", "/caf%c3%a9/1", "/caf%C3%a9/1"] {
            let clean = clean_path(path).unwrap();
            assert_eq!(p.matches(&clean), Some(vec!["1"]), "{path}");
        }
    }

    #[test]
    fn trailing_slash_forms() {
        assert_eq!(without_trailing_slash("/admin/"), Some("/admin"));
        assert_eq!(without_trailing_slash("/a/b/"), Some("/a/b"));
        assert_eq!(without_trailing_slash("/admin"), None);
        assert_eq!(without_trailing_slash("/"), None);
        let p = PathPattern::compile("/tenants/{t}/orders").unwrap();
        assert_eq!(p.sample_path(), "/tenants/x/orders");
        assert!(!p.has_rest());
        assert_eq!(PathPattern::compile("/").unwrap().sample_path(), "/");
        assert_eq!(PathPattern::compile("/**").unwrap().sample_path(), "/");
    }

    #[test]
    fn keeps_its_source_text() {
        let p = PathPattern::compile("/caf%c3%a9/{id}/**").unwrap();
        assert_eq!(p.as_str(), "/caf%c3%a9/{id}/**");
    }

    #[test]
    fn coverage_is_sound() {
        let covers = |a: &str, b: &str| {
            PathPattern::compile(a)
                .unwrap()
                .covers(&PathPattern::compile(b).unwrap())
        };
        assert!(covers("/**", "/a/b"));
        assert!(covers("/a/**", "/a"));
        assert!(covers("/a/{x}", "/a/b"));
        assert!(covers("/a/*", "/a/{id}"));
        assert!(covers("/a/b", "/a/b"));
        assert!(!covers("/a/b", "/a/{x}"));
        assert!(!covers("/a/*", "/a/**"));
        assert!(!covers("/a/*", "/a/"));
        assert!(!covers("/a/*/c", "/a/b"));
        assert!(!covers("/a", "/a/b"));
        assert!(covers("/a/**", "/a/b/**"));
        assert!(!covers("/", "/**"));
        assert!(covers("/", "/"));
        assert!(covers("/**", "/"));
        // Literals compare in canonical form (escape hex case does not matter).
        assert!(covers("/caf%C3%A9", "/caf%c3%a9"));
    }

    /// Every pair of a small set of templates, on every path of up to four segments from a
    /// small alphabet: where `covers` says yes, every path the second matches, the first does.
    #[test]
    fn coverage_never_claims_what_matching_denies() {
        let templates = [
            "/", "/**", "/a", "/a/", "/a/b", "/a/*", "/a/{x}", "/a/**", "/a/*/c", "/*", "/*/**",
            "/{x}/b", "/a/b/**", "/*/*", "/a/*/**",
        ];
        let alphabet = ["a", "b", "c", ""];
        let mut paths = vec!["/".to_string()];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for prefix in &frontier {
                for segment in alphabet {
                    next.push(format!("{prefix}/{segment}"));
                }
            }
            paths.extend(
                next.iter()
                    .filter_map(|p| clean_path(p).ok().map(|c| c.into_owned())),
            );
            frontier = next;
        }
        let mut claimed = 0;
        for a in templates {
            let pa = PathPattern::compile(a).unwrap();
            for b in templates {
                let pb = PathPattern::compile(b).unwrap();
                if !pa.covers(&pb) {
                    continue;
                }
                claimed += 1;
                for path in &paths {
                    if pb.matches(path).is_some() {
                        assert!(pa.matches(path).is_some(), "{a} covers {b} but not {path}");
                    }
                }
            }
        }
        assert!(
            claimed > templates.len(),
            "coverage beyond identity is seen"
        );
    }
}
