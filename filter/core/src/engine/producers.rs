//! Which stage produces each [`Reason`]: the table of the engine's module doc, as data, and the
//! tests that hold the stages' sources to it.

use crate::decision::Reason;

/// Which stage (file of `engine/`) produces each reason: every [`Reason`] is listed once.
pub const PRODUCERS: &[(&str, &[Reason])] = &[
    (
        "route",
        &[
            Reason::InvalidPath,
            Reason::InvalidAuthority,
            Reason::NoRoute,
            Reason::AmbiguousHeader,
            Reason::Public,
        ],
    ),
    (
        "access_token",
        &[
            Reason::HeaderTooLarge,
            Reason::MissingToken,
            Reason::MalformedToken,
            Reason::DisallowedAlgorithm,
            Reason::BadIssuer,
            Reason::WrongTokenType,
        ],
    ),
    (
        "authenticate",
        &[
            Reason::InvalidSvid,
            Reason::KeysUnavailable,
            Reason::UnknownKey,
            Reason::BadSignature,
            Reason::Expired,
            Reason::NotYetValid,
            Reason::IssuedInFuture,
            Reason::LifetimeExceeded,
            Reason::BadAudience,
            Reason::Revoked,
            Reason::RevocationUnavailable,
        ],
    ),
    (
        "dpop",
        &[
            Reason::DpopProofMissing,
            Reason::DpopMultipleProofs,
            Reason::DpopMalformedProof,
            Reason::DpopWrongType,
            Reason::DpopDisallowedAlgorithm,
            Reason::DpopBadKey,
            Reason::DpopBadSignature,
            Reason::DpopMethodMismatch,
            Reason::DpopUrlMismatch,
            Reason::DpopStaleProof,
            Reason::DpopTokenHashMismatch,
            Reason::DpopKeyMismatch,
            Reason::DpopReplayed,
            Reason::DpopReplayCacheFull,
            Reason::DpopBoundTokenAsBearer,
            Reason::DpopTokenNotBound,
        ],
    ),
    ("binding", &[Reason::BindingMismatch]),
    ("deny", &[Reason::DeniedByRule]),
    (
        "transaction",
        &[
            Reason::MissingTransactionToken,
            Reason::InvalidTransactionToken,
            Reason::TransactionPurposeMismatch,
        ],
    ),
    (
        "requirements",
        &[
            Reason::SubjectNotAllowed,
            Reason::DelegationTooDeep,
            Reason::ActorNotAllowed,
            Reason::ClaimMismatch,
            Reason::InsufficientScope,
            Reason::AuthorizationDetailsMismatch,
        ],
    ),
    (
        "mcp",
        &[
            Reason::BodyTooLarge,
            Reason::InvalidMcpRequest,
            Reason::McpHeaderMismatch,
            Reason::ToolNotAllowed,
            Reason::McpMethodNotAllowed,
            Reason::ArgumentNotAllowed,
        ],
    ),
    ("mod", &[Reason::Allowed]),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The stages' sources, by the names [`PRODUCERS`] uses.
    const SOURCES: &[(&str, &str)] = &[
        ("route", include_str!("route.rs")),
        ("access_token", include_str!("access_token.rs")),
        ("authenticate", include_str!("authenticate.rs")),
        ("binding", include_str!("binding.rs")),
        ("deny", include_str!("deny.rs")),
        ("dpop", include_str!("dpop.rs")),
        ("transaction", include_str!("transaction.rs")),
        ("requirements", include_str!("requirements.rs")),
        ("mcp", include_str!("mcp.rs")),
        ("effects", include_str!("effects.rs")),
        ("checks", include_str!("checks.rs")),
        ("mod", include_str!("mod.rs")),
    ];

    #[test]
    fn every_reason_has_exactly_one_producing_stage() {
        for reason in Reason::ALL {
            let stages: Vec<&str> = PRODUCERS
                .iter()
                .filter(|(_, reasons)| reasons.contains(&reason))
                .map(|(stage, _)| *stage)
                .collect();
            assert_eq!(stages.len(), 1, "`{reason}` is produced by {stages:?}");
        }
    }

    #[test]
    fn a_stage_names_only_the_reasons_it_produces() {
        for (stage, source) in SOURCES {
            // The code before the file's tests; `mod.rs` also without the table itself.
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            let code = if *stage == "mod" {
                code.split("pub const PRODUCERS")
                    .next()
                    .unwrap_or_default()
                    .to_string()
                    + code
                        .split("/// Judges one request at `now`")
                        .nth(1)
                        .unwrap_or_default()
            } else {
                code.to_string()
            };
            let own: &[Reason] = PRODUCERS
                .iter()
                .find(|(name, _)| name == stage)
                .map_or(&[], |(_, reasons)| reasons);
            for reason in Reason::ALL {
                let name = format!("Reason::{reason:?}");
                let named = code.match_indices(&name).any(|(at, _)| {
                    !code[at + name.len()..].starts_with(|c: char| c.is_alphanumeric())
                });
                assert!(
                    !named || own.contains(&reason),
                    "engine/{stage}.rs names `{name}`, which PRODUCERS gives to another stage"
                );
            }
        }
    }
}
