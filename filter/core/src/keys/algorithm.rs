//! JWS signature algorithms we accept, and which key type each one needs.

/// A JWS `alg` this filter can verify. HMAC and `none` are deliberately absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
}

/// The family of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// An RSA key.
    Rsa,
    /// An EC key on NIST P-256.
    EcP256,
    /// An EC key on NIST P-384.
    EcP384,
    /// An OKP Ed25519 key.
    Ed25519,
}

impl KeyFamily {
    /// In words: `an EC P-256 key`.
    pub fn describe(self) -> &'static str {
        match self {
            KeyFamily::Rsa => "an RSA key",
            KeyFamily::EcP256 => "an EC P-256 key",
            KeyFamily::EcP384 => "an EC P-384 key",
            KeyFamily::Ed25519 => "an Ed25519 key",
        }
    }
}

/// Why an `alg` string is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlgorithmError {
    /// `none` in any casing: unsigned tokens are never accepted.
    None,
    /// HMAC: a shared secret has no place in a public-key verifier (key confusion).
    Symmetric,
    /// Anything else we do not implement.
    Unsupported,
}

impl Algorithm {
    /// The default allow-list when a provider names none.
    pub const DEFAULT: [Algorithm; 9] = [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::EdDsa,
    ];

    /// Parses a JOSE `alg` value; exact, case-sensitive, as RFC 7518 names them.
    pub fn parse(name: &str) -> Result<Algorithm, AlgorithmError> {
        Ok(match name {
            "RS256" => Algorithm::Rs256,
            "RS384" => Algorithm::Rs384,
            "RS512" => Algorithm::Rs512,
            "PS256" => Algorithm::Ps256,
            "PS384" => Algorithm::Ps384,
            "PS512" => Algorithm::Ps512,
            "ES256" => Algorithm::Es256,
            "ES384" => Algorithm::Es384,
            "EdDSA" => Algorithm::EdDsa,
            other if other.eq_ignore_ascii_case("none") => return Err(AlgorithmError::None),
            other
                if other.len() >= 2
                    && other.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")) =>
            {
                return Err(AlgorithmError::Symmetric)
            }
            _ => return Err(AlgorithmError::Unsupported),
        })
    }

    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The key family this algorithm needs.
    pub fn key_family(self) -> KeyFamily {
        match self {
            Algorithm::Rs256
            | Algorithm::Rs384
            | Algorithm::Rs512
            | Algorithm::Ps256
            | Algorithm::Ps384
            | Algorithm::Ps512 => KeyFamily::Rsa,
            Algorithm::Es256 => KeyFamily::EcP256,
            Algorithm::Es384 => KeyFamily::EcP384,
            Algorithm::EdDsa => KeyFamily::Ed25519,
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_refused_in_every_casing() {
        for name in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(Algorithm::parse(name), Err(AlgorithmError::None));
        }
    }

    #[test]
    fn hmac_is_refused() {
        for name in ["HS256", "HS384", "HS512", "hs256"] {
            assert_eq!(Algorithm::parse(name), Err(AlgorithmError::Symmetric));
        }
    }

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Algorithm::DEFAULT {
            assert_eq!(Algorithm::parse(alg.as_str()), Ok(alg));
        }
        assert_eq!(Algorithm::parse("es256"), Err(AlgorithmError::Unsupported));
        assert_eq!(Algorithm::parse("ES512"), Err(AlgorithmError::Unsupported));
    }

    #[test]
    fn families_match_key_types() {
        assert_eq!(Algorithm::Ps384.key_family(), KeyFamily::Rsa);
        assert_eq!(Algorithm::Es256.key_family(), KeyFamily::EcP256);
        assert_eq!(Algorithm::Es384.key_family(), KeyFamily::EcP384);
        assert_eq!(Algorithm::EdDsa.key_family(), KeyFamily::Ed25519);
    }
}
