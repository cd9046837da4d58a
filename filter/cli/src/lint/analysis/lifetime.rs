//! Token lifetimes: WA004 (a provider without a limit), WA001 and WA002 (a write route reachable
//! with tokens that live too long). The limit a route puts on a provider's tokens is the
//! engine's own `Provider::effective_max_lifetime`; the providers a route accepts are the
//! engine's `Policy::accepted_providers` (access-token providers only).

use super::{write_methods, Finding, RuleId, Subject};
use workload_authz_core::Policy;

/// WA004: every provider without `max_lifetime_seconds`.
pub(super) fn providers(policy: &Policy, out: &mut Vec<Finding>) {
    for provider in &policy.providers {
        if provider.max_lifetime_seconds.is_none() {
            out.push(Finding::new(
                RuleId::ProviderWithoutLifetimeLimit,
                format!("providers.{}", provider.name),
                format!(
                    "provider `{}` has no `max_lifetime_seconds`: its tokens may live for any time",
                    provider.name
                ),
            ));
        }
    }
}

/// WA001 (some accepted provider's tokens have no limit on this route) or else WA002 (the
/// longest limit is above `threshold`), on a protected route that accepts a write method.
pub(super) fn write_route(
    policy: &Policy,
    s: &Subject<'_>,
    threshold: u64,
    out: &mut Vec<Finding>,
) {
    let route = s.route;
    if route.public {
        return;
    }
    let Some(writes) = write_methods(route) else {
        return;
    };
    let mut unbounded = Vec::new();
    let mut longest: Option<(u64, &str)> = None;
    for (_, provider) in policy.accepted_providers(route) {
        match provider.effective_max_lifetime(route.max_lifetime_seconds) {
            None => unbounded.push(format!("`{}`", provider.name)),
            Some(limit) if longest.is_none_or(|(l, _)| limit > l) => {
                longest = Some((limit, provider.name.as_str()));
            }
            Some(_) => {}
        }
    }
    let (at, name) = (&s.at, &s.name);
    if !unbounded.is_empty() {
        out.push(Finding::new(
            RuleId::WriteWithoutLifetimeLimit,
            at.clone(),
            format!(
                "route {name} accepts {writes} with tokens of {} that have no lifetime limit (threshold {threshold}s)",
                unbounded.join(", ")
            ),
        ));
    } else if let Some((limit, provider)) = longest.filter(|(l, _)| *l > threshold) {
        out.push(Finding::new(
            RuleId::WriteLifetimeAboveThreshold,
            format!("{at}.max_lifetime_seconds"),
            format!(
                "route {name} accepts {writes} with tokens of `{provider}` living up to {limit}s, above the {threshold}s threshold"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{compiled, lint};
    use serde_json::json;

    /// A `txn_token` provider is never an access-token provider: its lifetime does not bound
    /// the tokens a write route accepts, so it is not named in WA001 (lint used to count it).
    #[test]
    fn transaction_token_providers_are_not_accepted_on_routes() {
        let policy = compiled(
            json!({
                "mesh": {"issuer": "https://mesh", "max_lifetime_seconds": 120},
                "txn": {"issuer": "https://txn", "token_type": "txn_token"}
            }),
            json!([
                {"action": "pay", "match": {"path": "/pay", "methods": ["POST"]},
                 "require": {"scopes": ["pay"], "transaction": {"provider": "txn"}}}
            ]),
        );
        let found = lint(&policy, 300, None);
        let codes: Vec<&str> = found.iter().map(|f| f.rule().code).collect();
        assert_eq!(codes, vec!["WA004"], "{found:#?}");
        assert_eq!(
            found.first().map(|f| f.path.as_str()),
            Some("providers.txn")
        );
    }

    #[test]
    fn the_tighter_limit_counts_and_the_longest_is_reported() {
        let policy = compiled(
            json!({
                "a": {"issuer": "https://a", "max_lifetime_seconds": 3600},
                "b": {"issuer": "https://b", "max_lifetime_seconds": 600}
            }),
            json!([
                {"action": "w", "match": {"path": "/w", "methods": ["PUT"]},
                 "max_lifetime_seconds": 900, "require": {"scopes": ["w"]}}
            ]),
        );
        let found = lint(&policy, 300, None);
        let wa002: Vec<&str> = found
            .iter()
            .filter(|f| f.rule().code == "WA002")
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(
            wa002,
            vec!["route `w` (routes[0]) accepts PUT with tokens of `a` living up to 900s, above the 300s threshold"]
        );
        assert!(lint(&policy, 900, None).is_empty());
    }
}
