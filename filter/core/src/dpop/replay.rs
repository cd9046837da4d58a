//! The proof replay cache: every accepted proof's `jti` (with its key's thumbprint) is recorded
//! in proxy-wasm shared data, so a proof accepted by one worker VM is refused by every other.
//!
//! Layout: [`SHARDS`] keys `workload_authz.dpop_jti.<n>`, each a list of 24-byte entries
//! (8-byte big-endian expiry, then the first 16 bytes of SHA-256 of `jkt`, NUL, `jti`). A proof
//! goes to the shard its hash names; the shard is read, expired entries dropped, the proof
//! looked up, then appended and written back with the CAS token read, retried on a conflicting
//! write. Entries expire with the proof's window (`iat + iat_window_seconds`), after which the
//! `iat` check refuses the proof anyway.
//!
//! Cost: each proof copies, scans and rewrites one shard, so the shards are many and small (a
//! million live proofs are about a thousand per shard, 23 KiB); their number is fixed, not
//! derived from the capacity, so a configuration change never moves a live proof to a shard
//! where it would not be found.
//!
//! Bounded: a shard holds at most [`ReplayCache::per_shard`] live entries, its share of the
//! capacity plus as much again (at least 8) for an uneven spread, so the host holds at most about
//! twice `capacity` entries. When a shard is full of live entries, or shared data fails, the
//! proof is refused (fail closed).

use crate::sync::{HostStatus, SetError, SharedData, CAS_ATTEMPTS};
use std::rc::Rc;

/// Number of shared-data keys the cache is spread over: small shards keep the per-proof copy
/// cheap and CAS conflicts between workers rare.
pub const SHARDS: usize = 1024;
/// Slack over a shard's share of the capacity, at least this many entries.
const MIN_SLACK: usize = 8;
const ENTRY_BYTES: usize = 24;
const KEY_PREFIX: &str = "workload_authz.dpop_jti.";

/// The verdict on one proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Not seen before: now recorded.
    Fresh,
    /// Seen before within its window.
    Replayed,
    /// Could not be recorded (the shard is full of live entries, or shared data failed after
    /// retries): refused, as accepting it could let a replay through.
    Unrecorded,
}

/// The cache over some shared data (the host's, or an in-memory one).
#[derive(Clone)]
pub struct ReplayCache {
    store: Rc<dyn SharedData>,
    per_shard: usize,
}

impl std::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayCache")
            .field("per_shard", &self.per_shard)
            .finish()
    }
}

impl PartialEq for ReplayCache {
    /// Two caches compare by their bounds (the store is shared state, not a value).
    fn eq(&self, other: &Self) -> bool {
        self.per_shard == other.per_shard
    }
}

impl Default for ReplayCache {
    fn default() -> Self {
        ReplayCache::in_memory(crate::config::limits::DEFAULT_DPOP_REPLAY_ENTRIES)
    }
}

impl ReplayCache {
    /// A cache of at most `capacity` live entries over `store`.
    pub fn new(store: Rc<dyn SharedData>, capacity: usize) -> Self {
        let share = capacity.div_ceil(SHARDS).max(1);
        ReplayCache {
            store,
            per_shard: share + share.max(MIN_SLACK),
        }
    }

    /// The most live entries one shard holds.
    pub fn per_shard(&self) -> usize {
        self.per_shard
    }

    /// A cache over in-memory shared data (one process: the CLI, tests).
    pub fn in_memory(capacity: usize) -> Self {
        let cache = ReplayCache::new(Rc::new(crate::sync::fake::FakeSharedData::new()), capacity);
        cache.create_shards();
        cache
    }

    /// Writes every shard key that does not exist yet (empty). Envoy checks a CAS token only
    /// on a key that exists, so two workers creating one shard at once could lose an entry:
    /// the plugin creates them all when it is configured, before it serves a request.
    pub fn create_shards(&self) {
        for shard in 0..SHARDS {
            let key = format!("{KEY_PREFIX}{shard}");
            if let Ok((None, _)) = self.store.get(&key) {
                let _ = self.store.set(&key, &[], None);
            }
        }
    }

    /// Records the proof `jti` of key `jkt`, valid until `expires_at`, if it was not seen.
    pub fn first_use(&self, jkt: &str, jti: &str, expires_at: u64, now: u64) -> Replay {
        let (key, id) = locate(jkt, jti);
        for _ in 0..CAS_ATTEMPTS {
            match self.try_record(&key, &id, expires_at, now) {
                Ok(verdict) => return verdict,
                Err(Retry::Conflict) => continue,
                Err(Retry::Failed) => return Replay::Unrecorded,
            }
        }
        Replay::Unrecorded
    }

