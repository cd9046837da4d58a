//! Streaming aggregation of decision records: per workload, per route (and MCP tool), per reason
//! and over time. Memory grows with the number of distinct workloads, routes, scopes and reasons
//! (each capped: past a cap, entries merge into `(other)`), never with the number of records.

use super::record::{Outcome, OutcomeFacts, Record};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Distinct workloads kept; more merge into [`OTHER`].
pub const MAX_WORKLOADS: usize = 10_000;
/// Distinct routes and tools kept; more merge into [`OTHER`].
pub const MAX_ROUTES: usize = 10_000;
/// Distinct scopes kept per workload.
pub const MAX_SCOPES: usize = 1_000;
/// Distinct actor chains kept per workload, and actors per route.
pub const MAX_ACTORS: usize = 256;
/// Timeline buckets kept: past this, buckets double in width.
pub const MAX_BUCKETS: usize = 1_500;
/// The label of merged entries.
pub const OTHER: &str = "(other)";
/// The label of requests without a token.
pub const NO_TOKEN: &str = "(no token)";

/// Reasons that signal an incident rather than a misconfiguration: a forged, stolen or revoked
/// credential in use.
pub const INCIDENT_REASONS: [&str; 6] = [
    "bad_signature",
    "revoked",
    "dpop_replayed",
    "dpop_key_mismatch",
    "dpop_bound_token_as_bearer",
    "dpop_bad_signature",
];

/// Counts per outcome, indexed by [`Outcome::index`].
pub type Counts = [u64; 5];

/// First and last time seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// Earliest record time.
    pub first: Option<i64>,
    /// Latest record time.
    pub last: Option<i64>,
}

impl Seen {
    /// The span of both.
    pub fn merge(self, other: Seen) -> Seen {
        let pick = |a: Option<i64>, b: Option<i64>, f: fn(i64, i64) -> i64| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        Seen {
            first: pick(self.first, other.first, i64::min),
            last: pick(self.last, other.last, i64::max),
        }
    }

    fn note(&mut self, time: Option<i64>) {
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

/// A count with its first and last time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many.
    pub count: u64,
    /// When.
    pub seen: Seen,
    /// The most in one minute.
    pub peak_per_minute: u64,
    minute: Option<i64>,
    in_minute: u64,
}

impl Tally {
    fn note(&mut self, time: Option<i64>) {
        self.count += 1;
        self.seen.note(time);
        let minute = time.map(|t| t.div_euclid(60));
        if minute == self.minute {
            self.in_minute += 1;
        } else {
            self.minute = minute;
            self.in_minute = 1;
        }
        self.peak_per_minute = self.peak_per_minute.max(self.in_minute);
    }
}

/// Everything seen of one workload.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// `sub` (none for unverified tokens and requests without one).
    pub subject: Option<String>,
    /// The provider of its tokens (the last seen).
    pub provider: Option<String>,
    /// Records.
    pub requests: u64,
    /// When.
    pub seen: Seen,
    /// Per outcome.
    pub decisions: Counts,
    /// Requests per action.
    pub actions: HashMap<String, u64>,
    /// Scopes its tokens carried.
    pub granted: BTreeSet<String>,
    /// Granted scopes some request of it needed.
    pub used: BTreeSet<String>,
    /// The longest remaining lifetime seen (a lower bound of its tokens' lifetime).
    pub max_ttl: Option<u64>,
    /// Per route action, the longest remaining lifetime seen on requests that passed.
    pub max_ttl_by_action: HashMap<String, u64>,
    /// The deepest delegation chain.
    pub max_depth: usize,
    /// Distinct actor chains, current actor first.
    pub actor_chains: BTreeSet<Vec<String>>,
    /// Enforced denials per reason.
    pub denials: HashMap<String, Tally>,
    /// Shadow denials per reason.
    pub shadow_denials: HashMap<String, Tally>,
}

