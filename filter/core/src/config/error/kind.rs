//! What is wrong with one configuration field: one variant per kind of mistake, carrying the data
//! its message and its hint need. The messages are lowercase and name the user's input in
//! backticks; the README and the tests quote them, so reword one only on purpose.

use super::words::{Choice, ListOf};
use crate::keys::{AlgorithmError, JwkError, JwksError};
use crate::mcp::UriPatternError;
use crate::require::{SubjectPatternError, TemplateError};
use crate::revocation::RevocationError;
use crate::routes::PathPatternError;
use std::fmt;

/// What is wrong with one configuration field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The configuration is not JSON at all (the parser's words).
    NotJson(String),
    /// A YAML policy (read by the CLI) does not parse (the parser's words).
    NotYaml(String),
    /// A required field is absent.
    Missing,
    /// The field has the wrong JSON type.
    WrongType {
        /// What the field must be, in words.
        expected: &'static str,
    },
    /// The field is not part of the schema (a typo would otherwise silently weaken a policy).
    UnknownField {
        /// The closest known field name, when one is close.
        suggestion: Option<&'static str>,
    },
    /// A string that must not be empty is empty.
    Empty,
    /// A list that must hold at least one item is empty.
    EmptyList(ListOf),
    /// A whole number outside its accepted range (both ends included).
    OutOfRange {
        /// The smallest accepted value.
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// A string that must be one of a few words is another one.
    NotAChoice {
        /// Which field's words.
        choice: Choice,
        /// What the configuration says.
        value: String,
    },
    /// `realm` is empty or not printable ASCII without `"` and `\` (it is quoted in
    /// `WWW-Authenticate`).
    BadRealm,
    /// A provider name outside `[A-Za-z0-9_.:-]`.
    BadProviderName {
        /// The name.
        name: String,
    },
    /// A route `action` outside `[A-Za-z0-9_.:-]`.
    BadActionName {
        /// The action.
        name: String,
    },
    /// `routes` is an empty list: every request would be denied.
    NoRoutes,
    /// Protected routes but no provider to authenticate their tokens.
    NoProviders,
    /// Two providers with the same issuer (the token's `iss` picks the provider).
    DuplicateIssuer {
        /// The issuer.
        issuer: String,
        /// The provider that declared it first.
        other_provider: String,
    },
    /// The inline `revoked` document is refused.
    BadRevocationList(RevocationError),
    /// A provider with more than one of `local_jwks`, `remote_jwks` and `oidc_discovery`.
    KeySourceConflict,
    /// A provider with none of `local_jwks`, `remote_jwks` and `oidc_discovery`.
    MissingKeySource,
    /// `local_jwks.filename` (Envoy `jwt_authn`'s habit): the sandboxed filter cannot read
    /// files; the CLI inlines such a file before it prints a policy for Envoy or Istio.
    JwksFilename,
    /// An inline key set that is refused as a whole.
    BadJwks(JwksError),
    /// One key of an inline key set is refused (the path names its index).
    BadJwk(JwkError),
    /// An inline key set that holds no usable signing key.
    NoUsableKey {
        /// Each key set aside, with why (`the key with kid \`k1\`: use \`x509-svid\` is not for JWT
        /// signatures`).
        skipped: Vec<String>,
    },
    /// An `algorithms` entry that is never allowed or not supported.
    BadAlgorithm {
        /// The entry, as written.
        name: String,
        /// Why it is refused.
        error: AlgorithmError,
    },
    /// A SPIFFE provider that does not require `exp`.
    SvidWithoutExpiration,
    /// A SPIFFE provider that lists EdDSA.
    SvidAlgorithm,
    /// `spiffe.trust_domain` is not a trust domain name.
    BadTrustDomain {
        /// The value.
        value: String,
    },
    /// A header name with characters other than letters, digits, `-` and `_`.
    BadHeaderName {
        /// The name, as written.
        name: String,
    },
    /// A `claim_to_headers` header the filter reads, strips or that carries the token.
    ReservedHeader {
        /// The header, as written.
        name: String,
    },
    /// Two `claim_to_headers` entries write the same header.
    DuplicateHeader {
        /// The header, as written.
        name: String,
    },
    /// A claim path (`org.unit`) with an empty part.
    EmptyClaimSegment {
        /// The claim path, as written.
        claim: String,
    },
    /// An `http_uri.uri` that does not start with `http://` or `https://`.
    BadUriScheme {
        /// The URI.
        uri: String,
    },
    /// An `http_uri.uri` without a usable host.
    BadUriHost {
        /// The URI.
        uri: String,
    },
    /// Two fields that say the same thing in two ways (`timeout` and `timeout_ms`).
    FieldConflict {
        /// The field the error is reported at.
        field: &'static str,
        /// The other one.
        other: &'static str,
    },
    /// A `timeout` that is not a duration (`"5s"`, `"1.5s"`, `"500ms"`) from 1 ms to 60 s.
    BadDuration {
        /// The value, as written.
        value: String,
    },
    /// An `oidc_discovery.jwks_clusters` key that is not `host` or `host:port`.
    BadClusterHost {
        /// The key, as written.
        host: String,
    },
    /// A route's `match.path` template is refused.
    BadPathTemplate(PathPatternError),
    /// A `match.methods` entry that is not a method name.
    BadMethod {
        /// The entry.
        method: String,
    },
    /// A `match.hosts` entry that is not a host pattern.
    BadHostPattern {
        /// The entry.
        pattern: String,
    },
    /// A public route with a `require` block.
    PublicRouteRequirement,
    /// A public route with `max_lifetime_seconds`.
    PublicRouteLifetime,
    /// A provider name that no provider has.
    UnknownProvider {
        /// The name.
        name: String,
        /// The providers the configuration declares, in its order.
        declared: Vec<String>,
    },
    /// `require.transaction.provider` names a provider whose `token_type` is not `txn_token`.
    NotATransactionProvider {
        /// The provider.
        name: String,
    },
    /// `require.providers` names a `txn_token` provider: a transaction token never authenticates
    /// a caller, so it is never accepted as the route's access token.
    TransactionProviderAsAccess {
        /// The provider.
        name: String,
    },
    /// A scope with whitespace (scopes are single words; `scope` claims are split on spaces).
    ScopeWithSpace {
        /// The scope, as written.
        scope: String,
    },
    /// A template placeholder `{name}` that the route's path does not capture.
    UnknownCapture {
        /// The placeholder's name.
        name: String,
        /// The route's path template.
        template: String,
        /// The names that template captures, in order.
        captures: Vec<String>,
    },
    /// A template refused for another reason than an unknown capture.
    BadTemplate(TemplateError),
    /// A `subjects` or `actor.subjects` pattern is refused.
    BadSubjectPattern(SubjectPatternError),
    /// A `txn.` claim condition on a route without a `transaction` requirement.
    TxnClaimWithoutTransaction,
    /// `max_delegation_depth` above 0 with `allow_delegation: false`.
    DelegationContradiction,
    /// `mcp.methods` lists a method whose target has its own table (`tools/call` → `tools`).
    McpTargetMethod {
        /// The method, as written.
        method: String,
        /// The table that governs it.
        table: &'static str,
    },
    /// A `mcp.resources[].uri` template is refused.
    BadResourceUri(UriPatternError),
    /// A public route with an `mcp` block (its rules read a verified token).
    PublicRouteMcp,
    /// A `match.headers` entry without exactly one of `exact`, `prefix`, `present`, `absent`.
    HeaderMatchTest,
    /// Two deny rules with one name (the record names the rule that denied).
    DuplicateDenyRule {
        /// The name.
        name: String,
    },
}

