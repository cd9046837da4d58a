//! Linting a policy that does not compile. Every compile error is a WA000 finding; the other
//! rules then run on a repaired copy of the policy's JSON with the broken parts taken out, the
//! parts the errors' paths name:
//!
//! - a broken route (`routes[2]...`) is left out;
//! - a broken provider (`providers.legacy...`) is replaced by a stub that keeps what the rules
//!   read of it (its name, `max_lifetime_seconds`, `token_type`) with a placeholder issuer,
//!   audience and key source, so a bad key set or issuer costs no finding; when the stub does
//!   not compile either (the broken field is one the rules read), the provider is left out,
//!   and so are the routes that then name an unknown provider;
//! - any other top-level field (`limits`, `mode`...) is left out (its default applies).
//!
//! The copy is compiled again (a removal can break what referred to it) until it compiles.
//! Findings are mapped back to the original route indexes, and those that could depend on a
//! part left out are dropped: the lifetime and accepted-token rules (WA001, WA002, WA003,
//! WA014) on the routes that may accept a provider left out, WA010/WA011 when `mode` is broken,
//! WA008 (a grant no route requires) when a route is left out. The repaired copy is never
//! printed, only linted. Nothing else runs when `routes` itself, `providers` itself or the top
//! level is broken.

use super::{Finding, RuleId};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use workload_authz_core::config::compile_value;
use workload_authz_core::{ConfigErrors, Policy};

/// Compile rounds before giving up (each round leaves out at least one more part).
const MAX_ROUNDS: usize = 16;

/// The rules whose findings on a route read the providers it accepts.
const PROVIDER_RULES: [RuleId; 4] = [
    RuleId::WriteWithoutLifetimeLimit,
    RuleId::WriteLifetimeAboveThreshold,
    RuleId::AnyValidToken,
    RuleId::McpUnrestrictedTarget,
];

/// What linting the rest of a broken policy gave.
#[derive(Debug, Default)]
pub struct Rest {
    /// The findings of the rules that ran, on the original paths.
    pub findings: Vec<Finding>,
    /// The configuration paths left out (`routes[1]`, `providers.legacy`, `limits`), in that
    /// order; `None` when nothing could be linted.
    pub skipped: Option<Vec<String>>,
}

/// Which part of the policy an error names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// `routes[i]` of the copy.
    Route(usize),
    /// A provider, by name.
    Provider(String),
    /// Another top-level field.
    Top(String),
    /// `routes`, `providers` or the whole policy: nothing can be linted without it.
    Whole,
}

/// The parts taken out of (or stubbed in) the copy so far.
#[derive(Debug, Default)]
struct Repair {
    /// Original indexes of the routes left out.
    routes: BTreeSet<usize>,
    /// Providers replaced by a stub.
    stubbed: BTreeSet<String>,
    /// Providers left out.
    removed: BTreeSet<String>,
    /// Top-level fields left out.
    top: BTreeSet<String>,
}

/// Lints what compiles of `value`, whose compile errors are `errors`: see the module's doc.
pub fn lint_rest(
    value: &Value,
    errors: &ConfigErrors,
    threshold: u64,
    catalogue: Option<&[String]>,
) -> Rest {
    let Some(original) = value.as_object() else {
        return Rest::default();
    };
    let mut repair = Repair::default();
    let mut kept: Vec<usize> = (0..route_count(original)).collect();
    let mut errors = errors.0.iter().map(|e| e.path.clone()).collect::<Vec<_>>();
    for _ in 0..MAX_ROUNDS {
        let parts: BTreeSet<Part> = errors.iter().map(|p| part_of(p, original)).collect();
        if !repair.apply(&parts, &kept) {
            return Rest::default();
        }
        let (copy, now_kept) = repaired(original, &repair);
        kept = now_kept;
        match compile_value(&copy) {
            Ok(policy) => return finish(&policy, original, &repair, &kept, threshold, catalogue),
            Err(again) => errors = again.0.into_iter().map(|e| e.path).collect(),
        }
    }
    Rest::default()
}

impl Repair {
    /// Takes out (or stubs) the parts one round of errors names; false when that cannot help:
    /// a whole-policy part, or no part that is not taken out already.
    fn apply(&mut self, parts: &BTreeSet<Part>, kept: &[usize]) -> bool {
        let mut progress = false;
        for part in parts {
            progress |= match part {
                Part::Whole => return false,
                Part::Route(i) => kept.get(*i).is_some_and(|o| self.routes.insert(*o)),
                Part::Provider(name) if self.stubbed.insert(name.clone()) => true,
                Part::Provider(name) => self.removed.insert(name.clone()),
                Part::Top(key) => self.top.insert(key.clone()),
            };
        }
        progress
    }
}