    fn try_record(
        &self,
        key: &str,
        id: &[u8; 16],
        expires_at: u64,
        now: u64,
    ) -> Result<Replay, Retry> {
        let (value, cas) = self.store.get(key).map_err(|_: HostStatus| Retry::Failed)?;
        let Some(cas) = cas else {
            // Never created (see `create_shards`): create it, then read it again for a token.
            self.store.set(key, &[], None).map_err(|_| Retry::Failed)?;
            return Err(Retry::Conflict);
        };
        // The host hands an empty value back as no value (with its token).
        let value = value.unwrap_or_default();
        let mut live = Vec::with_capacity(value.len() + ENTRY_BYTES);
        for entry in value.chunks_exact(ENTRY_BYTES) {
            let (expiry, entry_id) = entry.split_at(8);
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(expiry);
            if u64::from_be_bytes(bytes) < now {
                continue;
            }
            if entry_id == id {
                return Ok(Replay::Replayed);
            }
            live.extend_from_slice(entry);
        }
        if live.len() / ENTRY_BYTES >= self.per_shard {
            return Ok(Replay::Unrecorded);
        }
        live.extend_from_slice(&expires_at.to_be_bytes());
        live.extend_from_slice(id);
        match self.store.set(key, &live, Some(cas)) {
            Ok(()) => Ok(Replay::Fresh),
            Err(SetError::CasMismatch) => Err(Retry::Conflict),
            Err(SetError::Host(_)) => Err(Retry::Failed),
        }
    }
}

/// The shared-data key and entry id of proof `jti` of key `jkt`.
fn locate(jkt: &str, jti: &str) -> (String, [u8; 16]) {
    let mut input = Vec::with_capacity(jkt.len() + 1 + jti.len());
    input.extend_from_slice(jkt.as_bytes());
    input.push(0);
    input.extend_from_slice(jti.as_bytes());
    let digest = hmac_sha256::Hash::hash(&input);
    let mut id = [0u8; 16];
    id.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    let mut index = [0u8; 2];
    index.copy_from_slice(digest.get(16..18).unwrap_or(&[0; 2]));
    let shard = usize::from(u16::from_be_bytes(index)) % SHARDS;
    (format!("{KEY_PREFIX}{shard}"), id)
}

enum Retry {
    Conflict,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::fake::FakeSharedData;

    #[test]
    fn a_proof_is_accepted_once_across_workers() {
        let shared = FakeSharedData::new();
        let one = ReplayCache::new(Rc::new(shared.clone()), 64);
        let two = ReplayCache::new(Rc::new(shared.clone()), 64);
        assert_eq!(one.first_use("k", "j1", 160, 100), Replay::Fresh);
        assert_eq!(two.first_use("k", "j1", 160, 101), Replay::Replayed);
        assert_eq!(one.first_use("k", "j1", 160, 102), Replay::Replayed);
        // Another key's proof with the same jti is another proof.
        assert_eq!(two.first_use("other", "j1", 160, 102), Replay::Fresh);
        assert_eq!(one.first_use("k", "j2", 160, 102), Replay::Fresh);
    }

    #[test]
    fn entries_expire_with_their_window() {
        let cache = ReplayCache::in_memory(64);
        assert_eq!(cache.first_use("k", "j", 160, 100), Replay::Fresh);
        assert_eq!(cache.first_use("k", "j", 160, 160), Replay::Replayed);
        assert_eq!(cache.first_use("k", "j", 300, 161), Replay::Fresh);
    }

    /// `count` distinct jtis of key `k` that all land in `jti`'s shard (`jti` first).
    fn same_shard(jti: &str, count: usize) -> Vec<String> {
        let (key, _) = locate("k", jti);
        std::iter::once(jti.to_string())
            .chain(
                (0..)
                    .map(|n| format!("{jti}-{n}"))
                    .filter(|other| locate("k", other).0 == key),
            )
            .take(count)
            .collect()
    }

