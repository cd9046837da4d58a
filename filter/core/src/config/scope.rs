//! The captures a requirement's templates may name: the route's path, and in an `mcp`
//! resource rule its URI template first; `{claim.*}` in `mcp` rules only.

use super::error::ConfigErrorKind as Kind;
use crate::mcp::UriPattern;
use crate::require::Template;
use crate::routes::PathPattern;

/// The route's path template as its requirements' templates see it: `{name}` resolves to a
/// capture index, and an unknown name is reported with the template and what it captures.
/// In an `mcp` rule, `{claim.*}` is allowed too, and a `resources[]` rule's URI captures come
/// before the route's.
pub struct PathScope<'a> {
    /// The compiled template.
    pub pattern: &'a PathPattern,
    /// The template as written in `match.path`.
    pub template: &'a str,
    /// A `resources[]` rule's URI template.
    pub uri: Option<&'a UriPattern>,
    /// Whether `{claim.<path>}` may be used (an `mcp` rule, judged after the token).
    pub claims: bool,
}

impl<'a> PathScope<'a> {
    /// The scope of a route's `require`.
    pub fn route(pattern: &'a PathPattern, template: &'a str) -> Self {
        PathScope {
            pattern,
            template,
            uri: None,
            claims: false,
        }
    }

    /// Compiles a scope, claim or authorization-detail template against the captures.
    pub fn compile(&self, text: &str) -> Result<Template, Kind> {
        let offset = self.uri.map_or(0, |u| u.capture_names().len());
        let resolve = |name: &str| {
            self.uri.and_then(|u| u.capture_index(name)).or_else(|| {
                self.pattern
                    .capture_index(name)
                    .map(|i| i.saturating_add(offset))
            })
        };
        let compiled = if self.claims {
            Template::compile_with_claims(text, resolve)
        } else {
            Template::compile(text, resolve)
        };
        compiled.map_err(|e| match self.uri {
            None => Kind::template(e, self.template, self.pattern.capture_names()),
            Some(uri) => {
                let names: Vec<String> = uri
                    .capture_names()
                    .iter()
                    .chain(self.pattern.capture_names())
                    .cloned()
                    .collect();
                Kind::template(e, uri.as_str(), &names)
            }
        })
    }
}
