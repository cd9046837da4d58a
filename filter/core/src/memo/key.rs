//! The memo key: every part of a request the engine can read, length-prefixed so that no two
//! different requests share one.

use crate::config::Policy;
use crate::engine::RequestView;

/// A request as the memo reads it: its line and its headers in order, from any container (the
/// plugin's packed header buffer, without collecting it, or a [`RequestView`]).
#[derive(Debug, Clone)]
pub struct RequestParts<'a, I> {
    /// `:method`.
    pub method: &'a str,
    /// `:path`.
    pub path: &'a str,
    /// `:authority`.
    pub authority: &'a str,
    /// The headers, names and values, in order.
    pub headers: I,
}

impl<'a> RequestParts<'a, ()> {
    /// The parts of a [`RequestView`].
    pub fn of<H: AsRef<str>>(
        request: &RequestView<'a, H>,
    ) -> RequestParts<'a, impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone> {
        RequestParts {
            method: request.method,
            path: request.path,
            authority: request.authority,
            headers: request
                .headers
                .iter()
                .map(|(name, value)| (name.as_ref(), value.as_ref())),
        }
    }
}

impl<'a, I: Iterator<Item = (&'a str, &'a str)>> RequestParts<'a, I> {
    /// `f` over the [`RequestView`] of this request (its headers collected once).
    pub fn with_view<T>(self, f: impl FnOnce(&RequestView<'_, &'a str>) -> T) -> T {
        let headers: Vec<(&str, &str)> = self.headers.collect();
        f(&RequestView {
            method: self.method,
            path: self.path,
            authority: self.authority,
            headers: &headers,
        })
    }
}

/// Longest key kept (a request with a larger one is decided afresh every time).
pub const MAX_KEY_BYTES: usize = 8 * 1024;

/// The header names a policy can read: every provider's token headers (access and transaction
/// tokens) and every route's `headers_read` (templates, MCP headers). Lowercase, once each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInputs {
    headers: Vec<String>,
    /// Bit `n` set: some name in `headers` is `n` bytes long (`n` < 64); a quick "no" for most
    /// request headers.
    lengths: u64,
}

impl KeyInputs {
    /// The inputs of `policy`.
    pub fn of(policy: &Policy) -> Self {
        let mut headers: Vec<String> = Vec::new();
        let provider_headers = policy
            .providers
            .iter()
            .flat_map(|p| p.from_headers.iter().map(|h| h.name.as_str()));
        let route_headers = policy
            .routes
            .iter()
            .flat_map(|r| r.headers_read.iter().map(String::as_str));
        let match_headers = policy.match_headers.iter().map(String::as_str);
        for name in provider_headers.chain(route_headers).chain(match_headers) {
            let name = name.to_ascii_lowercase();
            if !headers.contains(&name) {
                headers.push(name);
            }
        }
        let lengths = headers
            .iter()
            .fold(0u64, |bits, h| bits | length_bit(h.len()));
        KeyInputs { headers, lengths }
    }

    /// Whether the engine may read header `name` (compared as the engine does, ignoring case).
    pub fn reads_header(&self, name: &str) -> bool {
        self.lengths & length_bit(name.len()) != 0
            && self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// The key of `request`; `None` when it would be over [`MAX_KEY_BYTES`].
    pub fn key<H: AsRef<str>>(&self, request: &RequestView<'_, H>) -> Option<Vec<u8>> {
        let mut key = Vec::new();
        let parts = RequestParts::of(request);
        self.write_key(&parts, &mut key).then_some(key)
    }

    /// Writes the key of `request` into `key` (cleared first, its allocation reused); `false`
    /// when it would be over [`MAX_KEY_BYTES`].
    pub fn write_key<'a, I>(&self, request: &RequestParts<'a, I>, key: &mut Vec<u8>) -> bool
    where
        I: ExactSizeIterator<Item = (&'a str, &'a str)> + Clone,
    {
        key.clear();
        push(key, request.method);
        push(key, request.path);
        push(key, request.authority);
        key.extend_from_slice(&length(request.headers.len()));
        for (name, value) in request.headers.clone() {
            if self.reads_header(name) {
                push(key, name);
                push(key, value);
                if key.len() > MAX_KEY_BYTES {
                    return false;
                }
            }
        }
        key.len() <= MAX_KEY_BYTES
    }
}

/// The bit of a name length in [`KeyInputs::lengths`] (every length of 63 and over shares bit
/// 63, so a long name is never ruled out by length alone).
fn length_bit(len: usize) -> u64 {
    1u64 << len.min(63)
}

fn push(key: &mut Vec<u8>, part: &str) {
    key.extend_from_slice(&length(part.len()));
    key.extend_from_slice(part.as_bytes());
}

fn length(n: usize) -> [u8; 8] {
    (n as u64).to_le_bytes()
}
