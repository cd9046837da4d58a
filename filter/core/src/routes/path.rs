//! Path templates (`/tenants/{tenant}/orders/{id}`, `*`, final `**`) and request-path hygiene.
//!
//! One canonical form (RFC 3986 section 6.2.2, the part that cannot change what an upstream
//! serves): percent-escapes are compared with uppercase hex digits (`%c3%a9` is `%C3%A9`), and an
//! escape of an *unreserved* character (`%61` for `a`, `%7E` for `~`) is refused, never decoded:
//! an upstream that decodes before routing would serve `/admin` for `/%61dmin`, one that does not
//! would serve another resource, so no single reading of such a path is safe to authorize.

use std::borrow::Cow;
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

fn validate_segment(segment: &str) -> Result<(), PathError> {
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
fn uppercase_escapes(text: &str) -> Cow<'_, str> {
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
mod tests;
