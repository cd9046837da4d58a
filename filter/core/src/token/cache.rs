//! A verified-token cache: a token whose signature verified is kept (parsed) until `exp`, so a
//! workload reusing its token within the token's lifetime costs no signature check and no JSON
//! parsing. Only those two steps are skipped: time, audience, revocation and every route
//! requirement still run on every request. Bounded (oldest evicted), and emptied whenever a key
//! set or the revocation list changes.

use super::jws::{Claims, Header, Jws};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// Default number of entries per worker.
pub const DEFAULT_ENTRIES: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    token: String,
    header: Rc<Header>,
    claims: Rc<Claims>,
}

/// The cache of one worker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenCache {
    capacity: usize,
    entries: HashMap<u64, Entry>,
    order: VecDeque<u64>,
}

/// A fast, non-cryptographic hash of the token (FxHash's word-at-a-time mix). A collision only
/// costs a cache miss: a hit also compares the whole token, and only verified tokens get in.
fn key(token: &str) -> u64 {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut hash = token.len() as u64;
    let mut words = token.as_bytes().chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(bytes)).wrapping_mul(SEED);
    }
    for byte in words.remainder() {
        hash = (hash.rotate_left(5) ^ u64::from(*byte)).wrapping_mul(SEED);
    }
    hash
}

impl TokenCache {
    /// A cache of at most `capacity` tokens (0 disables it).
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            capacity,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Number of cached tokens.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The parsed token, if `token` (compared in full) verified before and has not expired.
    pub fn get<'t>(&self, token: &'t str, now: u64) -> Option<Jws<'t>> {
        let entry = self.entries.get(&key(token))?;
        if entry.token != token || entry.claims.exp.is_some_and(|exp| now >= exp) {
            return None;
        }
        Some(Jws {
            compact: token,
            signing_input: "",
            signature: Vec::new(),
            header: Rc::clone(&entry.header),
            claims: Rc::clone(&entry.claims),
        })
    }

    /// Remembers a token whose signature just verified.
    pub fn insert(&mut self, jws: &Jws<'_>) {
        if self.capacity == 0 {
            return;
        }
        let k = key(jws.compact);
        if self.entries.contains_key(&k) {
            return;
        }
        while self.entries.len() >= self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
        self.entries.insert(
            k,
            Entry {
                token: jws.compact.to_string(),
                header: Rc::clone(&jws.header),
                claims: Rc::clone(&jws.claims),
            },
        );
        self.order.push_back(k);
    }

    /// Forgets everything (a key set or the revocation list changed).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::parse;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn token(n: u64, exp: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#);
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"n":{n},"exp":{exp}}}"#));
        format!("{header}.{claims}.c2ln")
    }

    #[test]
    fn hits_until_exp_and_evicts_the_oldest() {
        let mut cache = TokenCache::new(2);
        let (a, b, c) = (token(1, 100), token(2, 100), token(3, 100));
        for t in [&a, &b] {
            cache.insert(&parse(t).unwrap());
        }
        assert!(cache.get(&a, 50).is_some());
        assert!(cache.get(&a, 100).is_none(), "expired");
        cache.insert(&parse(&c).unwrap());
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&a, 50).is_none(), "oldest evicted");
        assert!(cache.get(&b, 50).is_some() && cache.get(&c, 50).is_some());
        cache.clear();
        assert!(cache.is_empty());
        let mut off = TokenCache::new(0);
        off.insert(&parse(&a).unwrap());
        assert!(off.get(&a, 50).is_none());
    }
}
