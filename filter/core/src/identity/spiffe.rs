//! SPIFFE IDs (SPIFFE `SPIFFE-ID.md`): `spiffe://<trust domain>/<path>`, strictly.

use std::fmt;

/// Longest SPIFFE ID accepted, in bytes.
pub const MAX_SPIFFE_ID_BYTES: usize = 2048;

/// A parsed SPIFFE ID, borrowing the text it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpiffeId<'a> {
    /// The trust domain (lowercase letters, digits, `.`, `-`, `_`).
    pub trust_domain: &'a str,
    /// The path, starting with `/` (empty for a trust-domain ID).
    pub path: &'a str,
}

/// Why a string is not a SPIFFE ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpiffeError {
    /// Longer than [`MAX_SPIFFE_ID_BYTES`].
    TooLong,
    /// Not starting with `spiffe://` (the scheme is lowercase).
    Scheme,
    /// An empty trust domain, or characters other than `a-z 0-9 . - _` (no port, no userinfo).
    TrustDomain,
    /// An empty, `.` or `..` segment, a trailing `/`, or characters other than `A-Z a-z 0-9 . - _`
    /// (no query, no fragment, no percent-encoding).
    Path,
}

impl fmt::Display for SpiffeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpiffeError::TooLong => "longer than 2048 bytes",
            SpiffeError::Scheme => "does not start with spiffe://",
            SpiffeError::TrustDomain => "the trust domain is empty or has invalid characters",
            SpiffeError::Path => "the path has an empty, dot or invalid segment",
        })
    }
}

/// Whether `name` is a valid trust domain name.
pub fn is_trust_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

/// Parses a SPIFFE ID.
pub fn parse(id: &str) -> Result<SpiffeId<'_>, SpiffeError> {
    if id.len() > MAX_SPIFFE_ID_BYTES {
        return Err(SpiffeError::TooLong);
    }
    let rest = id.strip_prefix("spiffe://").ok_or(SpiffeError::Scheme)?;
    let (trust_domain, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if !is_trust_domain(trust_domain) {
        return Err(SpiffeError::TrustDomain);
    }
    if !path.is_empty() {
        for segment in path.split('/').skip(1) {
            let valid = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !valid {
                return Err(SpiffeError::Path);
            }
        }
    }
    Ok(SpiffeId { trust_domain, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_from_the_spec() {
        for id in [
            "spiffe://trustdomain/path",
            "spiffe://trustdomain/path1/path2",
            "spiffe://trust-domain.example/ns/default/sa/x_y",
            "spiffe://1.2.3.4/x",
            "spiffe://trustdomain",
            "spiffe://td/Path.With-Upper_case",
        ] {
            assert!(parse(id).is_ok(), "{id}");
        }
        let id = parse("spiffe://prod.example/ns/a/sa/b").unwrap();
        assert_eq!((id.trust_domain, id.path), ("prod.example", "/ns/a/sa/b"));
    }

    #[test]
    fn invalid_ids_from_the_spec() {
        for (id, error) in [
            ("http://trustdomain/path", SpiffeError::Scheme),
            ("SPIFFE://trustdomain/path", SpiffeError::Scheme),
            ("spiffe:/trustdomain/path", SpiffeError::Scheme),
            ("spiffe:///path", SpiffeError::TrustDomain),
            ("spiffe://TrustDomain/path", SpiffeError::TrustDomain),
            ("spiffe://trustdomain:8080/path", SpiffeError::TrustDomain),
            ("spiffe://user@trustdomain/path", SpiffeError::TrustDomain),
            ("spiffe://trust%20domain/path", SpiffeError::TrustDomain),
            ("spiffe://trustdomain/", SpiffeError::Path),
            ("spiffe://trustdomain/path/", SpiffeError::Path),
            ("spiffe://trustdomain//path", SpiffeError::Path),
            ("spiffe://trustdomain/./path", SpiffeError::Path),
            ("spiffe://trustdomain/../path", SpiffeError::Path),
            ("spiffe://trustdomain/path?query=1", SpiffeError::Path),
            ("spiffe://trustdomain/path#fragment", SpiffeError::Path),
            ("spiffe://trustdomain/pa%20th", SpiffeError::Path),
        ] {
            assert_eq!(parse(id), Err(error), "{id}");
        }
        let long = format!("spiffe://td/{}", "a".repeat(2100));
        assert_eq!(parse(&long), Err(SpiffeError::TooLong));
    }
}
