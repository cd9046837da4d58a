//! A request's header list held in one buffer, decoded from the packed pair encoding Wasm hosts
//! hand to a filter (little-endian `u32` count, then a `u32` key size and value size per pair,
//! then each key and value followed by a NUL byte).
//!
//! Decoding keeps one `String` and spans into it, no allocation per header and no failure on
//! any input: the host's own buffer when it is whole and UTF-8 ([`PackedHeaders::decode_owned`]),
//! else one copy of the pairs. A header value that is not UTF-8 (HTTP allows obs-text bytes)
//! is kept with U+FFFD in place of the invalid bytes, so it can never make a token or name
//! match that the client did not send; a truncated or inconsistent buffer yields the pairs
//! decoded before the inconsistency and is reported by [`PackedHeaders::is_complete`].

use std::ops::Range;

/// Where one header's name and value are in the text.
type Span = (Range<usize>, Range<usize>);

/// Decoded header pairs: names and values as `&str` over one buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedHeaders {
    text: String,
    spans: Vec<Span>,
    complete: bool,
}

/// The spans of the names and values of `bytes` as far as it is consistent, where the data
/// starts, and whether the whole buffer was (an empty buffer is a whole, empty list).
fn spans_of(bytes: &[u8]) -> (Vec<Span>, usize, bool) {
    if bytes.is_empty() {
        return (Vec::new(), 0, true);
    }
    let Some((count, data_start)) = read_u32(bytes, 0).and_then(|count| {
        let data_start = count.checked_mul(8)?.checked_add(4)?;
        (data_start <= bytes.len()).then_some((count, data_start))
    }) else {
        return (Vec::new(), 0, false);
    };
    let mut at = data_start;
    let mut spans = Vec::with_capacity(count);
    let span = |at: &mut usize, size: usize| -> Option<Range<usize>> {
        let end = at.checked_add(size)?;
        if bytes.get(end) != Some(&0) {
            return None;
        }
        let range = *at..end;
        *at = end + 1;
        Some(range)
    };
    for index in 0..count {
        let sizes = 4 + index * 8;
        let mut pair = || {
            let key = span(&mut at, read_u32(bytes, sizes)?)?;
            let value = span(&mut at, read_u32(bytes, sizes + 4)?)?;
            Some((key, value))
        };
        match pair() {
            Some(pair) => spans.push(pair),
            None => return (spans, data_start, false),
        }
    }
    (spans, data_start, true)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(word)).ok()
}

impl PackedHeaders {
    /// Decodes the packed encoding the host handed over, without copying it: the buffer becomes
    /// the text (its size words zeroed) when it is whole and all UTF-8, which is one validation
    /// pass and no copy; otherwise the pairs are copied as [`PackedHeaders::decode`] does.
    pub fn decode_owned(mut bytes: Vec<u8>) -> Self {
        let (spans, data_start, complete) = spans_of(&bytes);
        if !complete {
            return PackedHeaders::copied(&bytes, &spans, false);
        }
        if let Some(prefix) = bytes.get_mut(..data_start) {
            prefix.fill(0);
        }
        match String::from_utf8(bytes) {
            Ok(text) => PackedHeaders {
                text,
                spans,
                complete,
            },
            Err(error) => PackedHeaders::copied(error.as_bytes(), &spans, complete),
        }
    }

    /// Decodes the packed encoding (an empty buffer is an empty list).
    pub fn decode(bytes: &[u8]) -> Self {
        let (spans, _, complete) = spans_of(bytes);
        PackedHeaders::copied(bytes, &spans, complete)
    }

    /// The pairs at `spans` of `bytes`, each copied, with U+FFFD for bytes that are not UTF-8.
    fn copied(bytes: &[u8], spans: &[Span], complete: bool) -> Self {
        let mut headers = PackedHeaders {
            text: String::with_capacity(bytes.len()),
            spans: Vec::with_capacity(spans.len()),
            complete,
        };
        let copy = |range: &Range<usize>, text: &mut String| {
            let raw = bytes.get(range.clone()).unwrap_or_default();
            let start = text.len();
            // The validating fast path (a word at a time over ASCII) first; the lossy decoder,
            // a byte at a time, only for a value that is not UTF-8.
            match std::str::from_utf8(raw) {
                Ok(valid) => text.push_str(valid),
                Err(_) => text.push_str(&String::from_utf8_lossy(raw)),
            }
            start..text.len()
        };
        for (key, value) in spans {
            let key = copy(key, &mut headers.text);
            let value = copy(value, &mut headers.text);
            headers.spans.push((key, value));
        }
        headers
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
        self.iter().collect()
    }

    /// The pairs, in order, without collecting them.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        self.spans.iter().map(|(key, value)| {
            (
                self.text.get(key.clone()).unwrap_or(""),
                self.text.get(value.clone()).unwrap_or(""),
            )
        })
    }

    /// The first value of `name` (compared exactly: hosts give lower-case names).
    pub fn get(&self, name: &str) -> Option<&str> {
        let bytes = self.text.as_bytes();
        let (_, value) = self.spans.iter().find(|(key, _)| {
            key.len() == name.len() && bytes.get(key.clone()) == Some(name.as_bytes())
        })?;
        self.text.get(value.clone())
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
    fn the_zero_copy_decoder_reads_what_the_copying_one_reads() {
        let good = encode(&[
            (b":path", b"/a"),
            (b"authorization", b"Bearer t"),
            (b"e", b""),
        ]);
        let raw = encode(&[(b"x-raw", b"caf\xe9"), (b"after", b"ok")]);
        let mut trailing = good.clone();
        trailing.extend(b"\xff\xfe");
        let mut inputs = vec![good.clone(), raw, trailing, Vec::new()];
        inputs.extend((1..good.len()).map(|cut| good[..cut].to_vec()));
        for bytes in inputs {
            let copied = PackedHeaders::decode(&bytes);
            let owned = PackedHeaders::decode_owned(bytes.clone());
            assert_eq!(owned.pairs(), copied.pairs(), "{bytes:?}");
            assert_eq!(owned.is_complete(), copied.is_complete(), "{bytes:?}");
            assert_eq!(owned.get(":path"), copied.get(":path"));
        }
        let owned = PackedHeaders::decode_owned(good);
        assert_eq!(owned.get("authorization"), Some("Bearer t"));
        assert_eq!(owned.len(), 3);
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
