//! Counters, defined once per name and VM and kept as ids. Names come from
//! `workload_authz_core::telemetry`, so cardinality is bounded by the configuration
//! (outcomes x reasons x actions, providers x results). A request finds its counters by the
//! decision's facts, without formatting a name (that happens once, on first use).

use crate::host;
use std::cell::OnceCell;
use std::collections::HashMap;
use workload_authz_core::{telemetry, Decision, Outcome, Reason, RouteId};

/// What names a decisions counter: outcome, reason and the matched route (whose action it is).
type DecisionKey = (Outcome, Reason, Option<RouteId>);

/// What names a token-validations counter: provider and result.
type ValidationKey = (Option<String>, Reason);

/// The counters of one VM.
#[derive(Default)]
pub struct Metrics {
    decisions: HashMap<DecisionKey, u32>,
    validations: Vec<(ValidationKey, u32)>,
    /// MCP calls counters by decision key, then tool label.
    mcp_calls: HashMap<DecisionKey, Vec<(String, u32)>>,
    by_name: HashMap<String, u32>,
}

impl Metrics {
    /// Adds one to the counter `name` (rare events: fetches), defining it on first use.
    pub fn increment(&mut self, name: &str) {
        let known = self.by_name.get(name).copied();
        let id = known_or_defined(
            known,
            || Some(name.to_string()),
            |id| {
                self.by_name.insert(name.to_string(), id);
            },
        );
        increment(id);
    }

    /// Counts one decision, and the token validation it ran, if any (`known`: the ids found for
    /// this decision before, when it is memoised). Host errors are logged.
    pub fn count(&mut self, decision: &Decision, known: Option<&OnceCell<CounterIds>>) {
        let ids = match known {
            Some(cell) => *cell.get_or_init(|| self.ids(decision)),
            None => self.ids(decision),
        };
        increment(ids.decision);
        increment(ids.validation);
        let key = (decision.outcome, decision.reason, decision.route);
        self.count_mcp_call(key, decision);
    }

    /// The ids of the counters `decision` increments, defining them on first use.
    fn ids(&mut self, decision: &Decision) -> CounterIds {
        let key = (decision.outcome, decision.reason, decision.route);
        let known = self.decisions.get(&key).copied();
        let name = || Some(telemetry::decisions_metric(decision));
        let decision_id = known_or_defined(known, name, |id| {
            self.decisions.insert(key, id);
        });
        let Some(result) = decision.token_result else {
            return CounterIds {
                decision: decision_id,
                validation: None,
            };
        };
        let provider = decision.provider.as_deref();
        let known = self
            .validations
            .iter()
            .find(|((p, r), _)| p.as_deref() == provider && *r == result)
            .map(|(_, id)| *id);
        let name = || telemetry::validations_metric(decision);
        let validation = known_or_defined(known, name, |id| {
            self.validations
                .push(((decision.provider.clone(), result), id));
        });
        CounterIds {
            decision: decision_id,
            validation,
        }
    }
}

/// The counters one decision increments: its decisions counter and its token validation's.
#[derive(Debug, Clone, Copy, Default)]
pub struct CounterIds {
    decision: Option<u32>,
    validation: Option<u32>,
}

impl Metrics {
    /// Counts one MCP message, by tool label (declared names only, else `other`).
    fn count_mcp_call(&mut self, key: DecisionKey, decision: &Decision) {
        let Some(label) = decision
            .mcp
            .as_deref()
            .and_then(|m| m.tool_label.as_deref())
        else {
            return;
        };
        let tools = self.mcp_calls.entry(key).or_default();
        let known = tools.iter().find(|(t, _)| t == label).map(|(_, id)| *id);
        let name = || telemetry::mcp_calls_metric(decision);
        let id = known_or_defined(known, name, |id| tools.push((label.to_string(), id)));
        increment(id);
    }
}

/// The id already known, else the counter `name()` defined now and passed to `remember`.
fn known_or_defined(
    known: Option<u32>,
    name: impl FnOnce() -> Option<String>,
    remember: impl FnOnce(u32),
) -> Option<u32> {
    if known.is_some() {
        return known;
    }
    let id = define(&name()?)?;
    remember(id);
    Some(id)
}

fn define(name: &str) -> Option<u32> {
    host::define_counter(name)
        .inspect_err(|status| {
            log::warn!("workload-authz: cannot define metric {name}: {status:?}");
        })
        .ok()
}

fn increment(id: Option<u32>) {
    if let Some(id) = id {
        if let Err(status) = host::increment_counter(id) {
            log::warn!("workload-authz: cannot increment metric {id}: {status:?}");
        }
    }
}
