//! Request-path hygiene: the one canonical form routes are matched on.
//!
//! One canonical form (RFC 3986 section 6.2.2, the part that cannot change what an upstream
//! serves): percent-escapes are compared with uppercase hex digits (`%c3%a9` is `%C3%A9`), and an
//! escape of an *unreserved* character (`%61` for `a`, `%7E` for `~`) is refused, never decoded:
//! an upstream that decodes before routing would serve `/admin` for `/%61dmin`, one that does not
//! would serve another resource, so no single reading of such a path is safe to authorize.

use std::borrow::Cow;

/// Why a request path is refused before any route is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Not starting with `/`.
    NotAbsolute,
    /// A `.` or `..` segment (also with `;` parameters).
    DotSegment,
    /// `%2e`, `%2f`, `%5c`, `%00`, `%25` or a malformed escape.
    EncodedSeparator,
    /// A percent-escape of an unreserved character (`%61` for `a`, `%7E` for `~`): the path
    /// would read one way to an upstream that decodes it and another to one that does not.
    EncodedUnreserved,
    /// A backslash, control character, `#` or `;`.
    ForbiddenCharacter,
    /// An empty segment (`//`) before the end.
    EmptySegment,
}

pub(super) fn validate_segment(segment: &str) -> Result<(), PathError> {
    let bytes = segment.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\\' | b'#' | b';' => return Err(PathError::ForbiddenCharacter),
            0..=0x1f | 0x7f => return Err(PathError::ForbiddenCharacter),
            b'%' => {
                let hi = bytes.get(i + 1).copied();
                let lo = bytes.get(i + 2).copied();
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(PathError::EncodedSeparator);
                };
                if !hi.is_ascii_hexdigit() || !lo.is_ascii_hexdigit() {
                    return Err(PathError::EncodedSeparator);
                }
                let escaped = [hi.to_ascii_lowercase(), lo.to_ascii_lowercase()];
                if matches!(&escaped, b"2e" | b"2f" | b"5c" | b"00" | b"25") {
                    return Err(PathError::EncodedSeparator);
                }
                if is_unreserved((hex_value(hi) << 4) | hex_value(lo)) {
                    return Err(PathError::EncodedUnreserved);
                }
            }
            _ => {}
        }
    }
    if segment == "." || segment == ".." {
        return Err(PathError::DotSegment);
    }
    Ok(())
}

/// RFC 3986 `unreserved`: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// The value of one hex digit (the caller checked it is one).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

/// `text` with the hex digits of its percent-escapes in uppercase (borrowed when they already
/// are, which is what RFC 3986 section 2.1 asks of producers).
pub(super) fn uppercase_escapes(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let lower_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_lowercase);
    let needs = bytes
        .iter()
        .enumerate()
        .any(|(i, b)| *b == b'%' && (lower_at(i + 1) || lower_at(i + 2)));
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut escape_left = 0;
    for c in text.chars() {
        if escape_left > 0 {
            out.push(c.to_ascii_uppercase());
            escape_left -= 1;
        } else {
            escape_left = if c == '%' { 2 } else { 0 };
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Strips the query from `:path`, refuses paths that could be read two ways, and returns the
/// canonical form routes are matched on (escapes in uppercase hex; see the module doc).
pub fn clean_path(raw: &str) -> Result<Cow<'_, str>, PathError> {
    let path = raw.split_once('?').map_or(raw, |(path, _)| path);
    let body = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    if body.is_empty() {
        return Ok(Cow::Borrowed(path));
    }
    let mut segments = body.split('/').peekable();
    while let Some(segment) = segments.next() {
        if segment.is_empty() && segments.peek().is_some() {
            return Err(PathError::EmptySegment);
        }
        validate_segment(segment)?;
    }
    Ok(uppercase_escapes(path))
}

/// The path without its one trailing `/` (`/admin/` → `/admin`); `None` for `/` and for paths
/// without one. A request for the slash form must reach the route the bare form reaches (or
/// none): frameworks disagree on whether the two are one resource.
pub fn without_trailing_slash(path: &str) -> Option<&str> {
    path.strip_suffix('/').filter(|bare| !bare.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{PathPattern, PathPatternError};

    #[test]
    fn query_is_ignored() {
        assert_eq!(clean_path("/a/b?x=../..%2f").as_deref(), Ok("/a/b"));
        assert_eq!(clean_path("/").as_deref(), Ok("/"));
    }

    #[test]
    fn escapes_of_unreserved_characters_are_refused() {
        for path in [
            "/%61dmin/users",
            "/%41dmin/users",
            "/ad%6Din/users",
            "/ad%6din/users",
            "/console%7E",
            "/console%7e",
            "/%2D",
            "/%5F",
            "/%30",
            "/a/b%5a",
        ] {
            assert_eq!(
                clean_path(path),
                Err(PathError::EncodedUnreserved),
                "{path}"
            );
        }
        // Reserved and non-ASCII escapes stay, with uppercase hex.
        assert_eq!(clean_path("/caf%c3%a9").as_deref(), Ok("/caf%C3%A9"));
        assert_eq!(clean_path("/a%20b%3a").as_deref(), Ok("/a%20b%3A"));
        assert!(matches!(clean_path("/a%20b"), Ok(Cow::Borrowed(_))));
        assert!(matches!(
            PathPattern::compile("/%61dmin"),
            Err(PathPatternError::UnmatchableSegment(_))
        ));
    }

    #[test]
    fn path_tricks_are_refused() {
        for (path, error) in [
            ("/a/../admin", PathError::DotSegment),
            ("/a/./b", PathError::DotSegment),
            ("/..", PathError::DotSegment),
            ("/a/%2e%2e/b", PathError::EncodedSeparator),
            ("/a/%2E/b", PathError::EncodedSeparator),
            ("/a%2fb", PathError::EncodedSeparator),
            ("/a%2Fb", PathError::EncodedSeparator),
            ("/a%5cb", PathError::EncodedSeparator),
            ("/a%252e", PathError::EncodedSeparator),
            ("/a%zz", PathError::EncodedSeparator),
            ("/a%2", PathError::EncodedSeparator),
            ("/a\\b", PathError::ForbiddenCharacter),
            ("/a;b", PathError::ForbiddenCharacter),
            ("/..;/admin", PathError::ForbiddenCharacter),
            ("/a\tb", PathError::ForbiddenCharacter),
            ("/a//b", PathError::EmptySegment),
            ("//a", PathError::EmptySegment),
            ("a/b", PathError::NotAbsolute),
            ("*", PathError::NotAbsolute),
        ] {
            assert_eq!(clean_path(path), Err(error), "{path}");
        }
        assert_eq!(clean_path("/a/b%20c/").as_deref(), Ok("/a/b%20c/"));
    }
}