    #[test]
    fn a_full_shard_refuses_until_its_entries_expire() {
        let cache = ReplayCache::in_memory(SHARDS * 4);
        // Its share (4) plus the slack (at least 8).
        assert_eq!(cache.per_shard(), 4 + MIN_SLACK);
        let jtis = same_shard("j", cache.per_shard() + 3);
        let (fit, over) = jtis.split_at(cache.per_shard());
        for jti in fit {
            assert_eq!(cache.first_use("k", jti, 160, 100), Replay::Fresh, "{jti}");
        }
        for jti in over {
            assert_eq!(
                cache.first_use("k", jti, 160, 100),
                Replay::Unrecorded,
                "{jti}"
            );
        }
        // The proofs recorded are still refused as replays, not as a full cache.
        assert_eq!(cache.first_use("k", &fit[0], 160, 100), Replay::Replayed);
        // Another shard still has room.
        let elsewhere = (0..)
            .map(|n| format!("elsewhere-{n}"))
            .find(|other| locate("k", other).0 != locate("k", "j").0)
            .unwrap();
        assert_eq!(cache.first_use("k", &elsewhere, 160, 100), Replay::Fresh);
        // Once they expire, there is room again.
        assert_eq!(cache.first_use("k", &over[0], 400, 200), Replay::Fresh);
    }

    #[test]
    fn a_cache_at_its_capacity_refuses_almost_nothing() {
        // The slack absorbs the uneven spread of hashes over the shards.
        let capacity = SHARDS * 16;
        let cache = ReplayCache::in_memory(capacity);
        let refused = (0..capacity)
            .filter(|n| cache.first_use("k", &format!("j{n}"), 160, 100) != Replay::Fresh)
            .count();
        assert!(refused * 1000 < capacity, "{refused} of {capacity} refused");
    }

    #[test]
    fn the_shard_size_stays_small_however_many_proofs_are_live() {
        let shared = FakeSharedData::new();
        let cache = ReplayCache::new(Rc::new(shared.clone()), 1_000_000);
        cache.create_shards();
        for n in 0..SHARDS * 8 {
            assert_eq!(
                cache.first_use("k", &format!("j{n}"), 160, 100),
                Replay::Fresh
            );
        }
        let largest = (0..SHARDS)
            .filter_map(|shard| shared.get(&format!("{KEY_PREFIX}{shard}")).ok())
            .filter_map(|(value, _)| value.map(|v| v.len()))
            .max()
            .unwrap_or(0);
        // 8 entries per shard on average: no shard near the old one-in-sixteen size.
        assert!(largest <= 32 * ENTRY_BYTES, "largest shard {largest} bytes");
        assert!(largest >= ENTRY_BYTES);
    }

    #[test]
    fn a_conflicting_write_is_retried_and_both_proofs_kept() {
        let shared = FakeSharedData::new();
        let one = ReplayCache::new(Rc::new(shared.clone()), 1024);
        let two = ReplayCache::new(Rc::new(shared.clone()), 1024);
        one.create_shards();
        let (key, _) = locate("k", "from-one");
        // A proof of the other worker that lands in the same shard.
        let other = (0..)
            .map(|n| format!("from-two-{n}"))
            .find(|jti| locate("k", jti).0 == key)
            .unwrap();
        let (two_hook, other_hook) = (two.clone(), other.clone());
        shared.before_next_write(&key, move || {
            assert_eq!(
                two_hook.first_use("k", &other_hook, 160, 100),
                Replay::Fresh
            );
        });
        assert_eq!(one.first_use("k", "from-one", 160, 100), Replay::Fresh);
        assert_eq!(shared.cas_mismatches(), 1);
        assert_eq!(one.first_use("k", &other, 160, 100), Replay::Replayed);
        assert_eq!(two.first_use("k", "from-one", 160, 100), Replay::Replayed);
    }

    #[test]
    fn a_shard_never_created_is_created_then_written_with_a_token() {
        let shared = FakeSharedData::new();
        let cache = ReplayCache::new(Rc::new(shared.clone()), 64);
        assert_eq!(cache.first_use("k", "j", 160, 100), Replay::Fresh);
        assert_eq!(
            shared.writes(),
            2,
            "the creation, then the entry with its CAS token"
        );
        assert_eq!(cache.first_use("k", "j", 160, 100), Replay::Replayed);
    }

    #[test]
    fn failing_shared_data_fails_closed() {
        let shared = FakeSharedData::new();
        let cache = ReplayCache::new(Rc::new(shared.clone()), 64);
        shared.set_failing(true);
        assert_eq!(cache.first_use("k", "j", 160, 100), Replay::Unrecorded);
    }
}
