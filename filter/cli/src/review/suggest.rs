//! `review --suggest FILE`: a tightened copy of the policy, narrowed to what the records show was
//! used. Per protected route with traffic: `require.subjects` to the subjects whose requests
//! passed, `require.max_delegation_depth` (or `allow_delegation: false`) to the depth used,
//! `require.actor.subjects` to the actors seen, and per provider `max_lifetime_seconds` to the
//! longest lifetime observed (rounded up to the next minute). The layout is the policy's own
//! (member order kept for JSON files), so `diff policy.json proposal.json` shows the changes only.
//! Nothing is applied: the file is a proposal for a person to review, `check` and `lint`.

use super::aggregate::{Aggregate, OTHER};
use super::ordered::{strings, Ordered};
use super::policy_view::{PolicyView, RouteView};
use crate::policy::{Source, Syntax};
use serde_json::Value;
use std::collections::BTreeMap;

/// The proposal: its text and a line per change.
pub struct Proposal {
    /// The policy JSON.
    pub text: String,
    /// What changed, one phrase each.
    pub changes: Vec<String>,
}

/// The policy, as an ordered value.
fn ordered_policy(source: &Source) -> Result<Ordered, String> {
    if source.syntax == Syntax::Json && !source.from_wasmplugin {
        return serde_json::from_str(&source.text).map_err(|e| format!("{}: {e}", source.path));
    }
    let loaded = crate::policy::compile(Source {
        path: source.path.clone(),
        text: source.text.clone(),
        syntax: source.syntax,
        from_wasmplugin: false,
    });
    loaded
        .value
        .as_ref()
        .map(Ordered::from_value)
        .ok_or_else(|| format!("{}: not a policy", source.path))
}

/// A lifetime limit above `ttl` seconds: the next whole minute.
fn rounded_lifetime(ttl: u64) -> u64 {
    (ttl / 60 + 1) * 60
}

/// Builds the proposal for the policy read from `source`.
pub fn propose(source: &Source, view: &PolicyView, agg: &Aggregate) -> Result<Proposal, String> {
    let mut policy = ordered_policy(source)?;
    let mut changes = Vec::new();
    for route in &view.routes {
        if route.public {
            continue;
        }
        let Some(seen) = agg.routes.get(&(route.action.clone(), None)) else {
            continue;
        };
        let Some(target) = policy
            .get_mut("routes")
            .and_then(|routes| routes.at_mut(route.index))
        else {
            continue;
        };
        narrow_route(target, route, seen, &mut changes);
    }
    narrow_lifetimes(&mut policy, view, agg, &mut changes);
    let mut text = policy.pretty();
    text.push('\n');
    Ok(Proposal { text, changes })
}

fn narrow_route(
    target: &mut Ordered,
    route: &RouteView,
    seen: &super::aggregate::Route,
    changes: &mut Vec<String>,
) {
    let passed = seen.passed_callers.values().sum::<u64>();
    if passed == 0 {
        return;
    }
    let at = format!("routes[{}]", route.index);
    let mut subjects: Vec<String> = seen.passed_callers.keys().cloned().collect();
    subjects.sort();
    let all_identified = subjects.iter().all(|s| !s.starts_with('(') && s != OTHER);
    let Some(require) = target.object_mut("require") else {
        return;
    };
    if all_identified && route.subjects.as_ref() != Some(&subjects) {
        require.set("subjects", strings(&subjects));
        changes.push(format!("{at}.require.subjects: {}", subjects.join(", ")));
    }
    let depth = seen.max_depth as u64;
    if route
        .max_delegation_depth
        .is_none_or(|allowed| allowed > depth)
    {
        if depth == 0 {
            require.remove("max_delegation_depth");
            require.set("allow_delegation", Ordered::Scalar(Value::Bool(false)));
            changes.push(format!("{at}.require.allow_delegation: false"));
        } else {
            require.remove("allow_delegation");
            require.set("max_delegation_depth", Ordered::Scalar(Value::from(depth)));
            changes.push(format!("{at}.require.max_delegation_depth: {depth}"));
        }
    }
    if !seen.actors.is_empty() && route.actor_subjects.is_none() {
        let actors: Vec<String> = seen.actors.iter().cloned().collect();
        if let Some(actor) = require.object_mut("actor") {
            actor.set("subjects", strings(&actors));
            changes.push(format!(
                "{at}.require.actor.subjects: {}",
                actors.join(", ")
            ));
        }
    }
}

fn narrow_lifetimes(
    policy: &mut Ordered,
    view: &PolicyView,
    agg: &Aggregate,
    changes: &mut Vec<String>,
) {
    let mut longest: BTreeMap<&str, u64> = BTreeMap::new();
    for w in agg.workloads.values() {
        let (Some(provider), Some(ttl)) = (w.provider.as_deref(), w.max_ttl) else {
            continue;
        };
        let entry = longest.entry(provider).or_default();
        *entry = (*entry).max(ttl);
    }
    for (provider, ttl) in longest {
        let Some(current) = view.provider_lifetimes.get(provider) else {
            continue;
        };
        let proposed = rounded_lifetime(ttl);
        if current.is_some_and(|c| c <= proposed) {
            continue;
        }
        let Some(target) = policy
            .get_mut("providers")
            .and_then(|providers| providers.get_mut(provider))
        else {
            continue;
        };
        target.set(
            "max_lifetime_seconds",
            Ordered::Scalar(Value::from(proposed)),
        );
        changes.push(format!(
            "providers.{provider}.max_lifetime_seconds: {proposed} (was {}; tokens then need iat and exp)",
            current.map_or("none".to_string(), |c| c.to_string())
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::rounded_lifetime;

    #[test]
    fn lifetimes_round_up_above_what_was_seen() {
        assert_eq!(rounded_lifetime(299), 300);
        assert_eq!(rounded_lifetime(300), 360);
        assert_eq!(rounded_lifetime(0), 60);
    }
}
