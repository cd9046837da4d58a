//! `headers::PackedHeaders::decode` on arbitrary bytes: the host's packed header list, which
//! the filter decodes on every request. It must never panic; a buffer that decodes completely
//! must be exactly the encoding of its pairs (when every byte was UTF-8), and `get` must find
//! the first pair of each name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workload_authz_core::headers::PackedHeaders;

/// The packed encoding of `pairs`, as a host writes it.
fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
    for (k, v) in pairs {
        out.extend((k.len() as u32).to_le_bytes());
        out.extend((v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend(k.as_bytes());
        out.push(0);
        out.extend(v.as_bytes());
        out.push(0);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let headers = PackedHeaders::decode(data);
    let pairs = headers.pairs();
    // The zero-copy decoder the filter uses reads the same pairs.
    let owned = PackedHeaders::decode_owned(data.to_vec());
    assert_eq!(owned.pairs(), pairs, "decode_owned and decode disagree");
    assert_eq!(owned.is_complete(), headers.is_complete());
    assert_eq!(pairs.len(), headers.len());
    for (index, (name, _)) in pairs.iter().enumerate() {
        let first = pairs.iter().position(|(n, _)| n == name);
        assert!(first.is_some_and(|f| f <= index));
        let first_value = first.and_then(|f| pairs.get(f)).map(|(_, v)| *v);
        assert_eq!(headers.get(name), first_value, "get({name:?})");
    }
    let replaced = pairs
        .iter()
        .any(|(k, v)| k.contains('\u{fffd}') || v.contains('\u{fffd}'));
    // (An empty buffer is the empty list, which the host never encodes as zero bytes.)
    if headers.is_complete() && !replaced && !data.is_empty() {
        let encoded = encode(&pairs);
        assert!(
            data.starts_with(&encoded),
            "a complete decode is a prefix-exact encoding of its pairs"
        );
    }
});
