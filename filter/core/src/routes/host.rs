//! `:authority` patterns: exact names, `*.suffix` wildcards, optional port.

/// A compiled host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exact host (lowercase), with the port if the pattern names one.
    Exact(String),
    /// `*.example.com`: any host ending in `.example.com` (lowercase, starting with the dot).
    Suffix(String),
    /// `*`: any host.
    Any,
}

impl HostPattern {
    /// Compiles a pattern; `None` if it is malformed.
    pub fn compile(pattern: &str) -> Option<HostPattern> {
        let pattern = pattern.to_ascii_lowercase();
        if pattern == "*" {
            return Some(HostPattern::Any);
        }
        if pattern.is_empty() || pattern.contains(['/', ' ', '@']) {
            return None;
        }
        if let Some(suffix) = pattern.strip_prefix('*') {
            if !suffix.starts_with('.') || suffix.len() < 2 || suffix.contains('*') {
                return None;
            }
            return Some(HostPattern::Suffix(suffix.to_string()));
        }
        if pattern.contains('*') {
            return None;
        }
        Some(HostPattern::Exact(pattern))
    }

    /// Whether `authority` (as sent, maybe with a port) matches.
    pub fn matches(&self, authority: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(host) => {
                let candidate = if has_port(host) {
                    authority
                } else {
                    strip_port(authority)
                };
                candidate.eq_ignore_ascii_case(host)
            }
            HostPattern::Suffix(suffix) => {
                let host = strip_port(authority);
                host.len() > suffix.len()
                    && host
                        .get(host.len() - suffix.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
            }
        }
    }
}

fn has_port(host: &str) -> bool {
    match host.rfind(']') {
        Some(end) => host
            .get(end + 1..)
            .is_some_and(|tail| tail.starts_with(':')),
        None => host.contains(':'),
    }
}

fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        // [v6]:port
        return authority
            .find(']')
            .and_then(|end| authority.get(..=end))
            .unwrap_or(authority);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcard_hosts() {
        let exact = HostPattern::compile("API.example.com").unwrap();
        assert!(exact.matches("api.example.com"));
        assert!(exact.matches("api.example.com:8443"));
        assert!(!exact.matches("evil.api.example.com"));
        let with_port = HostPattern::compile("api:8080").unwrap();
        assert!(with_port.matches("api:8080"));
        assert!(!with_port.matches("api:9090"));
        let suffix = HostPattern::compile("*.example.com").unwrap();
        assert!(suffix.matches("a.example.com:80"));
        assert!(!suffix.matches("example.com"));
        assert!(!suffix.matches("aexample.com"));
        assert!(HostPattern::compile("*").unwrap().matches("anything"));
        assert!(HostPattern::compile("a*.b").is_none());
        assert!(HostPattern::compile("").is_none());
        assert!(HostPattern::compile("[::1]:80")
            .unwrap()
            .matches("[::1]:80"));
        assert!(HostPattern::compile("[::1]").unwrap().matches("[::1]:80"));
    }
}