/// The number of routes of the original policy (0 when `routes` is not a list).
fn route_count(original: &Map<String, Value>) -> usize {
    original
        .get("routes")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// The part a configuration path names. Provider names may hold `.`: the longest declared
/// name that the path continues wins.
fn part_of(path: &str, original: &Map<String, Value>) -> Part {
    if let Some(rest) = path.strip_prefix("routes[") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return digits.parse().map_or(Part::Whole, Part::Route);
    }
    if let Some(rest) = path.strip_prefix("providers.") {
        let names = original.get("providers").and_then(Value::as_object);
        let found = names
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|n| rest == n.as_str() || rest.starts_with(&format!("{n}.")))
            .max_by_key(|n| n.len());
        return found.map_or(Part::Whole, |n| Part::Provider(n.clone()));
    }
    let key: String = path
        .chars()
        .take_while(|c| !matches!(c, '.' | '['))
        .collect();
    match key.as_str() {
        "" | "routes" | "providers" => Part::Whole,
        _ => Part::Top(key),
    }
}

/// The repaired copy, and the original index of each of its routes.
fn repaired(original: &Map<String, Value>, repair: &Repair) -> (Value, Vec<usize>) {
    let mut copy = original.clone();
    for key in &repair.top {
        copy.remove(key);
    }
    if let Some(providers) = copy.get_mut("providers").and_then(Value::as_object_mut) {
        for name in &repair.removed {
            providers.remove(name);
        }
        for (name, provider) in providers.iter_mut() {
            if repair.stubbed.contains(name) {
                *provider = stub(name, provider);
            }
        }
    }
    let mut kept = Vec::new();
    if let Some(routes) = copy.get_mut("routes").and_then(Value::as_array_mut) {
        let all = std::mem::take(routes);
        for (i, route) in all.into_iter().enumerate() {
            if !repair.routes.contains(&i) {
                kept.push(i);
                routes.push(route);
            }
        }
    }
    (Value::Object(copy), kept)
}

/// A provider that compiles and keeps what the rules read of `provider`: `max_lifetime_seconds`
/// and `token_type` (as written: when they are what is broken, the stub fails too and the
/// provider is left out).
fn stub(name: &str, provider: &Value) -> Value {
    let mut stub = json!({
        "issuer": format!("urn:workload-authz:lint-stub:{name}"),
        "audiences": ["lint-stub"],
        "remote_jwks": {"http_uri": {"uri": "http://lint-stub.invalid/jwks", "cluster": "lint-stub"}},
    });
    for field in ["max_lifetime_seconds", "token_type"] {
        if let (Some(value), Some(obj)) = (provider.get(field), stub.as_object_mut()) {
            obj.insert(field.to_string(), value.clone());
        }
    }
    stub
}

/// Lints the repaired policy, maps findings to the original routes, drops those that depend
/// on a part left out.
fn finish(
    policy: &Policy,
    original: &Map<String, Value>,
    repair: &Repair,
    kept: &[usize],
    threshold: u64,
    catalogue: Option<&[String]>,
) -> Rest {
    let routes = original.get("routes").and_then(Value::as_array);
    let may_accept_removed = |index: usize| {
        let route = routes.and_then(|r| r.get(index));
        let named = route.and_then(|r| r.pointer("/require/providers"));
        match named.and_then(Value::as_array) {
            None => !repair.removed.is_empty(),
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .any(|n| repair.removed.contains(n)),
        }
    };
    let findings = super::lint(policy, threshold, catalogue)
        .into_iter()
        .map(|f| Finding {
            path: remap(&f.path, kept),
            message: remap(&f.message, kept),
            ..f
        })
        .filter(|f| {
            let mode_rule = matches!(f.id, RuleId::ShadowPolicy | RuleId::ShadowRoute);
            let route_rule = f.id == RuleId::DeadScope;
            let provider_rule = PROVIDER_RULES.contains(&f.id)
                && route_index(&f.path).is_some_and(&may_accept_removed);
            !(mode_rule && repair.top.contains("mode")
                || route_rule && !repair.routes.is_empty()
                || provider_rule)
        })
        .collect();
    let skipped = repair
        .routes
        .iter()
        .map(|i| format!("routes[{i}]"))
        .chain(repair.removed.iter().map(|n| format!("providers.{n}")))
        .chain(repair.top.iter().cloned())
        .collect();
    Rest {
        findings,
        skipped: Some(skipped),
    }
}

