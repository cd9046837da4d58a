//! The compiled route index: which routes a request can reach, found without trying every
//! route in turn (first match wins, so a policy of 10,000 routes is as quick as one of 10).
//!
//! A trie of the templates' segments: an edge per literal segment and one for `{capture}` and
//! `*` (any non-empty segment); a route sits at the node its template ends at (`ends`), or, with
//! a final `**`, at the node before it (`rest`: it matches there and at any depth below). A path
//! walks every edge its segments take, so the routes found match the path exactly as
//! [`super::PathPattern::matches`] would. At each node the routes are split by the hosts they
//! accept (exact names, `*.suffix`, any), each list in route order. The methods, the port of an
//! exact host and every other detail are then checked on the few routes found, and the lowest
//! position whose whole `match` fits wins: the answer of the in-order scan, which the index may
//! over-approximate but never miss.

use super::host::{Authority, HostPattern};
use super::RouteMatch;
mod build;
mod fnv;

use fnv::TextMap;

/// The routes' `match` blocks, indexed by path segment and host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteIndex {
    /// The trie; the root is the first node.
    nodes: Vec<Node>,
    /// How many routes the index was built from.
    routes: usize,
}

/// One node of the trie: the path prefix of its edges from the root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Node {
    /// Children by literal segment (canonical: escapes in uppercase hex).
    literals: TextMap<usize>,
    /// The child for `{capture}` and `*`: any non-empty segment.
    any: Option<usize>,
    /// Routes whose template ends here.
    ends: Bucket,
    /// Routes whose template ends here with a final `**` (any further segments).
    rest: Bucket,
}

/// Routes at one node, by the hosts they accept; every list in ascending route order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Bucket {
    /// No `hosts`, or `*` among them.
    any_host: Vec<usize>,
    /// By host name, for routes whose `hosts` are exact names and `*.suffix` patterns only.
    hosts: Option<Box<Hosts>>,
}

/// The host-keyed lists of a [`Bucket`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Hosts {
    /// By the host of an exact pattern (its port aside: [`host_key`]).
    exact: TextMap<Vec<usize>>,
    /// By the suffix of a `*.suffix` pattern (with its leading dot).
    suffix: TextMap<Vec<usize>>,
}

