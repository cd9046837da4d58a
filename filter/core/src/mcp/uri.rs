//! Resource URI templates (`crm://customers/{tenant}/**`), matched like route paths.
//!
//! A template is a literal origin, `scheme://authority` (no placeholders), followed by a path
//! template compiled as a route path ([`PathPattern`]: `{name}` captures one segment, `*` any
//! one segment, a final `**` the rest). A resource URI is split the same way; its path is
//! cleaned like a request path (dot segments, escapes of unreserved characters and other
//! ambiguous forms match nothing; the query is not matched), then matched. A URI without
//! `://` (`urn:...`) matches a template only when the template is the same literal.

use crate::routes::{clean_path, PathPattern, PathPatternError};
use std::fmt;

/// A compiled resource URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriPattern {
    /// `scheme://authority`, compared exactly (scheme and host case-insensitively).
    origin: String,
    /// The path template, `None` for a URI with no `://` (a literal).
    path: Option<PathPattern>,
    /// The template as configured.
    source: String,
}

/// Why a resource URI template is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriPatternError {
    /// Placeholders or `*` in the scheme or authority.
    PlaceholderInOrigin,
    /// The path part is not a valid path template.
    Path(PathPatternError),
    /// An empty template.
    Empty,
}

impl fmt::Display for UriPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriPatternError::PlaceholderInOrigin => write!(
                f,
                "the scheme and authority (`scheme://host`) must be literal: placeholders and `*` belong to the path"
            ),
            UriPatternError::Path(e) => write!(f, "in the path part: {e}"),
            UriPatternError::Empty => write!(f, "must not be empty"),
        }
    }
}

/// Splits `uri` into its origin (`scheme://authority`) and path (`/...`, `/` when none);
/// `None` when it has no `://`.
fn split(uri: &str) -> Option<(&str, &str)> {
    let after_scheme = uri.find("://")? + 3;
    let rest = uri.get(after_scheme..)?;
    let path_at = rest.find('/').map_or(uri.len(), |i| after_scheme + i);
    let origin = uri.get(..path_at)?;
    let path = uri.get(path_at..).filter(|p| !p.is_empty()).unwrap_or("/");
    Some((origin, path))
}

impl UriPattern {
    /// Compiles a template.
    pub fn compile(template: &str) -> Result<UriPattern, UriPatternError> {
        if template.is_empty() {
            return Err(UriPatternError::Empty);
        }
        let (origin, path) = match split(template) {
            Some((origin, path)) => {
                let path = PathPattern::compile(path).map_err(UriPatternError::Path)?;
                (origin, Some(path))
            }
            None => (template, None),
        };
        if origin.contains(['{', '}', '*']) {
            return Err(UriPatternError::PlaceholderInOrigin);
        }
        Ok(UriPattern {
            origin: origin.to_string(),
            path,
            source: template.to_string(),
        })
    }

    /// The template as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The capture names, in order (a rule's templates resolve `{name}` against them).
    pub fn capture_names(&self) -> &[String] {
        self.path.as_ref().map_or(&[], |p| p.capture_names())
    }

    /// The index of capture `name`.
    pub fn capture_index(&self, name: &str) -> Option<usize> {
        self.path.as_ref().and_then(|p| p.capture_index(name))
    }

    /// Whether the template ends in `**` (it stands for a whole tree of resources).
    pub fn has_rest(&self) -> bool {
        self.path.as_ref().is_some_and(PathPattern::has_rest)
    }

    /// Matches a resource URI, returning the captured segments (owned: the cleaned path may
    /// differ from the URI's text).
    pub fn matches(&self, uri: &str) -> Option<Vec<String>> {
        match (&self.path, split(uri)) {
            (None, None) => (uri == self.origin).then(Vec::new),
            (Some(pattern), Some((origin, path))) => {
                if !origin_equal(origin, &self.origin) || path.contains(['?', '#']) {
                    return None;
                }
                let path = clean_path(path).ok()?;
                let captures = pattern.matches(&path)?;
                Some(captures.into_iter().map(str::to_string).collect())
            }
            _ => None,
        }
    }
}

/// Scheme and host compare case-insensitively (RFC 3986 6.2.2.1); userinfo never matches.
fn origin_equal(uri: &str, template: &str) -> bool {
    !uri.contains('@') && uri.eq_ignore_ascii_case(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_and_rest() {
        let p = UriPattern::compile("crm://customers/{tenant}/**").unwrap();
        assert_eq!(p.capture_names(), ["tenant"]);
        assert!(p.has_rest());
        assert_eq!(
            p.matches("crm://customers/acme/42"),
            Some(vec!["acme".to_string()])
        );
        assert_eq!(
            p.matches("crm://customers/acme"),
            Some(vec!["acme".to_string()])
        );
        assert_eq!(
            p.matches("CRM://Customers/acme/1"),
            Some(vec!["acme".to_string()])
        );
        assert_eq!(p.matches("crm://customers/"), None);
        assert_eq!(p.matches("crm://other/acme/1"), None);
        assert_eq!(p.matches("crm://customersX/acme/1"), None);
        assert_eq!(p.matches("crm://u@customers/acme/1"), None);
        let exact = UriPattern::compile("file:///reports/{name}").unwrap();
        assert_eq!(
            exact.matches("file:///reports/q3"),
            Some(vec!["q3".to_string()])
        );
        assert_eq!(exact.matches("file:///reports/q3/x"), None);
        let urn = UriPattern::compile("urn:crm:schema").unwrap();
        assert_eq!(urn.matches("urn:crm:schema"), Some(vec![]));
        assert_eq!(urn.matches("urn:crm:schema2"), None);
    }

    #[test]
    fn tricks_match_nothing() {
        let p = UriPattern::compile("crm://customers/{tenant}/**").unwrap();
        for uri in [
            "crm://customers/acme/../other/1",
            "crm://customers/./acme",
            "crm://customers/%61cme/1",
            "crm://customers/acme/1?tenant=x",
            "crm://customers/acme#x",
            "crm://customers//acme",
        ] {
            assert_eq!(p.matches(uri), None, "{uri}");
        }
    }

    #[test]
    fn a_capture_is_compared_as_sent_escaped() {
        let p = UriPattern::compile("crm://customers/{tenant}/**").unwrap();
        // An escape that stays (not an unreserved character) is captured as it was sent.
        assert_eq!(
            p.matches("crm://customers/caf%C3%A9/1"),
            Some(vec!["caf%C3%A9".to_string()])
        );
        // An escaped `/` is ambiguous (a separator or not?): it matches nothing.
        assert_eq!(p.matches("crm://customers/acme%2Fx/1"), None);
    }

    #[test]
    fn refused_templates() {
        assert_eq!(UriPattern::compile(""), Err(UriPatternError::Empty));
        assert_eq!(
            UriPattern::compile("crm://{host}/x"),
            Err(UriPatternError::PlaceholderInOrigin)
        );
        assert!(matches!(
            UriPattern::compile("crm://c/**/x"),
            Err(UriPatternError::Path(_))
        ));
    }
}
