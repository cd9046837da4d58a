//! The `match` conditions Envoy and Istio users bring besides path, methods and hosts: request
//! headers (a subset of Envoy's `HeaderMatcher`: exact, prefix, present, absent), `not_methods`
//! and `not_paths`.

/// What one request header must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderTest {
    /// Present with exactly this value.
    Exact(String),
    /// Present with a value starting with this.
    Prefix(String),
    /// Present, any value.
    Present,
    /// Not sent.
    Absent,
}

/// A condition on one request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderCondition {
    /// The header name, lowercase.
    pub name: String,
    /// What it must be.
    pub test: HeaderTest,
}

impl HeaderCondition {
    /// Whether the header's value (`None`: not sent) meets the condition.
    pub fn holds(&self, value: Option<&str>) -> bool {
        match (&self.test, value) {
            (HeaderTest::Exact(want), Some(v)) => v == want,
            (HeaderTest::Prefix(want), Some(v)) => v.starts_with(want.as_str()),
            (HeaderTest::Present, Some(_)) | (HeaderTest::Absent, None) => true,
            _ => false,
        }
    }
}

/// The value of header `name` among `headers`, compared without case: the first copy (a header
/// the engine reads is refused when repeated, before it is read: `ambiguous_header`). Every
/// one-value header lookup of the engine (templates, MCP headers, `match.headers`) uses it.
pub fn header_value<'h, H: AsRef<str>>(headers: &'h [(H, H)], name: &str) -> Option<&'h str> {
    header_values(headers, name).next()
}

/// Every value of header `name` among `headers`, compared without case, in order: for the
/// checks that a header occurs once (`ambiguous_header`, the MCP `content-type`).
pub fn header_values<'h, 'n, H: AsRef<str>>(
    headers: &'h [(H, H)],
    name: &'n str,
) -> impl Iterator<Item = &'h str> + 'n
where
    'h: 'n,
{
    headers
        .iter()
        .filter(move |(n, _)| n.as_ref().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(test: HeaderTest) -> HeaderCondition {
        HeaderCondition {
            name: "x-env".into(),
            test,
        }
    }

    #[test]
    fn each_test_holds_as_envoy_would() {
        let exact = condition(HeaderTest::Exact("prod".into()));
        assert!(exact.holds(Some("prod")));
        assert!(!exact.holds(Some("prod2")));
        assert!(!exact.holds(None));
        let prefix = condition(HeaderTest::Prefix("pr".into()));
        assert!(prefix.holds(Some("prod")));
        assert!(!prefix.holds(Some("dev")));
        assert!(!prefix.holds(None));
        assert!(condition(HeaderTest::Present).holds(Some("")));
        assert!(!condition(HeaderTest::Present).holds(None));
        assert!(condition(HeaderTest::Absent).holds(None));
        assert!(!condition(HeaderTest::Absent).holds(Some("x")));
        let headers = [("X-Env", "prod"), ("x-env", "dev")];
        assert_eq!(header_value(&headers, "x-env"), Some("prod"));
        assert_eq!(header_value(&headers, "x-other"), None);
    }
}
