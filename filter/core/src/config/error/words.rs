//! The small vocabularies of some kinds: which list is empty, which field's words were expected.

use std::fmt;

/// The lists that must not be empty (each says what it lists, and what omitting it means).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOf {
    /// A provider's `audiences`.
    Audiences,
    /// A provider's `algorithms`.
    Algorithms,
    /// A provider's `from_headers`.
    Headers,
    /// A route's `match.methods`.
    Methods,
    /// A route's `match.hosts`.
    Hosts,
    /// A route's `require.providers`.
    Providers,
    /// A route's `require.scopes_any`.
    Scopes,
    /// A route's `require.subjects`.
    Subjects,
    /// A route's `require.actor.subjects`.
    Actors,
    /// The allowed values of one claim condition.
    AllowedValues,
    /// A deny rule's `when`.
    Conditions,
}

/// The fields whose value is one of a few words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// `mode` (top level and per route).
    Mode,
    /// `decision_record`.
    RecordLevel,
    /// `signature_verifier`.
    Verifier,
    /// A provider's `token_type`.
    TokenType,
    /// `require.bind_peer`.
    Binding,
}

impl Choice {
    /// What one value is called, in the message (`is not a mode`).
    pub fn noun(self) -> &'static str {
        match self {
            Choice::Mode => "mode",
            Choice::RecordLevel => "level",
            Choice::Verifier => "verifier",
            Choice::TokenType => "token type",
            Choice::Binding => "binding",
        }
    }

    /// The accepted values.
    pub fn options(self) -> &'static [&'static str] {
        match self {
            Choice::Mode => &["enforce", "shadow"],
            Choice::RecordLevel => &["struct", "keys", "compact", "off"],
            Choice::Verifier => &["auto", "guest"],
            Choice::TokenType => &["access_token", "txn_token"],
            Choice::Binding => &["spiffe_id"],
        }
    }

    /// The accepted values as `` `a`, `b` or `c` `` (with `quote` around each).
    pub fn list(self, quote: &str) -> String {
        let quoted: Vec<String> = self
            .options()
            .iter()
            .map(|o| format!("{quote}{o}{quote}"))
            .collect();
        match quoted.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => quoted.concat(),
        }
    }
}

impl fmt::Display for ListOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListOf::Audiences => "must list at least one audience",
            ListOf::Algorithms => "must list at least one algorithm",
            ListOf::Headers => "must list at least one header",
            ListOf::Methods => "must list at least one method (omit it for any)",
            ListOf::Hosts => "must list at least one host (omit it for any)",
            ListOf::Providers => "must name at least one provider (omit it for any)",
            ListOf::Scopes => "must list at least one scope (omit it for none)",
            ListOf::Subjects => "must list at least one subject pattern (omit it for any)",
            ListOf::Actors => "must list at least one actor pattern",
            ListOf::AllowedValues => "must list at least one allowed value",
            ListOf::Conditions => "must set `subjects` or `claims` (omit `when` to deny always)",
        })
    }
}
