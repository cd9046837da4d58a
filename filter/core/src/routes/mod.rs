//! Routes: what a request must look like for a route to apply. First match wins.

pub mod clean;
pub mod conditions;
pub mod host;
pub mod index;
pub mod path;

pub use conditions::{header_value, header_values, HeaderCondition, HeaderTest};
pub use host::{canonical_authority, Authority, AuthorityError, HostPattern};
pub use index::RouteIndex;
pub use path::{clean_path, without_trailing_slash, PathError, PathPattern, PathPatternError};

/// The `match` block of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The path template.
    pub path: PathPattern,
    /// Allowed methods (uppercase); `None` for any.
    pub methods: Option<Vec<String>>,
    /// Allowed `:authority` patterns; `None` for any.
    pub hosts: Option<Vec<HostPattern>>,
    /// Conditions on request headers, all of which must hold.
    pub headers: Vec<HeaderCondition>,
    /// Methods (uppercase) this route never applies to.
    pub not_methods: Vec<String>,
    /// Path templates this route never applies to.
    pub not_paths: Vec<PathPattern>,
}

impl RouteMatch {
    /// The captures if this route applies to the request (path already cleaned, authority as
    /// sent: a malformed authority matches no route with `hosts`).
    pub fn matches<'p>(
        &self,
        method: &str,
        path: &'p str,
        authority: &str,
    ) -> Option<Vec<&'p str>> {
        match canonical_authority(authority) {
            Ok(authority) => self.try_match(method, path, &authority).ok(),
            Err(_) => self
                .hosts
                .is_none()
                .then(|| self.try_match(method, path, &Authority::default()).ok())
                .flatten(),
        }
    }

    /// Whether `self` matches every request `other` matches, so that a route with `other` after
    /// one with `self` never applies (first match wins; `lint` WA006). Sound like
    /// [`PathPattern::covers`]: `self`'s methods include `other`'s (or it names none), each of
    /// `other`'s hosts is covered by one of `self`'s ([`HostPattern::covers`]; no `hosts` is any
    /// host), and `self`'s path template covers `other`'s.
    pub fn covers(&self, other: &RouteMatch) -> bool {
        // Header conditions and exclusions narrow `self` in ways not compared here: sound means
        // never claiming more than is known.
        if !self.headers.is_empty() || !self.not_methods.is_empty() || !self.not_paths.is_empty() {
            return false;
        }
        let methods = match (&self.methods, &other.methods) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => theirs.iter().all(|m| mine.contains(m)),
        };
        let hosts = match (&self.hosts, &other.hosts) {
            (None, _) => true,
            (Some(mine), None) => mine.contains(&HostPattern::Any),
            (Some(mine), Some(theirs)) => theirs.iter().all(|t| mine.iter().any(|m| m.covers(t))),
        };
        methods && hosts && self.path.covers(&other.path)
    }

    /// The captures, or which part of the `match` block did not fit (`method`, `host`, `path`).
    pub fn try_match<'p>(
        &self,
        method: &str,
        path: &'p str,
        authority: &Authority<'_>,
    ) -> Result<Vec<&'p str>, &'static str> {
        if !self.method_fits(method) {
            return Err("method");
        }
        if let Some(hosts) = &self.hosts {
            if !hosts.iter().any(|h| h.matches(authority)) {
                return Err("host");
            }
        }
        if self.not_paths.iter().any(|p| p.matches(path).is_some()) {
            return Err("not_paths");
        }
        self.path.matches(path).ok_or("path")
    }

    /// `methods` and `not_methods` admit `method`.
    pub fn method_fits(&self, method: &str) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m == method))
            && !self.not_methods.iter().any(|m| m == method)
    }

    /// Every header condition holds on `headers`.
    pub fn headers_fit<H: AsRef<str>>(&self, headers: &[(H, H)]) -> bool {
        self.headers
            .iter()
            .all(|c| c.holds(header_value(headers, &c.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str, methods: Option<&[&str]>, hosts: Option<&[&str]>) -> RouteMatch {
        RouteMatch {
            headers: Vec::new(),
            not_methods: Vec::new(),
            not_paths: Vec::new(),
            path: PathPattern::compile(path).unwrap(),
            methods: methods.map(|m| m.iter().map(|s| s.to_string()).collect()),
            hosts: hosts.map(|h| h.iter().filter_map(|s| HostPattern::compile(s)).collect()),
        }
    }

    #[test]
    fn coverage_needs_methods_hosts_and_path() {
        let any = route("/a/{id}", None, None);
        let get = route("/a/b", Some(&["GET"]), None);
        assert!(any.covers(&get));
        assert!(!get.covers(&any), "no methods is any method");
        assert!(route("/a/*", Some(&["GET", "POST"]), None).covers(&get));
        assert!(!route("/a/*", Some(&["POST"]), None).covers(&get));
        assert!(!route("/a/c", None, None).covers(&get), "paths differ");
        let hosted = route("/a/b", None, Some(&["api.example"]));
        assert!(any.covers(&hosted));
        assert!(!hosted.covers(&any), "a host list is not every host");
        assert!(route("/a/*", None, Some(&["*"])).covers(&any));
        assert!(
            route("/**", None, Some(&["*.example", "api.other"])).covers(&route(
                "/x",
                None,
                Some(&["a.example:80", "api.other"])
            ))
        );
        assert!(!route("/**", None, Some(&["*.example"])).covers(&route(
            "/x",
            None,
            Some(&["a.example", "api.other"])
        )));
    }
}
