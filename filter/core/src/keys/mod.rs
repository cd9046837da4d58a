//! Keys: algorithms, JWK parsing and the per-provider key set.

pub mod algorithm;
pub mod jwk;

pub use algorithm::{Algorithm, AlgorithmError, KeyFamily};
pub use jwk::{
    parse_jwks, parse_jwks_limited, Jwk, JwkError, JwksError, JwksLimits, ParsedJwks, PublicKey,
};

/// The keys one provider trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

impl KeySet {
    /// A key set from parsed keys.
    pub fn new(keys: Vec<Jwk>) -> Self {
        KeySet { keys }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The `kid`s of the keys that have one, in order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref())
    }

    /// The keys that may verify a token with this `kid` (if any) and `alg`.
    /// With a `kid`, only keys carrying that exact `kid`; without, every key whose type fits.
    /// Keys marked `use: jwt-svid` serve SPIFFE providers only; `use: sig` (what SPIRE's OIDC
    /// Discovery Provider and most JWKS endpoints publish) and no `use` serve every provider.
    /// `x509-svid` and `enc` keys never get here: parsing sets them aside.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
        spiffe: bool,
    ) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys.iter().filter(move |k| {
            kid.is_none_or(|kid| k.kid.as_deref() == Some(kid))
                && k.fits(alg)
                && k.usage
                    .as_deref()
                    .is_none_or(|u| u == "sig" || (spiffe && u == "jwt-svid"))
        })
    }
}
