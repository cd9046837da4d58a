//! Routes: what a request must look like for a route to apply. First match wins.

pub mod host;
pub mod path;

pub use host::{canonical_authority, Authority, AuthorityError, HostPattern};
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

    /// The captures, or which part of the `match` block did not fit (`method`, `host`, `path`).
    pub fn try_match<'p>(
        &self,
        method: &str,
        path: &'p str,
        authority: &Authority<'_>,
    ) -> Result<Vec<&'p str>, &'static str> {
        if let Some(methods) = &self.methods {
            if !methods.iter().any(|m| m == method) {
                return Err("method");
            }
        }
        if let Some(hosts) = &self.hosts {
            if !hosts.iter().any(|h| h.matches(authority)) {
                return Err("host");
            }
        }
        self.path.matches(path).ok_or("path")
    }
}
