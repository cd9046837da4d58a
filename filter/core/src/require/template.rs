//! String templates with placeholders, compiled once: `{name}` (a path capture),
//! `{header.<name>}` (a request header), `{source.address}` (the downstream address) and, in
//! `mcp` rules only, `{claim.<path>}` (a string claim of the verified access token).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Capture(usize),
    Header(String),
    SourceAddress,
    /// A dotted path into the access token's claims.
    Claim(Vec<String>),
}

/// A compiled template such as `orders:write:{tenant}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    /// The text as configured, for messages (`lint`, traces).
    source: String,
}

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{name}` names no capture of the route's path (nor `header.*` / `source.address`).
    UnknownCapture(String),
    /// An unbalanced `{` or `}`.
    Unbalanced,
    /// `{claim.NAME}` where no verified token is at hand (outside `mcp` rules).
    ClaimUnavailable(String),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::UnknownCapture(name) => write!(f, "unknown capture {{{name}}}"),
            TemplateError::Unbalanced => write!(f, "unbalanced `{{` or `}}`"),
            TemplateError::ClaimUnavailable(name) => write!(
                f,
                "{{{name}}} reads a token claim, which only `mcp` rules can (they are judged after the token)"
            ),
        }
    }
}

/// The values placeholders are filled with, for one request.
pub trait Bindings {
    /// The path capture at `index`.
    fn capture(&self, index: usize) -> Option<&str>;
    /// The first value of a request header (lowercase name).
    fn header(&self, _name: &str) -> Option<&str> {
        None
    }
    /// The downstream (client) address, as Envoy's `source.address`.
    fn source_address(&self) -> Option<&str> {
        None
    }
    /// A string claim of the verified access token, by dotted path (`mcp` rules only).
    fn claim(&self, _path: &[String]) -> Option<&str> {
        None
    }
}

impl Bindings for [&str] {
    fn capture(&self, index: usize) -> Option<&str> {
        self.get(index).copied()
    }
}

impl Bindings for Vec<&str> {
    fn capture(&self, index: usize) -> Option<&str> {
        self.get(index).copied()
    }
}

impl Template {
    /// Compiles `text`, resolving capture names with `resolve` (`{claim.*}` is refused).
    pub fn compile(
        text: &str,
        resolve: impl Fn(&str) -> Option<usize>,
    ) -> Result<Template, TemplateError> {
        Self::compile_in(text, resolve, false)
    }

    /// Compiles `text` for an `mcp` rule, where `{claim.<path>}` reads the verified token.
    pub fn compile_with_claims(
        text: &str,
        resolve: impl Fn(&str) -> Option<usize>,
    ) -> Result<Template, TemplateError> {
        Self::compile_in(text, resolve, true)
    }

    fn compile_in(
        text: &str,
        resolve: impl Fn(&str) -> Option<usize>,
        allow_claims: bool,
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
            let part = if let Some(header) = name.strip_prefix("header.").filter(|h| !h.is_empty())
            {
                Part::Header(header.to_ascii_lowercase())
            } else if name == "source.address" {
                Part::SourceAddress
            } else if let Some(claim) = name.strip_prefix("claim.").filter(|c| !c.is_empty()) {
                if !allow_claims {
                    return Err(TemplateError::ClaimUnavailable(name.to_string()));
                }
                Part::Claim(claim.split('.').map(str::to_string).collect())
            } else {
                Part::Capture(
                    resolve(name).ok_or_else(|| TemplateError::UnknownCapture(name.to_string()))?,
                )
            };
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_string()));
            }
            parts.push(part);
            rest = tail.get(close + 1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template {
            parts,
            source: text.to_string(),
        })
    }

    /// The template as configured (`orders:write:{tenant}`), for messages.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether some request can fill the template so that it equals `concrete`: a literal part
    /// must appear as written; a path capture and `{source.address}` stand for one non-empty
    /// text without `/` (a path segment, an address); a `{header.NAME}` for any text. `lint`
    /// asks it of granted scopes (WA008, WA009). Never says no when some request says yes.
    pub fn can_match(&self, concrete: &str) -> bool {
        // The positions of `concrete` the parts read so far can end at, ascending.
        let mut ends: Vec<usize> = vec![0];
        for part in &self.parts {
            let mut next: Vec<usize> = Vec::new();
            for &start in &ends {
                let Some(tail) = concrete.get(start..) else {
                    continue;
                };
                match part {
                    Part::Literal(text) => {
                        if tail.starts_with(text.as_str()) {
                            next.push(start + text.len());
                        }
                    }
                    Part::Capture(_) | Part::SourceAddress => {
                        let segment = tail.find('/').unwrap_or(tail.len());
                        next.extend(
                            (1..=segment)
                                .filter(|n| tail.is_char_boundary(*n))
                                .map(|n| start + n),
                        );
                    }
                    Part::Header(_) | Part::Claim(_) => next.extend(
                        (0..=tail.len())
                            .filter(|n| tail.is_char_boundary(*n))
                            .map(|n| start + n),
                    ),
                }
            }
            next.sort_unstable();
            next.dedup();
            ends = next;
        }
        ends.contains(&concrete.len())
    }

    /// The request headers this template reads (lowercase names).
    pub fn headers(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Header(name) => Some(name.as_str()),
            _ => None,
        })
    }

    fn piece<'b, B: Bindings + ?Sized>(part: &'b Part, bindings: &'b B) -> Option<&'b str> {
        match part {
            Part::Literal(text) => Some(text.as_str()),
            Part::Capture(i) => bindings.capture(*i),
            Part::Header(name) => bindings.header(name),
            Part::SourceAddress => bindings.source_address(),
            Part::Claim(path) => bindings.claim(path),
        }
    }

    /// Whether the filled template equals `candidate` (no allocation). A placeholder with no
    /// value (a missing header) never matches.
    pub fn matches<B: Bindings + ?Sized>(&self, candidate: &str, bindings: &B) -> bool {
        let mut rest = candidate;
        for part in &self.parts {
            let Some(piece) = Self::piece(part, bindings) else {
                return false;
            };
            match rest.strip_prefix(piece) {
                Some(tail) => rest = tail,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The filled template (for error answers and records); missing values are empty.
    pub fn render<B: Bindings + ?Sized>(&self, bindings: &B) -> String {
        let mut out = String::new();
        for part in &self.parts {
            out.push_str(Self::piece(part, bindings).unwrap_or_default());
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
        assert!(t.matches("orders:write:acme", &["acme", "7"][..]));
        assert!(!t.matches("orders:write:acme2", &["acme", "7"][..]));
        assert!(!t.matches("orders:write:", &["acme", "7"][..]));
        assert_eq!(t.render(&["acme"][..]), "orders:write:acme");
        let t = Template::compile("{tenant}/{id}", resolve).unwrap();
        assert!(t.matches("acme/7", &["acme", "7"][..]));
        let plain = Template::compile("orders:read", resolve).unwrap();
        assert!(plain.matches("orders:read", &[][..]));
    }

    struct Request;
    impl Bindings for Request {
        fn capture(&self, _: usize) -> Option<&str> {
            None
        }
        fn header(&self, name: &str) -> Option<&str> {
            (name == "x-tenant").then_some("acme")
        }
        fn source_address(&self) -> Option<&str> {
            Some("10.0.0.7:5555")
        }
    }

    #[test]
    fn headers_and_source_address() {
        let t = Template::compile("{header.X-Tenant}", resolve).unwrap();
        assert!(t.matches("acme", &Request));
        assert!(!t.matches("globex", &Request));
        assert_eq!(t.headers().collect::<Vec<_>>(), vec!["x-tenant"]);
        let missing = Template::compile("{header.x-other}", resolve).unwrap();
        assert!(!missing.matches("", &Request));
        let source = Template::compile("{source.address}", resolve).unwrap();
        assert!(source.matches("10.0.0.7:5555", &Request));
        assert_eq!(
            Template::compile("{header.}", resolve),
            Err(TemplateError::UnknownCapture("header.".into()))
        );
    }

    #[test]
    fn keeps_its_source_text() {
        let t = Template::compile("orders:write:{tenant}", resolve).unwrap();
        assert_eq!(t.as_str(), "orders:write:{tenant}");
        let h = Template::compile("{header.X-Tenant}", resolve).unwrap();
        assert_eq!(h.as_str(), "{header.X-Tenant}");
    }

    #[test]
    fn can_match_concrete_values() {
        let t = |text: &str| Template::compile(text, resolve).unwrap();
        assert!(t("orders:write:{tenant}").can_match("orders:write:acme"));
        assert!(!t("orders:write:{tenant}").can_match("orders:write:"));
        assert!(!t("orders:write:{tenant}").can_match("orders:write:a/b"));
        assert!(!t("orders:write:{tenant}").can_match("orders:read:acme"));
        assert!(t("{tenant}:{id}").can_match("x:y"));
        assert!(
            t("{tenant}:{id}").can_match("a:b:c"),
            "a capture may hold `:`"
        );
        assert!(!t("{tenant}:{id}").can_match("x:"));
        assert!(t("orders:read").can_match("orders:read"));
        assert!(!t("orders:read").can_match("orders:write"));
        assert!(!t("orders:read").can_match("orders:read2"));
        // A header value may be empty and may hold `/`; the source address may not be empty.
        assert!(t("svc:{header.x-tenant}").can_match("svc:"));
        assert!(t("svc:{header.x-tenant}").can_match("svc:a/b"));
        assert!(!t("ip:{source.address}").can_match("ip:"));
        assert!(t("ip:{source.address}").can_match("ip:10.0.0.7:5555"));
        // Multibyte text: positions stay on character boundaries.
        assert!(t("caf\u{e9}:{id}").can_match("caf\u{e9}:\u{e9}\u{e9}"));
        // What `can_match` accepts, some request fills: the engine's own `matches` agrees.
        let filled = t("orders:write:{tenant}");
        assert!(filled.matches("orders:write:acme", &["acme"][..]));
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