/// Everything seen of one route action, or of one MCP tool of it.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// The route action.
    pub action: String,
    /// `tools/call search_customers`, `prompts/get summarize`... for an MCP entry.
    pub tool: Option<String>,
    /// The last mode seen.
    pub mode: Option<String>,
    /// Records.
    pub requests: u64,
    /// When.
    pub seen: Seen,
    /// Per outcome.
    pub decisions: Counts,
    /// Records per workload.
    pub callers: HashMap<String, u64>,
    /// Workloads whose requests passed, with how many.
    pub passed_callers: HashMap<String, u64>,
    /// Current actors (first of the chain) seen on requests that passed.
    pub actors: BTreeSet<String>,
    /// The deepest delegation on requests that passed.
    pub max_depth: usize,
    /// The longest remaining token lifetime on requests that passed.
    pub max_ttl: Option<u64>,
    /// Shadow denials per (workload, reason).
    pub shadow_denials: BTreeMap<(String, String), Tally>,
}

/// Decisions over time.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Width of a bucket (60 s, doubled as needed).
    pub bucket_seconds: i64,
    /// Bucket start → counts.
    pub buckets: BTreeMap<i64, Counts>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            bucket_seconds: 60,
            buckets: BTreeMap::new(),
        }
    }
}

impl Timeline {
    fn note(&mut self, time: i64, outcome: Outcome) {
        let start = time - time.rem_euclid(self.bucket_seconds);
        if let Some(count) = self
            .buckets
            .entry(start)
            .or_default()
            .get_mut(outcome.index())
        {
            *count += 1;
        }
        while self.buckets.len() > MAX_BUCKETS {
            self.coarsen();
        }
    }

    fn coarsen(&mut self) {
        self.bucket_seconds *= 2;
        let width = self.bucket_seconds;
        let old = std::mem::take(&mut self.buckets);
        for (start, counts) in old {
            let merged = self
                .buckets
                .entry(start - start.rem_euclid(width))
                .or_default();
            for (total, add) in merged.iter_mut().zip(counts) {
                *total += add;
            }
        }
    }
}

/// Input counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputCounts {
    /// Lines read.
    pub lines: u64,
    /// Records taken into account.
    pub records: u64,
    /// JSON lines without a record.
    pub without_record: u64,
    /// Lines that are not JSON objects, too long, or hold a malformed record.
    pub unreadable: u64,
    /// Records left out by `--since`, `--until` or `--workload`.
    pub filtered_out: u64,
}

/// The whole aggregation.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    /// Input counters.
    pub input: InputCounts,
    /// When, over all records.
    pub seen: Seen,
    /// Per outcome.
    pub decisions: Counts,
    /// Workloads by label.
    pub workloads: HashMap<String, Workload>,
    /// Routes by (action, tool).
    pub routes: HashMap<(String, Option<String>), Route>,
    /// (deny, shadow_deny) per reason.
    pub reasons: HashMap<String, (u64, u64)>,
    /// Decisions over time.
    pub timeline: Timeline,
    /// Policy hashes seen, with counts.
    pub policies: BTreeMap<String, u64>,
    /// Workloads and routes merged into `(other)`.
    pub truncated_workloads: u64,
    /// Routes merged into `(other)`.
    pub truncated_routes: u64,
}

/// The label a record's workload is reported under: its subject, or what is known without one.
pub fn workload_label(record: &Record) -> String {
    match (&record.subject, &record.provider) {
        (Some(subject), _) => subject.clone(),
        (None, Some(provider)) => format!("(unverified token of {provider})"),
        (None, None) => NO_TOKEN.to_string(),
    }
}

/// The MCP entry a record belongs to (`tools/call search_customers`), if any.
pub fn tool_of(record: &Record) -> Option<String> {
    let method = record.mcp_method.as_deref()?;
    Some(match record.mcp_name.as_deref() {
        Some(name) => format!("{method} {name}"),
        None => method.to_string(),
    })
}