/// The route index a path starts with (`routes[3].match` → 3).
fn route_index(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("routes[")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `text` with every `routes[j]` of the copy written as the original `routes[kept[j]]`.
fn remap(text: &str, kept: &[usize]) -> String {
    const OPEN: &str = "routes[";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let after = from.get(OPEN.len()..).unwrap_or_default();
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let closed = after
            .get(digits.len()..)
            .is_some_and(|t| t.starts_with(']'));
        match digits.parse::<usize>().ok().filter(|_| closed) {
            Some(j) => {
                let original = kept.get(j).copied().unwrap_or(j);
                out.push_str(&format!("{OPEN}{original}]"));
                rest = after.get(digits.len() + 1..).unwrap_or_default();
            }
            None => {
                out.push_str(OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]
    use super::*;

    fn remote() -> Value {
        json!({"http_uri": {"uri": "http://idp.internal/jwks", "cluster": "idp"}})
    }

    /// `code path` of each finding, in report order.
    fn found(rest: &Rest) -> Vec<String> {
        rest.findings
            .iter()
            .map(|f| format!("{} {}", f.rule().code, f.path))
            .collect()
    }

    fn rest_of(value: &Value) -> Rest {
        let errors = compile_value(value).expect_err("the test policy is broken");
        lint_rest(value, &errors, 300, None)
    }

    #[test]
    fn paths_are_mapped_back_over_a_route_left_out() {
        assert_eq!(
            remap("routes[0] and routes[1].x", &[0, 2]),
            "routes[0] and routes[2].x"
        );
        assert_eq!(remap("routes[x] routes[", &[5]), "routes[x] routes[");
        let value = json!({
            "providers": {"mesh": {"issuer": "https://mesh", "audiences": ["a"],
                                    "remote_jwks": remote(), "max_lifetime_seconds": 300}},
            "routes": [
                {"action": "broken", "match": {"path": "/a/{x}"}, "require": {"scopes": ["{y}"]}},
                {"action": "all", "match": {"path": "/b/**"}, "require": {"scopes": ["s"]}},
                {"action": "never", "match": {"path": "/b/c"}, "require": {"scopes": ["s"]}}
            ]
        });
        let rest = rest_of(&value);
        assert_eq!(rest.skipped, Some(vec!["routes[0]".to_string()]));
        let unreachable: Vec<&Finding> = rest
            .findings
            .iter()
            .filter(|f| f.id == RuleId::UnreachableRoute)
            .collect();
        assert_eq!(unreachable.len(), 1, "{:?}", found(&rest));
        assert_eq!(unreachable[0].path, "routes[2]");
        assert!(
            unreachable[0].message.contains("routes[1]"),
            "{}",
            unreachable[0].message
        );
    }

    #[test]
    fn a_provider_with_a_bad_key_set_is_stubbed_and_keeps_its_findings() {
        let value = json!({
            "providers": {"legacy": {"issuer": "https://legacy", "audiences": ["a"],
                                     "local_jwks": {"inline_string": "nope"}}},
            "routes": [{"action": "w", "match": {"path": "/w", "methods": ["POST"]},
                        "require": {"scopes": ["w"]}}]
        });
        let rest = rest_of(&value);
        assert_eq!(rest.skipped, Some(vec![]));
        assert_eq!(
            found(&rest),
            vec!["WA001 routes[0]", "WA004 providers.legacy"],
            "the stub keeps the missing lifetime limit"
        );
    }

    #[test]
    fn a_provider_whose_lifetime_is_broken_is_left_out_with_the_rules_that_read_it() {
        let value = json!({
            "providers": {
                "legacy": {"issuer": "https://legacy", "audiences": ["a"], "remote_jwks": remote(),
                           "max_lifetime_seconds": 0},
                "mesh": {"issuer": "https://mesh", "audiences": ["a"], "remote_jwks": remote()}
            },
            "routes": [
                {"action": "any", "match": {"path": "/w", "methods": ["POST"]}, "require": {"scopes": ["w"]}},
                {"action": "old", "match": {"path": "/old", "methods": ["GET"]},
                 "require": {"providers": ["legacy"], "scopes": ["r"]}},
                {"action": "mesh", "match": {"path": "/m", "methods": ["PUT"]},
                 "require": {"providers": ["mesh"], "scopes": ["w"]}}
            ]
        });
        let rest = rest_of(&value);
        assert_eq!(
            rest.skipped,
            Some(vec![
                "routes[1]".to_string(),
                "providers.legacy".to_string()
            ])
        );
        // routes[0] may accept `legacy`: its lifetime finding is not known; routes[2] is.
        assert_eq!(
            found(&rest),
            vec!["WA001 routes[2]", "WA004 providers.mesh"]
        );
    }

    #[test]
    fn a_broken_mode_drops_the_mode_rules_and_a_broken_routes_list_stops() {
        let value = json!({
            "mode": "audit",
            "providers": {"mesh": {"issuer": "https://mesh", "audiences": ["a"],
                                    "remote_jwks": remote(), "max_lifetime_seconds": 60}},
            "routes": [{"action": "r", "match": {"path": "/r", "methods": ["GET"]},
                        "mode": "shadow", "require": {"scopes": ["r"]}}]
        });
        let rest = rest_of(&value);
        assert_eq!(rest.skipped, Some(vec!["mode".to_string()]));
        assert!(found(&rest).is_empty(), "{:?}", found(&rest));

        let value = json!({"routes": [{"action": "a"}]});
        let rest = rest_of(&value);
        assert_eq!(rest.skipped, None, "no route left: nothing is linted");
        assert!(rest.findings.is_empty());
    }
}
