//! A request's header list held in one buffer, decoded from the packed pair encoding Wasm hosts
//! hand to a filter (little-endian `u32` count, then a `u32` key size and value size per pair,
//! then each key and value followed by a NUL byte).
//!
//! Decoding copies the bytes once into one `String` and keeps spans: no allocation per header,
//! and no failure on any input. A header value that is not UTF-8 (HTTP allows obs-text bytes)
//! is kept with U+FFFD in place of the invalid bytes, so it can never make a token or name
//! match that the client did not send; a truncated or inconsistent buffer yields the pairs
//! decoded before the inconsistency and is reported by [`PackedHeaders::is_complete`].

use std::ops::Range;

/// Decoded header pairs: names and values as `&str` over one buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedHeaders {
    text: String,
    spans: Vec<(Range<usize>, Range<usize>)>,
    complete: bool,
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(word)).ok()
}

impl PackedHeaders {
    /// Decodes the packed encoding (an empty buffer is an empty list).
    pub fn decode(bytes: &[u8]) -> Self {
        let mut headers = PackedHeaders {
            text: String::with_capacity(bytes.len()),
            spans: Vec::new(),
            complete: bytes.is_empty(),
        };
        if bytes.is_empty() {
            return headers;
        }
        let Some(count) = read_u32(bytes, 0) else {
            return headers;
        };
        let Some(mut data) = count.checked_mul(8).and_then(|n| n.checked_add(4)) else {
            return headers;
        };
        if data > bytes.len() {
            return headers;
        }
        headers.spans.reserve(count);
        for index in 0..count {
            let sizes = 4 + index * 8;
            let (Some(key_size), Some(value_size)) =
                (read_u32(bytes, sizes), read_u32(bytes, sizes + 4))
            else {
                return headers;
            };
            let Some(key) = headers.take(bytes, &mut data, key_size) else {
                return headers;
            };
            let Some(value) = headers.take(bytes, &mut data, value_size) else {
                return headers;
            };
            headers.spans.push((key, value));
        }
        headers.complete = true;
        headers
    }

    /// Copies `size` bytes at `*at` (then skips the NUL) into the text; returns their span.
    fn take(&mut self, bytes: &[u8], at: &mut usize, size: usize) -> Option<Range<usize>> {
        let end = at.checked_add(size)?;
        let raw = bytes.get(*at..end)?;
        if bytes.get(end) != Some(&0) {
            return None;
        }
        *at = end + 1;
        let start = self.text.len();
        // The validating fast path (a word at a time over ASCII) first; the lossy decoder, a
        // byte at a time, only for a value that is not UTF-8.
        match std::str::from_utf8(raw) {
            Ok(text) => self.text.push_str(text),
            Err(_) => self.text.push_str(&String::from_utf8_lossy(raw)),
        }
        Some(start..self.text.len())
    }

    /// Whether the whole buffer decoded (else only the pairs before the inconsistency are here).
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.spans
            .iter()
            .map(|(key, value)| {
                (
                    self.text.get(key.clone()).unwrap_or(""),
                    self.text.get(value.clone()).unwrap_or(""),
                )
            })
            .collect()
    }

    /// The first value of `name` (compared exactly: hosts give lower-case names).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.spans.iter().find_map(|(key, value)| {
            (self.text.get(key.clone()) == Some(name))
                .then(|| self.text.get(value.clone()))
                .flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed encoding of `pairs` (what the host writes).
    fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (k, v) in pairs {
            out.extend((k.len() as u32).to_le_bytes());
            out.extend((v.len() as u32).to_le_bytes());
        }
        for (k, v) in pairs {
            out.extend(*k);
            out.push(0);
            out.extend(*v);
            out.push(0);
        }
        out
    }

    #[test]
    fn decodes_pairs_in_order() {
        let bytes = encode(&[
            (b":method", b"GET"),
            (b":path", b"/orders/42"),
            (b"authorization", b"Bearer a.b.c"),
            (b"x-empty", b""),
        ]);
        let headers = PackedHeaders::decode(&bytes);
        assert!(headers.is_complete());
        assert_eq!(
            headers.pairs(),
            vec![
                (":method", "GET"),
                (":path", "/orders/42"),
                ("authorization", "Bearer a.b.c"),
                ("x-empty", ""),
            ]
        );
        assert_eq!(headers.get(":path"), Some("/orders/42"));
        assert_eq!(headers.get("x-missing"), None);
        assert_eq!(headers.len(), 4);
        assert!(PackedHeaders::decode(&[]).is_empty());
        assert!(PackedHeaders::decode(&[]).is_complete());
    }

    #[test]
    fn non_utf8_values_are_kept_with_replacement_characters() {
        let bytes = encode(&[(b"x-raw", b"caf\xe9 \xff"), (b"after", b"ok")]);
        let headers = PackedHeaders::decode(&bytes);
        assert!(headers.is_complete());
        assert_eq!(headers.get("x-raw"), Some("caf\u{fffd} \u{fffd}"));
        assert_eq!(headers.get("after"), Some("ok"));
    }

    #[test]
    fn truncated_or_lying_buffers_never_panic() {
        let bytes = encode(&[(b"a", b"1"), (b"b", b"2")]);
        for cut in 1..bytes.len() {
            let headers = PackedHeaders::decode(&bytes[..cut]);
            assert!(!headers.is_complete(), "cut at {cut}");
            assert!(headers.len() <= 1);
        }
        let mut huge_count = bytes.clone();
        huge_count[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(!PackedHeaders::decode(&huge_count).is_complete());
        let mut huge_size = bytes.clone();
        huge_size[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let headers = PackedHeaders::decode(&huge_size);
        assert!(!headers.is_complete());
        assert!(headers.is_empty());
    }
}