/// `(key, count)` pairs, most first, ties by key: the order every table and finding lists them.
pub fn by_count<K: Ord>(items: impl Iterator<Item = (K, u64)>) -> Vec<(K, u64)> {
    let mut list: Vec<(K, u64)> = items.collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

fn insert_capped(set: &mut BTreeSet<String>, value: &str, cap: usize) {
    if set.len() < cap && !set.contains(value) {
        set.insert(value.to_string());
    }
}

impl Aggregate {
    /// Takes one record into account.
    pub fn add(&mut self, record: &Record) {
        self.input.records += 1;
        self.seen.note(record.time);
        let outcome = record.outcome;
        if let Some(count) = self.decisions.get_mut(outcome.index()) {
            *count += 1;
        }
        if let Some(time) = record.time {
            self.timeline.note(time, outcome);
        }
        if let Some(policy) = &record.policy {
            if self.policies.len() < 64 || self.policies.contains_key(policy) {
                *self.policies.entry(policy.clone()).or_default() += 1;
            }
        }
        if outcome.denied() {
            let entry = self.reasons.entry(record.reason.clone()).or_default();
            if outcome == Outcome::Deny {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        let label = self.workload_key(workload_label(record));
        self.add_to_workload(&label, record);
        if let Some(action) = &record.action {
            self.add_to_route(action.clone(), None, &label, record);
            if let Some(tool) = tool_of(record) {
                self.add_to_route(action.clone(), Some(tool), &label, record);
            }
        }
    }

    fn workload_key(&mut self, label: String) -> String {
        if self.workloads.contains_key(&label) || self.workloads.len() < MAX_WORKLOADS {
            label
        } else {
            self.truncated_workloads += 1;
            OTHER.to_string()
        }
    }

    fn add_to_workload(&mut self, label: &str, record: &Record) {
        let w = self.workloads.entry(label.to_string()).or_default();
        w.requests += 1;
        w.seen.note(record.time);
        if let Some(count) = w.decisions.get_mut(record.outcome.index()) {
            *count += 1;
        }
        if label != OTHER {
            w.subject.clone_from(&record.subject);
        }
        if record.provider.is_some() {
            w.provider.clone_from(&record.provider);
        }
        if let Some(action) = &record.action {
            if w.actions.len() < MAX_ROUTES || w.actions.contains_key(action) {
                *w.actions.entry(action.clone()).or_default() += 1;
            }
        }
        for scope in &record.scopes_granted {
            insert_capped(&mut w.granted, scope, MAX_SCOPES);
        }
        for scope in &record.scopes_required {
            if record.scopes_granted.contains(scope) {
                insert_capped(&mut w.used, scope, MAX_SCOPES);
            }
        }
        if let Some(ttl) = record.ttl {
            w.max_ttl = Some(w.max_ttl.map_or(ttl, |m| m.max(ttl)));
            if let (true, Some(action)) = (record.outcome.passed(), &record.action) {
                let longest = w.max_ttl_by_action.entry(action.clone()).or_default();
                *longest = (*longest).max(ttl);
            }
        }
        w.max_depth = w.max_depth.max(record.actor_chain.len());
        if !record.actor_chain.is_empty()
            && w.actor_chains.len() < MAX_ACTORS
            && !w.actor_chains.contains(&record.actor_chain)
        {
            w.actor_chains.insert(record.actor_chain.clone());
        }
        let denials = match record.outcome {
            Outcome::Deny => Some(&mut w.denials),
            Outcome::ShadowDeny => Some(&mut w.shadow_denials),
            _ => None,
        };
        if let Some(denials) = denials {
            denials
                .entry(record.reason.clone())
                .or_default()
                .note(record.time);
        }
    }

    fn add_to_route(&mut self, action: String, tool: Option<String>, label: &str, record: &Record) {
        let mut key = (action, tool);
        if !self.routes.contains_key(&key) && self.routes.len() >= MAX_ROUTES {
            self.truncated_routes += 1;
            key = (OTHER.to_string(), None);
        }
        let route = self.routes.entry(key.clone()).or_default();
        route.action = key.0;
        route.tool = key.1;
        route.requests += 1;
        route.seen.note(record.time);
        if record.mode.is_some() {
            route.mode.clone_from(&record.mode);
        }
        if let Some(count) = route.decisions.get_mut(record.outcome.index()) {
            *count += 1;
        }
        *route.callers.entry(label.to_string()).or_default() += 1;
        if record.outcome.passed() {
            *route.passed_callers.entry(label.to_string()).or_default() += 1;
            if let Some(actor) = record.actor_chain.first() {
                insert_capped(&mut route.actors, actor, MAX_ACTORS);
            }
            route.max_depth = route.max_depth.max(record.actor_chain.len());
            if let Some(ttl) = record.ttl {
                route.max_ttl = Some(route.max_ttl.map_or(ttl, |m| m.max(ttl)));
            }
        }
        if record.outcome == Outcome::ShadowDeny {
            route
                .shadow_denials
                .entry((label.to_string(), record.reason.clone()))
                .or_default()
                .note(record.time);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn record(subject: &str, outcome: Outcome, time: i64) -> Record {
        Record {
            time: Some(time),
            outcome,
            reason: if outcome.denied() {
                "insufficient_scope"
            } else {
                "allowed"
            }
            .into(),
            mode: Some("enforce".into()),
            action: Some("orders.read".into()),
            provider: Some("mesh".into()),
            subject: Some(subject.into()),
            ttl: Some(300),
            scopes_granted: vec!["orders:read".into(), "orders:write".into()],
            scopes_required: vec!["orders:read".into()],
            actor_chain: vec![],
            mcp_method: None,
            mcp_name: None,
            policy: Some("h".into()),
        }
    }

    #[test]
    fn scopes_granted_and_used_are_kept_per_workload() {
        let mut agg = Aggregate::default();
        agg.add(&record("a", Outcome::Allow, 100));
        let mut denied = record("a", Outcome::Deny, 200);
        denied.scopes_required = vec!["admin".into()];
        agg.add(&denied);
        let w = &agg.workloads["a"];
        assert_eq!(w.requests, 2);
        assert_eq!(
            w.granted.iter().collect::<Vec<_>>(),
            ["orders:read", "orders:write"]
        );
        // `admin` was required but not granted: not "used".
        assert_eq!(w.used.iter().collect::<Vec<_>>(), ["orders:read"]);
        assert_eq!(
            w.seen,
            Seen {
                first: Some(100),
                last: Some(200)
            }
        );
        assert_eq!(w.denials["insufficient_scope"].count, 1);
        assert_eq!(agg.reasons["insufficient_scope"], (1, 0));
    }

    #[test]
    fn workloads_past_the_cap_merge_into_other() {
        let mut agg = Aggregate::default();
        for n in 0..MAX_WORKLOADS + 5 {
            agg.add(&record(&format!("w{n}"), Outcome::Allow, 100));
        }
        assert_eq!(agg.workloads.len(), MAX_WORKLOADS + 1);
        assert_eq!(agg.workloads[OTHER].requests, 5);
        assert_eq!(agg.truncated_workloads, 5);
    }

    #[test]
    fn the_timeline_coarsens_to_stay_bounded() {
        let mut agg = Aggregate::default();
        for minute in 0..(MAX_BUCKETS as i64 * 3) {
            agg.add(&record("a", Outcome::Allow, minute * 60));
        }
        assert!(agg.timeline.buckets.len() <= MAX_BUCKETS);
        assert_eq!(agg.timeline.bucket_seconds, 240);
        let total: u64 = agg.timeline.buckets.values().map(|c| c[0]).sum();
        assert_eq!(total, MAX_BUCKETS as u64 * 3);
    }

    #[test]
    fn mcp_tools_are_routes_of_their_own_and_peaks_are_per_minute() {
        let mut agg = Aggregate::default();
        let mut call = record("agent", Outcome::ShadowDeny, 60);
        call.mcp_method = Some("tools/call".into());
        call.mcp_name = Some("delete_customer".into());
        call.reason = "revoked".into();
        for t in [60, 61, 62, 200] {
            call.time = Some(t);
            agg.add(&call);
        }
        let tool = &agg.routes[&(
            "orders.read".to_string(),
            Some("tools/call delete_customer".to_string()),
        )];
        assert_eq!(tool.requests, 4);
        let tally = &tool.shadow_denials[&("agent".to_string(), "revoked".to_string())];
        assert_eq!(tally.count, 4);
        assert_eq!(tally.peak_per_minute, 3);
        assert_eq!(agg.routes[&("orders.read".to_string(), None)].requests, 4);
    }
}
