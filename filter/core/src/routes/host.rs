//! `:authority` patterns (exact names, `*.suffix` wildcards, optional port) and the one canonical
//! form an authority is matched in: lowercase, one trailing dot removed (`admin.example.com.` is
//! the same DNS name as `admin.example.com`), the port split off, IPv6 literals in brackets.
//! An authority that is not `host[:port]` (a second port, userinfo, empty labels, a port that is
//! not a number up to 65535) is refused before any route is tried.

use std::borrow::Cow;

/// A request's `:authority` in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authority<'a> {
    /// The host: lowercase, without the trailing dot; an IPv6 literal keeps its brackets.
    pub host: Cow<'a, str>,
    /// The port as sent (digits only), if any.
    pub port: Option<&'a str>,
}

/// Why an `:authority` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityError {
    /// Userinfo (`user@host`), which HTTP forbids in `:authority` (RFC 9110 section 4.2.4).
    Userinfo,
    /// More than one `:` outside brackets, or a port that is empty, not digits, or over 65535.
    BadPort,
    /// An empty host, an empty label (`a..b`, `a..`), or a character a host name cannot hold.
    BadHost,
    /// An IPv6 literal that is not closed or holds other than hex digits, `:` and `.`.
    BadIpLiteral,
}

impl std::fmt::Display for AuthorityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthorityError::Userinfo => "userinfo (`user@`) is not allowed",
            AuthorityError::BadPort => "the port is not one number from 0 to 65535",
            AuthorityError::BadHost => "the host has an empty label or an invalid character",
            AuthorityError::BadIpLiteral => "the IPv6 literal is malformed",
        })
    }
}

/// Parses and canonicalises an `:authority`. An empty authority is a valid one with an empty
/// host (it matches only routes without `hosts` or with `*`).
pub fn canonical_authority(raw: &str) -> Result<Authority<'_>, AuthorityError> {
    if raw.contains('@') {
        return Err(AuthorityError::Userinfo);
    }
    let (host, port) = if let Some(literal) = raw.strip_prefix('[') {
        let end = literal.find(']').ok_or(AuthorityError::BadIpLiteral)?;
        let (inner, after) = literal.split_at(end);
        let valid = !inner.is_empty()
            && inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !valid {
            return Err(AuthorityError::BadIpLiteral);
        }
        let host = raw.get(..end + 2).ok_or(AuthorityError::BadIpLiteral)?;
        let port = match after.get(1..).unwrap_or_default() {
            "" => None,
            rest => Some(rest.strip_prefix(':').ok_or(AuthorityError::BadPort)?),
        };
        (host, port)
    } else {
        match raw.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (raw, None),
        }
    };
    if let Some(port) = port {
        let digits =
            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        if !digits || !port.parse::<u32>().is_ok_and(|p| p <= 65535) {
            return Err(AuthorityError::BadPort);
        }
    }
    if host.starts_with('[') {
        return Ok(Authority {
            host: lowercase(host),
            port,
        });
    }
    if raw.is_empty() {
        return Ok(Authority {
            host: Cow::Borrowed(""),
            port: None,
        });
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    };
    if !name.split('.').all(label_ok) {
        return Err(AuthorityError::BadHost);
    }
    Ok(Authority {
        host: lowercase(name),
        port,
    })
}

fn lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// A compiled host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exact host (canonical: lowercase, no trailing dot), with `:port` if the pattern names one.
    Exact(String),
    /// `*.example.com`: any host ending in `.example.com` (lowercase, starting with the dot).
    Suffix(String),
    /// `*`: any host.
    Any,
}

impl HostPattern {
    /// Compiles a pattern; `None` if it is malformed.
    pub fn compile(pattern: &str) -> Option<HostPattern> {
        if pattern == "*" {
            return Some(HostPattern::Any);
        }
        if pattern.is_empty() {
            return None;
        }
        if let Some(suffix) = pattern.strip_prefix("*.") {
            let canonical = canonical_authority(suffix).ok()?;
            if canonical.port.is_some() || canonical.host.starts_with('[') {
                return None;
            }
            return Some(HostPattern::Suffix(format!(".{}", canonical.host)));
        }
        let canonical = canonical_authority(pattern).ok()?;
        if canonical.host.is_empty() {
            return None;
        }
        Some(HostPattern::Exact(match canonical.port {
            Some(port) => format!("{}:{port}", canonical.host),
            None => canonical.host.into_owned(),
        }))
    }