impl ConfigErrorKind {
    /// A [`ConfigErrorKind::NotAChoice`]: `value` is not one of `choice`'s words.
    pub fn not_a(choice: Choice, value: &str) -> Self {
        ConfigErrorKind::NotAChoice {
            choice,
            value: value.to_string(),
        }
    }

    /// A refused template: an unknown capture names the route's path `template` and its
    /// `captures`, so that the hint can list them.
    pub fn template(error: TemplateError, template: &str, captures: &[String]) -> Self {
        match error {
            TemplateError::UnknownCapture(name) => ConfigErrorKind::UnknownCapture {
                name,
                template: template.to_string(),
                captures: captures.to_vec(),
            },
            other => ConfigErrorKind::BadTemplate(other),
        }
    }
}

impl fmt::Display for ConfigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigErrorKind as K;
        match self {
            K::NotJson(detail) => write!(f, "not valid JSON: {detail}"),
            K::NotYaml(detail) => write!(f, "not valid YAML: {detail}"),
            K::Missing => f.write_str("required field is missing"),
            K::WrongType { expected } => write!(f, "must be {expected}"),
            K::UnknownField {
                suggestion: Some(s),
            } => write!(f, "unknown field (did you mean `{s}`?)"),
            K::UnknownField { suggestion: None } => f.write_str("unknown field"),
            K::Empty => f.write_str("must not be empty"),
            K::EmptyList(list) => write!(f, "{list}"),
            K::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            K::NotAChoice { choice, value } => write!(
                f,
                "`{value}` is not a {} (use {})",
                choice.noun(),
                choice.list("`")
            ),
            K::BadRealm => f.write_str("must be non-empty printable ASCII without `\"` or `\\`"),
            K::BadProviderName { .. } => {
                f.write_str("provider names use letters, digits, `_`, `-` and `.`")
            }
            K::BadActionName { name } => write!(
                f,
                "`{name}` must use only letters, digits, `_`, `-`, `.` and `:`"
            ),
            K::NoRoutes => {
                f.write_str("must declare at least one route (everything else is denied)")
            }
            K::NoProviders => f.write_str("protected routes need at least one provider"),
            K::DuplicateIssuer {
                issuer,
                other_provider,
            } => write!(
                f,
                "issuer `{issuer}` is already used by provider `{other_provider}`"
            ),
            K::BadRevocationList(error) => write!(f, "{error}"),
            K::KeySourceConflict => f.write_str(
                "set one of `local_jwks`, `remote_jwks` or `oidc_discovery`, not several",
            ),
            K::MissingKeySource => {
                f.write_str("needs `local_jwks`, `remote_jwks` or `oidc_discovery`")
            }
            K::JwksFilename => f.write_str("the filter cannot read files (the proxy-wasm sandbox); inline the key set as local_jwks.inline_string, or let workload-authz envoy|istio inline the file for you"),
            K::BadJwks(error) => write!(f, "{error}"),
            K::BadJwk(error) => write!(f, "{error}"),
            K::NoUsableKey { skipped } if skipped.is_empty() => {
                f.write_str("holds no usable signing key")
            }
            K::NoUsableKey { skipped } => {
                write!(f, "holds no usable signing key: {}", skipped.join("; "))
            }
            K::BadAlgorithm { name, error } => match error {
                AlgorithmError::None => {
                    f.write_str("`none` is never allowed: tokens must be signed")
                }
                AlgorithmError::Symmetric => write!(
                    f,
                    "`{name}` is symmetric (HMAC) and never allowed with public keys"
                ),
                AlgorithmError::Unsupported => write!(
                    f,
                    "`{name}` is not supported (use RS256/384/512, PS256/384/512, ES256/384, EdDSA)"
                ),
            },
            K::SvidWithoutExpiration => f.write_str("JWT-SVIDs always need `exp`"),
            K::SvidAlgorithm => {
                f.write_str("JWT-SVIDs are signed with RS, ES or PS algorithms only")
            }
            K::BadTrustDomain { value } => write!(
                f,
                "`{value}` is not a trust domain (lowercase letters, digits, `.`, `-`, `_`)"
            ),
            K::BadHeaderName { name } => write!(f, "`{name}` is not a header name"),
            K::ReservedHeader { name } => {
                write!(f, "`{name}` is reserved and cannot carry a claim")
            }
            K::DuplicateHeader { name } => write!(f, "`{name}` is already used"),
            K::EmptyClaimSegment { .. } => f.write_str("claim path has an empty segment"),
            K::BadUriScheme { uri } => write!(f, "`{uri}` must start with http:// or https://"),
            K::BadUriHost { uri } => write!(f, "`{uri}` has no usable host"),
            K::FieldConflict { field, other } => {
                write!(f, "set either `{field}` or `{other}`, not both")
            }
            K::BadDuration { value } => {
                write!(f, "`{value}` is not a duration from 1ms to 60s")
            }
            K::BadClusterHost { host } => write!(f, "`{host}` is not a host or host:port"),
            K::BadPathTemplate(error) => write!(f, "{error}"),
            K::BadMethod { method } => write!(f, "`{method}` is not a method"),
            K::BadHostPattern { pattern } => write!(f, "`{pattern}` is not a host pattern"),
            K::PublicRouteRequirement => f.write_str("a public route cannot have requirements"),
            K::PublicRouteLifetime => f.write_str("a public route takes no token, so no lifetime"),
            K::UnknownProvider { name, .. } => write!(f, "unknown provider `{name}`"),
            K::NotATransactionProvider { name } => {
                write!(f, "provider `{name}` is not a `txn_token` provider")
            }
            K::TransactionProviderAsAccess { name } => write!(
                f,
                "provider `{name}` issues transaction tokens, which never authenticate a caller"
            ),
            K::ScopeWithSpace { .. } => f.write_str("a scope is one word, without spaces"),
            K::UnknownCapture { name, .. } => write!(f, "unknown capture {{{name}}}"),
            K::BadTemplate(error) => write!(f, "{error}"),
            K::BadSubjectPattern(error) => write!(f, "{error}"),
            K::TxnClaimWithoutTransaction => {
                f.write_str("`txn.` conditions need a `transaction` requirement on this route")
            }
            K::DelegationContradiction => f.write_str("contradicts `allow_delegation: false`"),
            K::McpTargetMethod { method, table } => {
                write!(f, "`{method}` is governed by `mcp.{table}`, not `methods`")
            }
            K::BadResourceUri(error) => write!(f, "{error}"),
            K::PublicRouteMcp => f.write_str("a public route cannot have an `mcp` block"),
            K::DuplicateDenyRule { name } => {
                write!(f, "another deny rule is already named `{name}`")
            }
            K::HeaderMatchTest => f.write_str(
                "a header condition needs exactly one of `exact`, `prefix`, `present`, `absent`",
            ),
        }
    }
}
