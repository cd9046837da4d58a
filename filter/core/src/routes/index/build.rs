//! Building a [`RouteIndex`]: each route's template read segment by segment into the trie, the
//! route filed at the node it ends at under each host it accepts.

use super::{host_entries, host_key, Bucket, Node, RouteIndex};
use crate::routes::clean::uppercase_escapes;
use crate::routes::{HostPattern, RouteMatch};
use std::borrow::Cow;

/// One segment of a template, as the trie sees it.
enum Part<'t> {
    /// A literal segment, canonical (escapes in uppercase hex, as [`crate::routes::PathPattern`]
    /// compares them).
    Literal(Cow<'t, str>),
    /// `{capture}` or `*`: any non-empty segment.
    Any,
}

/// Indexes `matchers` in order.
pub(super) fn index<'m>(matchers: impl IntoIterator<Item = &'m RouteMatch>) -> RouteIndex {
    let mut index = RouteIndex {
        nodes: vec![Node::default()],
        routes: 0,
    };
    for (id, matcher) in matchers.into_iter().enumerate() {
        index.insert(id, matcher);
        index.routes = id + 1;
    }
    index
}

impl RouteIndex {
    /// Files route `id` (ids come in ascending order, so every list stays sorted).
    fn insert(&mut self, id: usize, matcher: &RouteMatch) {
        let (parts, rest) = parts(matcher.path.as_str());
        let mut node = 0;
        for part in &parts {
            node = self.child(node, part);
        }
        let Some(node) = self.nodes.get_mut(node) else {
            return;
        };
        let bucket = if rest { &mut node.rest } else { &mut node.ends };
        bucket.add(id, matcher.hosts.as_deref());
    }

    /// The child of `parent` along `part`, made if missing.
    fn child(&mut self, parent: usize, part: &Part<'_>) -> usize {
        let existing = self.nodes.get(parent).and_then(|node| match part {
            Part::Literal(text) => node.literals.get(text.as_ref()).copied(),
            Part::Any => node.any,
        });
        if let Some(child) = existing {
            return child;
        }
        let child = self.nodes.len();
        self.nodes.push(Node::default());
        if let Some(node) = self.nodes.get_mut(parent) {
            match part {
                Part::Literal(text) => {
                    node.literals.insert(text.as_ref().into(), child);
                }
                Part::Any => node.any = Some(child),
            }
        }
        child
    }
}

impl Bucket {
    /// Files route `id` under each host it accepts.
    fn add(&mut self, id: usize, hosts: Option<&[HostPattern]>) {
        let Some(patterns) = host_entries(hosts) else {
            push_once(&mut self.any_host, id);
            return;
        };
        let hosts = self.hosts.get_or_insert_with(Box::default);
        for pattern in patterns {
            let (map, key) = match pattern {
                HostPattern::Exact(exact) => (&mut hosts.exact, host_key(exact)),
                HostPattern::Suffix(suffix) => (&mut hosts.suffix, suffix.as_str()),
                HostPattern::Any => continue, // `host_entries` files those under any host.
            };
            match map.get_mut(key) {
                Some(list) => push_once(list, id),
                None => {
                    map.insert(key.into(), vec![id]);
                }
            }
        }
    }
}

/// Appends `id` unless it is already the last (two patterns of one route on the same key).
fn push_once(list: &mut Vec<usize>, id: usize) {
    if list.last() != Some(&id) {
        list.push(id);
    }
}

/// A compiled template's segments and whether it ends in `**`. The template compiled, so every
/// segment is a literal, `*`, `{name}` or (last) `**`.
fn parts(template: &str) -> (Vec<Part<'_>>, bool) {
    let body = template.strip_prefix('/').unwrap_or(template);
    if body.is_empty() {
        return (Vec::new(), false); // `/`: the root.
    }
    let mut parts = Vec::new();
    let mut rest = false;
    for segment in body.split('/') {
        if segment == "**" {
            rest = true;
        } else if segment == "*" || segment.starts_with('{') {
            parts.push(Part::Any);
        } else {
            parts.push(Part::Literal(uppercase_escapes(segment)));
        }
    }
    (parts, rest)
}
