//! Typed ids of a compiled policy's providers and routes: positions in [`Policy::providers`]
//! and [`Policy::routes`], so a provider id cannot be used for a route (or for any other
//! index). Each prints as the bare index (`3`), as the records, traces and `routes[3]` paths
//! always have.
//!
//! [`Policy::providers`]: super::Policy::providers
//! [`Policy::routes`]: super::Policy::routes

use std::fmt;

/// A provider of a compiled policy: its position in [`super::Policy::providers`] (providers in
/// the configuration's name order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(usize);

/// A route of a compiled policy: its position in [`super::Policy::routes`] (match order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(usize);

impl ProviderId {
    /// The provider at position `index`. Ids handed out by a [`super::Policy`] are its own;
    /// one made here names a provider only where the policy has that many.
    pub const fn new(index: usize) -> Self {
        ProviderId(index)
    }

    /// The position in [`super::Policy::providers`].
    pub const fn index(self) -> usize {
        self.0
    }
}

impl RouteId {
    /// The route at position `index`. Ids handed out by a [`super::Policy`] are its own; one
    /// made here names a route only where the policy has that many.
    pub const fn new(index: usize) -> Self {
        RouteId(index)
    }

    /// The position in [`super::Policy::routes`].
    pub const fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for ProviderId {
    /// The bare index.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for RouteId {
    /// The bare index (`routes[{id}]` reads `routes[3]`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_their_index() {
        assert_eq!(RouteId::new(3).to_string(), "3");
        assert_eq!(format!("routes[{}]", RouteId::new(12)), "routes[12]");
        assert_eq!(ProviderId::new(0).to_string(), "0");
        assert_eq!(format!("{:>3}", ProviderId::new(7)), "  7");
        assert_eq!(RouteId::new(5).index(), 5);
        assert!(ProviderId::new(1) < ProviderId::new(2));
    }
}
