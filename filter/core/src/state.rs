//! Run-time state the configuration cannot hold: key sets fetched from `remote_jwks` endpoints
//! and the revocation list fetched from the `revocation` endpoint. The plugin fills it; the
//! engine reads it. Pure data: time is an argument.

use crate::config::{KeySource, Policy, ProviderId};
use crate::decision::Reason;
use crate::dpop::ReplayCache;
use crate::keys::{parse_jwks_limited, JwkError, JwksLimits, KeySet};
use crate::revocation::RevocationList;
use crate::sync::SharedData;
use crate::token::cache::TokenCache;
use crate::token::Jws;
use std::cell::RefCell;
use std::rc::Rc;

/// A key set fetched from a provider's `remote_jwks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedKeys {
    /// The usable keys.
    pub set: KeySet,
    /// When they were fetched (seconds since the Unix epoch).
    pub fetched_at: u64,
}

/// Why a fetched JWKS is not installed (the last good one keeps serving).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchedJwksError {
    /// Not a JWKS document.
    NotJwks(String),
    /// A JWKS without a single usable signing key.
    NoUsableKey(Vec<(usize, JwkError)>),
}

impl std::fmt::Display for FetchedJwksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchedJwksError::NotJwks(why) => write!(f, "not a JWKS: {why}"),
            FetchedJwksError::NoUsableKey(skipped) => {
                write!(f, "holds no usable signing key")?;
                for (i, (index, why)) in skipped.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { "; " };
                    write!(f, "{sep}keys[{index}] skipped: {why}")?;
                }
                Ok(())
            }
        }
    }
}

/// Parses a fetched JWKS. Unlike `local_jwks`, entries we cannot use (encryption keys, other
/// key types) are skipped: identity providers publish them next to signing keys.
pub fn parse_fetched_jwks(text: &str, limits: &JwksLimits) -> Result<KeySet, FetchedJwksError> {
    let parsed =
        parse_jwks_limited(text, limits).map_err(|e| FetchedJwksError::NotJwks(e.to_string()))?;
    if parsed.keys.is_empty() {
        return Err(FetchedJwksError::NoUsableKey(parsed.rejected));
    }
    Ok(KeySet::new(parsed.keys))
}

/// Key sets and revocations known at run time, and the verified-token cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeState {
    remote_keys: Vec<Option<FetchedKeys>>,
    revocations: Option<RevocationList>,
    cache: RefCell<TokenCache>,
    /// Bumped by every change a decision can see (keys, revocations): memoised decisions of an
    /// older generation are dropped.
    generation: u64,
    /// DPoP proofs seen (in memory until the plugin puts it over the host's shared data).
    replay: ReplayCache,
}

impl RuntimeState {
    /// An empty state for `policy`: no remote key set fetched yet, no remote revocations.
    pub fn new(policy: &Policy) -> Self {
        RuntimeState {
            remote_keys: vec![None; policy.providers.len()],
            revocations: None,
            cache: RefCell::new(TokenCache::new(policy.limits.token_cache_entries)),
            generation: 0,
            replay: ReplayCache::in_memory(policy.limits.dpop_replay_entries),
        }
    }

    /// Keeps DPoP proofs seen in `store` (the host's shared data: every worker VM sees every
    /// proof), at most `capacity` live ones; creates the store's shards now, before any request
    /// (see [`ReplayCache::create_shards`]).
    pub fn share_replay_cache(&mut self, store: Rc<dyn SharedData>, capacity: usize) {
        self.replay = ReplayCache::new(store, capacity);
        self.replay.create_shards();
    }

    /// The DPoP proof replay cache.
    pub fn replay_cache(&self) -> &ReplayCache {
        &self.replay
    }

    /// The keys provider `id` verifies with at `now`: its `local_jwks`, or the last fetched
    /// set (`remote_jwks`, `oidc_discovery`) while it is younger than
    /// `cache_duration_seconds + max_stale_seconds`.
    pub fn keys<'a>(&'a self, policy: &'a Policy, id: ProviderId, now: u64) -> Option<&'a KeySet> {
        let source = &policy.provider(id)?.key_source;
        if let KeySource::Local(set) = source {
            return Some(set);
        }
        let (cache, stale) = source.fetched_lifetime()?;
        let fetched = self.remote_keys.get(id.index())?.as_ref()?;
        let usable_until = fetched
            .fetched_at
            .saturating_add(cache)
            .saturating_add(stale);
        (now <= usable_until).then_some(&fetched.set)
    }

    /// When provider `id`'s key set was fetched, if it was.
    pub fn fetched_at(&self, id: ProviderId) -> Option<u64> {
        self.remote_keys
            .get(id.index())?
            .as_ref()
            .map(|f| f.fetched_at)
    }

    /// Installs a fetched key set for provider `id`.
    pub fn install_keys(&mut self, id: ProviderId, set: KeySet, fetched_at: u64) {
        if let Some(slot) = self.remote_keys.get_mut(id.index()) {
            *slot = Some(FetchedKeys { set, fetched_at });
        }
        self.cache.borrow_mut().clear();
        self.generation = self.generation.wrapping_add(1);
    }

    /// Installs the revocation list fetched from the `revocation` endpoint.
    pub fn install_revocations(&mut self, list: RevocationList) {
        self.revocations = Some(list);
        self.cache.borrow_mut().clear();
        self.generation = self.generation.wrapping_add(1);
    }

    /// The number of changes installed so far (key sets, revocation lists): a decision made at
    /// one generation holds until the next.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A token that verified before (and has not expired), parsed.
    pub fn cached<'t>(&self, token: &'t str, now: u64) -> Option<Jws<'t>> {
        self.cache.borrow().get(token, now)
    }

    /// Remembers a token whose signature verified.
    pub fn remember(&self, jws: &Jws<'_>) {
        self.cache.borrow_mut().insert(jws);
    }

    /// Number of tokens in the verified-token cache.
    pub fn cached_tokens(&self) -> usize {
        self.cache.borrow().len()
    }

    /// The fetched revocation list, if any.
    pub fn revocations(&self) -> Option<&RevocationList> {
        self.revocations.as_ref()
    }

    /// Checks the static `revoked` block and the fetched list. With a `revocation` endpoint
    /// configured and no list fetched yet, nothing can be vouched for: fail closed.
    pub fn check_revocation(
        &self,
        policy: &Policy,
        jti: Option<&str>,
        sub: Option<&str>,
        iat: Option<u64>,
    ) -> Result<(), Reason> {
        if policy.revoked.revokes(jti, sub, iat) {
            return Err(Reason::Revoked);
        }
        match (&self.revocations, &policy.revocation) {
            (Some(list), _) if list.revokes(jti, sub, iat) => Err(Reason::Revoked),
            (None, Some(_)) => Err(Reason::RevocationUnavailable),
            _ => Ok(()),
        }
    }
}
