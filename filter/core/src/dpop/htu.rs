//! `htu`: the URI a proof is for, and the request's own URI, both normalised (RFC 3986 section
//! 6.2.2: scheme and host case, percent-encoding case and unreserved characters, dot segments;
//! section 6.2.3: the default port, an empty path) so that they compare as strings. Query and
//! fragment are never part of it (RFC 9449 section 4.3).

/// An `http`/`https` URI cut into the parts `htu` compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// `http` or `https`, lowercase.
    pub scheme: String,
    /// The host, lowercase (an IPv6 literal keeps its brackets).
    pub host: String,
    /// The port when it is not the scheme's default.
    pub port: Option<u16>,
    /// The path, normalised, `/` when empty.
    pub path: String,
    /// Whether a `?query` or `#fragment` followed the path.
    pub has_query_or_fragment: bool,
}

impl Uri {
    /// Parses an absolute `http`/`https` URI; `None` for anything else (userinfo, a bad port,
    /// another scheme, no `//`).
    pub fn parse(text: &str) -> Option<Uri> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (host, port) = split_authority(authority)?;
        let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
        let (path, after) = tail.split_at(path_end);
        Some(Uri {
            scheme,
            host: host.to_ascii_lowercase(),
            port: port.filter(|p| *p != default_port),
            path: normalise_path(path)?,
            has_query_or_fragment: !after.is_empty(),
        })
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// The normalised URI without query and fragment: what `htu` is compared as.
    pub fn normalised(&self) -> String {
        format!("{}{}", self.origin(), self.path)
    }
}

/// `host[:port]` of an authority; `None` with userinfo, an empty host or a bad port.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) && digits.len() <= 5 => {
            Some(digits.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// Percent-encoding normalised (unreserved characters decoded, other triplets uppercase), dot
/// segments removed (RFC 3986 section 5.2.4), `/` for an empty path; `None` for a broken `%`.
pub fn normalise_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut decoded = String::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex)?;
            let lo = bytes.get(i + 2).copied().and_then(hex)?;
            let value = hi * 16 + lo;
            if value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~') {
                decoded.push(char::from(value));
            } else {
                decoded.push('%');
                decoded.push(upper_hex(hi));
                decoded.push(upper_hex(lo));
            }
            i += 3;
        } else {
            let len = utf8_len(b);
            decoded.push_str(path.get(i..i + len)?);
            i += len;
        }
    }
    let path = remove_dot_segments(&decoded);
    Some(if path.is_empty() {
        "/".to_string()
    } else {
        path
    })
}

fn upper_hex(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// RFC 3986 section 5.2.4 over `/`-separated segments.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (index, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {
                if index == last {
                    output.push("");
                }
            }
            ".." => {
                if output.len() > 1 {
                    output.pop();
                }
                if index == last {
                    output.push("");
                }
            }
            other => output.push(other),
        }
    }
    output.join("/")
}

/// The URI of the request as the client addressed it, normalised: `external_origin` (and its
/// path prefix) when configured, else `:scheme` and `:authority`; the path without its query.
/// `None` when the request's parts do not make a URI.
pub fn request_uri(
    scheme: &str,
    authority: &str,
    path: &str,
    external: Option<&crate::config::dpop::ExternalOrigin>,
) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let text = match external {
        Some(origin) => format!("{}{}{path}", origin.origin, origin.prefix),
        None => format!("{scheme}://{authority}{path}"),
    };
    Uri::parse(&text).map(|uri| uri.normalised())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> Option<String> {
        Uri::parse(text).map(|u| u.normalised())
    }

    #[test]
    fn scheme_host_and_default_port_are_normalised() {
        let expected = Some("https://api.example.com/orders".to_string());
        assert_eq!(norm("HTTPS://API.Example.COM:443/orders"), expected);
        assert_eq!(norm("https://api.example.com/orders?x=1#f"), expected);
        assert_eq!(
            norm("http://h:80/a"),
            Some("http://h/a".to_string()),
            "80 is http's default"
        );
        assert_eq!(norm("http://h:443/a"), Some("http://h:443/a".to_string()));
        assert_eq!(norm("https://h"), Some("https://h/".to_string()));
        assert_eq!(
            norm("https://[::1]:8443/x"),
            Some("https://[::1]:8443/x".to_string())
        );
    }

    #[test]
    fn percent_encoding_and_dot_segments_are_normalised() {
        assert_eq!(
            norm("https://h/%7euser/a%2fb"),
            Some("https://h/~user/a%2Fb".to_string())
        );
        assert_eq!(
            norm("https://h/a/./b/../c"),
            Some("https://h/a/c".to_string())
        );
        assert_eq!(norm("https://h/../../a"), Some("https://h/a".to_string()));
        assert_eq!(
            norm("https://h/a/%2E%2E/b"),
            Some("https://h/b".to_string())
        );
    }

    #[test]
    fn not_a_usable_uri() {
        for bad in [
            "ftp://h/a",
            "https:/h/a",
            "https://user@h/a",
            "https://h:99999/a",
            "https://h:8x/a",
            "https:///a",
            "https://h/%zz",
            "/a",
        ] {
            assert_eq!(norm(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_request_uri_comes_from_the_external_origin_when_set() {
        assert_eq!(
            request_uri("http", "Envoy:10000", "/orders/1?x=2", None),
            Some("http://envoy:10000/orders/1".to_string())
        );
        let external = crate::config::dpop::ExternalOrigin {
            origin: "https://api.example.com".to_string(),
            prefix: "/shop".to_string(),
        };
        assert_eq!(
            request_uri("http", "envoy:10000", "/orders/1", Some(&external)),
            Some("https://api.example.com/shop/orders/1".to_string())
        );
    }
}