impl RouteIndex {
    /// Indexes `matchers`, in route order: a route's id is its position here.
    pub fn new<'m>(matchers: impl IntoIterator<Item = &'m RouteMatch>) -> RouteIndex {
        build::index(matchers)
    }

    /// How many routes the index was built from.
    pub fn len(&self) -> usize {
        self.routes
    }

    /// Whether it was built from no route.
    pub fn is_empty(&self) -> bool {
        self.routes == 0
    }

    /// How many trie nodes it holds (its size, for tests and diagnostics).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The routes that may match `path` at `authority` (canonical, as
    /// [`super::canonical_authority`] returns it), in ascending order, each once: every route
    /// whose path template and hosts match is among them; methods are not looked at, nor the
    /// port of an exact host.
    pub fn candidates(&self, path: &str, authority: &Authority<'_>) -> Vec<usize> {
        let mut found = Vec::new();
        self.lists(path, authority, |list| found.extend_from_slice(list));
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The first route (lowest id) whose `match` fits the request, with its captures: what
    /// trying every route in order gives. `route` looks a route's `match` up by id (the list
    /// the index was built from). Only the routes found are looked at, and only the winner's
    /// captures are collected.
    /// `fits` is the rest of a route's `match` the index does not file by (its header
    /// conditions).
    pub fn first_match<'m, 'p>(
        &self,
        method: &str,
        path: &'p str,
        authority: &Authority<'_>,
        route: impl Fn(usize) -> Option<&'m RouteMatch>,
        fits: impl Fn(&RouteMatch) -> bool,
    ) -> Option<(usize, Vec<&'p str>)> {
        let mut best: Option<usize> = None;
        self.lists(path, authority, |list| {
            for &id in list {
                if best.is_some_and(|b| id >= b) {
                    break;
                }
                let admitted = route(id).is_some_and(|m| {
                    admits(m, method, authority)
                        && fits(m)
                        && !m.not_paths.iter().any(|p| p.matches(path).is_some())
                });
                if admitted {
                    best = Some(id);
                    break;
                }
            }
        });
        let id = best?;
        let matched = route(id).and_then(|m| m.try_match(method, path, authority).ok());
        match matched {
            Some(captures) => Some((id, captures)),
            // The index and the templates disagree (never, but then the scan decides).
            None => (0..)
                .map_while(|i| route(i).map(|m| (i, m)))
                .filter(|(_, m)| fits(m))
                .find_map(|(i, m)| m.try_match(method, path, authority).ok().map(|c| (i, c))),
        }
    }

    /// Calls `each` with every list of routes `path` reaches at `authority`'s host.
    fn lists<'s>(
        &'s self,
        path: &str,
        authority: &Authority<'_>,
        mut each: impl FnMut(&'s [usize]),
    ) {
        let Some(body) = path.strip_prefix('/') else {
            return; // No template matches a path without its leading `/`.
        };
        let segments = (!body.is_empty()).then_some(body);
        let host = authority.host.as_ref();
        self.walk(0, segments, &mut |bucket: &'s Bucket| {
            bucket.lists(host, &mut each)
        });
    }

    /// From `node`, with the path's `remaining` segments (`None`: the path ends at `node`):
    /// calls `visit` with the `rest` of every node on the way and the `ends` of the last.
    fn walk<'s>(
        &'s self,
        node: usize,
        remaining: Option<&str>,
        visit: &mut impl FnMut(&'s Bucket),
    ) {
        let Some(node) = self.nodes.get(node) else {
            return;
        };
        visit(&node.rest);
        let Some(remaining) = remaining else {
            visit(&node.ends);
            return;
        };
        // A byte search: cheaper than a `char` pattern on segments this short.
        let slash = remaining.bytes().position(|b| b == b'/');
        let (segment, tail) = match slash.and_then(|at| remaining.split_at_checked(at)) {
            Some((segment, slash_tail)) => (segment, slash_tail.get(1..)),
            None => (remaining, None),
        };
        if let Some(&child) = node.literals.get(segment) {
            self.walk(child, tail, visit);
        }
        if let Some(child) = node.any.filter(|_| !segment.is_empty()) {
            self.walk(child, tail, visit);
        }
    }
}

impl Bucket {
    /// Calls `each` with the lists of the routes here that may accept `host`.
    fn lists<'b>(&'b self, host: &str, each: &mut impl FnMut(&'b [usize])) {
        if !self.any_host.is_empty() {
            each(&self.any_host);
        }
        let Some(hosts) = &self.hosts else {
            return;
        };
        if let Some(list) = hosts.exact.get(host_key(host)) {
            each(list);
        }
        if hosts.suffix.is_empty() {
            return;
        }
        // `*.example.com` matches hosts longer than `.example.com` ending in it: look the
        // host up from each of its dots.
        for (at, _) in host.match_indices('.') {
            if let Some(list) = host.get(at..).and_then(|s| hosts.suffix.get(s)) {
                each(list);
            }
        }
    }
}

/// The host of an exact pattern or authority, without its port: up to the first `]` of an IPv6
/// literal, else up to the first `:`. The same for `name` and `name:port`, so a pattern is
/// found under the host of every authority it matches.
fn host_key(text: &str) -> &str {
    let end = match text.find(']') {
        Some(close) if text.starts_with('[') => close + 1,
        _ => text.find(':').unwrap_or(text.len()),
    };
    text.get(..end).unwrap_or(text)
}

/// Whether a route's methods and hosts accept the request: the part of
/// [`RouteMatch::try_match`] before the path.
fn admits(m: &RouteMatch, method: &str, authority: &Authority<'_>) -> bool {
    let method_ok = m.method_fits(method);
    let host_ok = m
        .hosts
        .as_ref()
        .is_none_or(|hosts| hosts.iter().any(|h| h.matches(authority)));
    method_ok && host_ok
}

/// Where a route with `hosts` is filed: `None` for one that accepts any host.
fn host_entries(hosts: Option<&[HostPattern]>) -> Option<impl Iterator<Item = &HostPattern>> {
    let hosts = hosts?;
    (!hosts.contains(&HostPattern::Any)).then(|| hosts.iter())
}
