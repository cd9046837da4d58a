//! The memo's table: entries found by a seeded hash of their key, each candidate's key then
//! compared whole, a word at a time (the byte loop `memcmp` compiles to costs several
//! instructions per byte of token under a Wasm runtime).

use foldhash::fast::SeedableRandomState;
use foldhash::SharedSeed;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::OnceLock;

/// The entries whose keys share one hash (almost always one).
type Bucket<T> = Vec<(Box<[u8]>, T)>;

/// Entries by key bytes.
#[derive(Debug)]
pub(super) struct KeyTable<T> {
    hasher: SeedableRandomState,
    buckets: HashMap<u64, Bucket<T>, BuildHasherDefault<Prehashed>>,
    len: usize,
}

impl<T> KeyTable<T> {
    pub(super) fn new() -> Self {
        KeyTable {
            hasher: seeded(),
            buckets: HashMap::default(),
            len: 0,
        }
    }

    /// The entry whose key is `key`.
    pub(super) fn get(&self, key: &[u8]) -> Option<&T> {
        let bucket = self.buckets.get(&self.hasher.hash_one(key))?;
        bucket
            .iter()
            .find(|(k, _)| same_bytes(k, key))
            .map(|(_, value)| value)
    }

    /// Keeps `value` under `key`, in place of any entry with that key.
    pub(super) fn insert(&mut self, key: &[u8], value: T) {
        let bucket = self.buckets.entry(self.hasher.hash_one(key)).or_default();
        match bucket.iter_mut().find(|(k, _)| same_bytes(k, key)) {
            Some(entry) => entry.1 = value,
            None => {
                bucket.push((key.into(), value));
                self.len += 1;
            }
        }
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Drops every entry.
    pub(super) fn clear(&mut self) {
        self.buckets.clear();
        self.len = 0;
    }
}

/// Whether `a` and `b` hold the same bytes, compared eight at a time.
#[inline]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails_equal = a_words.remainder() == b_words.remainder();
    tails_equal && a_words.zip(b_words).all(|(x, y)| word(x) == word(y))
}

/// The eight bytes of a chunk as one word (inlined: a call per word would cost more than the
/// byte loop it replaces).
#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_le_bytes)
}

/// foldhash (a few instructions per 16 bytes, where SipHash takes several per byte and keys
/// hold whole tokens), seeded from the host's randomness (std's `RandomState`: WASI
/// `random_get`) so that colliding keys cannot be made in advance. Equal hashes never make
/// equal keys: every candidate's key is compared whole.
fn seeded() -> SeedableRandomState {
    static SHARED: OnceLock<SharedSeed> = OnceLock::new();
    let shared = SHARED.get_or_init(|| SharedSeed::from_u64(random_u64()));
    SeedableRandomState::with_seed(random_u64(), shared)
}

fn random_u64() -> u64 {
    RandomState::new().hash_one(0u8)
}

/// The outer map's hasher: its keys are already seeded hashes.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_compare_whole_words_and_tails() {
        for len in 0..40 {
            let a: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert!(same_bytes(&a, &a.clone()));
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x80;
                assert!(!same_bytes(&a, &b), "len {len}, byte {at}");
            }
            assert!(!same_bytes(&a, &a[..len.saturating_sub(1)]) || len == 0);
        }
    }

    #[test]
    fn entries_are_found_by_their_whole_key_and_replaced() {
        let mut table = KeyTable::new();
        table.insert(b"alpha", 1);
        table.insert(b"beta", 2);
        table.insert(b"alpha", 3);
        assert_eq!(table.len(), 2);
        assert_eq!(table.get(b"alpha"), Some(&3));
        assert_eq!(table.get(b"beta"), Some(&2));
        assert_eq!(table.get(b"alph"), None);
        table.clear();
        assert_eq!((table.len(), table.get(b"beta")), (0, None));
    }
}