    /// Whether a canonical authority matches.
    pub fn matches(&self, authority: &Authority<'_>) -> bool {
        let host = authority.host.as_ref();
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(pattern) => match pattern.strip_prefix(host) {
                Some("") => true,
                Some(tail) => tail
                    .strip_prefix(':')
                    .is_some_and(|port| Some(port) == authority.port),
                None => false,
            },
            HostPattern::Suffix(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
        }
    }

    /// Whether every authority `other` matches is matched by `self` too (exact for these three
    /// shapes): `*` covers everything; `*.example` covers longer suffixes (`*.a.example`) and
    /// names under it with any port; a name without a port covers the same name with one, a name
    /// with a port only itself. Nothing but `*` covers `*`, no exact name covers a suffix.
    /// `lint` asks it to find unreachable routes (WA006).
    pub fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Any, _) => true,
            (_, HostPattern::Any) | (HostPattern::Exact(_), HostPattern::Suffix(_)) => false,
            (HostPattern::Exact(mine), HostPattern::Exact(theirs)) => {
                let (host, port) = split_port(mine);
                let (other_host, other_port) = split_port(theirs);
                host == other_host && (port.is_none() || port == other_port)
            }
            (HostPattern::Suffix(mine), HostPattern::Suffix(theirs)) => {
                theirs.ends_with(mine.as_str())
            }
            (HostPattern::Suffix(suffix), HostPattern::Exact(theirs)) => {
                let (host, _) = split_port(theirs);
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }
    }

    /// Whether an authority as sent matches (canonicalised first; a malformed one never does).
    pub fn matches_raw(&self, authority: &str) -> bool {
        canonical_authority(authority).is_ok_and(|a| self.matches(&a))
    }
}

/// An exact pattern (`name`, `name:port`, `[v6]`, `[v6]:port`) as host and port.
fn split_port(exact: &str) -> (&str, Option<&str>) {
    let after_literal = exact.find(']').map_or(0, |end| end + 1);
    match exact.get(after_literal..).and_then(|tail| tail.rfind(':')) {
        Some(colon) => {
            let at = after_literal + colon;
            (exact.get(..at).unwrap_or(exact), exact.get(at + 1..))
        }
        None => (exact, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(raw: &str) -> (String, Option<&str>) {
        let a = canonical_authority(raw).unwrap();
        (a.host.into_owned(), a.port)
    }

    #[test]
    fn exact_and_wildcard_hosts() {
        let exact = HostPattern::compile("API.example.com").unwrap();
        assert!(exact.matches_raw("api.example.com"));
        assert!(exact.matches_raw("api.example.com:8443"));
        assert!(!exact.matches_raw("evil.api.example.com"));
        let with_port = HostPattern::compile("api:8080").unwrap();
        assert!(with_port.matches_raw("api:8080"));
        assert!(!with_port.matches_raw("api:9090"));
        assert!(!with_port.matches_raw("api"));
        let suffix = HostPattern::compile("*.example.com").unwrap();
        assert!(suffix.matches_raw("a.example.com:80"));
        assert!(!suffix.matches_raw("example.com"));
        assert!(!suffix.matches_raw("aexample.com"));
        assert!(HostPattern::compile("*").unwrap().matches_raw("anything"));
        assert!(HostPattern::compile("a*.b").is_none());
        assert!(HostPattern::compile("").is_none());
        assert!(HostPattern::compile("a/b").is_none());
        assert!(HostPattern::compile("x@a").is_none());
        assert!(HostPattern::compile("[::1]:80")
            .unwrap()
            .matches_raw("[::1]:80"));
        assert!(HostPattern::compile("[::1]")
            .unwrap()
            .matches_raw("[::1]:80"));
    }

    #[test]
    fn authorities_are_canonicalised() {
        assert_eq!(
            host("Admin.Example.COM"),
            ("admin.example.com".into(), None)
        );
        assert_eq!(
            host("admin.example.com."),
            ("admin.example.com".into(), None)
        );
        assert_eq!(
            host("admin.example.com.:443"),
            ("admin.example.com".into(), Some("443"))
        );
        assert_eq!(host("[::1]:8080"), ("[::1]".into(), Some("8080")));
        assert_eq!(host("[FE80::1]"), ("[fe80::1]".into(), None));
        assert_eq!(host(""), (String::new(), None));
        let exact = HostPattern::compile("admin.example.com").unwrap();
        let suffix = HostPattern::compile("*.internal.example.com").unwrap();
        for variant in [
            "admin.example.com.",
            "admin.example.com.:443",
            "ADMIN.example.com",
        ] {
            assert!(exact.matches_raw(variant), "{variant}");
        }
        assert!(suffix.matches_raw("a.internal.example.com."));
        assert!(suffix.matches_raw("A.Internal.Example.Com.:8443"));
        // A pattern with a trailing dot is the same name.
        assert!(HostPattern::compile("admin.example.com.")
            .unwrap()
            .matches_raw("admin.example.com"));
    }

    #[test]
    fn malformed_authorities_are_refused() {
        for (raw, error) in [
            ("admin.example.com:443:1", AuthorityError::BadPort),
            ("x@admin.example.com", AuthorityError::Userinfo),
            ("admin.example.com..", AuthorityError::BadHost),
            ("admin..example.com", AuthorityError::BadHost),
            (".admin.example.com", AuthorityError::BadHost),
            (":443", AuthorityError::BadHost),
            (".", AuthorityError::BadHost),
            ("admin.example.com:", AuthorityError::BadPort),
            ("admin.example.com:99999", AuthorityError::BadPort),
            ("admin.example.com:abc", AuthorityError::BadPort),
            ("admin.example.com:+80", AuthorityError::BadPort),
            ("[::1", AuthorityError::BadIpLiteral),
            ("[zz]", AuthorityError::BadIpLiteral),
            ("[]", AuthorityError::BadIpLiteral),
            ("[::1]x", AuthorityError::BadPort),
            ("a b", AuthorityError::BadHost),
            ("a%41", AuthorityError::BadHost),
            ("a/b", AuthorityError::BadHost),
        ] {
            assert_eq!(canonical_authority(raw), Err(error), "{raw}");
        }
        assert!(!HostPattern::Any.matches_raw("x@y"));
    }

    #[test]
    fn coverage() {
        let h = |s: &str| HostPattern::compile(s).unwrap();
        let covers = |a: &str, b: &str| h(a).covers(&h(b));
        assert!(covers("*", "a.example"));
        assert!(covers("*", "*"));
        assert!(!covers("*.example", "*"));
        assert!(covers("a.example", "a.example:8080"));
        assert!(covers("A.example.", "a.example"));
        assert!(!covers("a.example:8080", "a.example"));
        assert!(!covers("a.example:8080", "a.example:9090"));
        assert!(covers("*.example", "*.a.example"));
        assert!(covers("*.example", "a.example:80"));
        assert!(!covers("*.example", "example"));
        assert!(!covers("*.a.example", "*.example"));
        assert!(!covers("a.example", "*.example"));
        assert!(covers("[::1]", "[::1]:80"));
        assert!(!covers("[::1]:80", "[::1]"));
        assert!(!covers("*.example", "[::1]"));
        assert_eq!(split_port("[::1]:80"), ("[::1]", Some("80")));
        assert_eq!(split_port("[::1]"), ("[::1]", None));
        assert_eq!(split_port("api:8080"), ("api", Some("8080")));
    }

    /// Where `covers` says yes, every authority of a sample set the second pattern matches, the
    /// first matches too.
    #[test]
    fn coverage_never_claims_what_matching_denies() {
        let patterns = [
            "*",
            "a.example",
            "a.example:80",
            "*.example",
            "*.a.example",
            "b.a.example",
            "b.a.example:8080",
            "[::1]",
            "[::1]:80",
            "example",
        ];
        let authorities = [
            "",
            "a.example",
            "a.example:80",
            "a.example:81",
            "b.a.example",
            "b.a.example:8080",
            "c.b.a.example",
            "example",
            "x.example",
            "[::1]",
            "[::1]:80",
            "[::1]:81",
        ];
        for a in patterns {
            for b in patterns {
                let (pa, pb) = (
                    HostPattern::compile(a).unwrap(),
                    HostPattern::compile(b).unwrap(),
                );
                if !pa.covers(&pb) {
                    continue;
                }
                for authority in authorities {
                    if pb.matches_raw(authority) {
                        assert!(
                            pa.matches_raw(authority),
                            "{a} covers {b} but not {authority}"
                        );
                    }
                }
            }
        }
    }
}
