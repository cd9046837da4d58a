//! Finding the bearer token in the request headers.

use crate::config::ProviderId;

/// Where a provider looks for its token: a header, and the prefix before the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSource {
    /// Lowercase header name.
    pub name: String,
    /// Prefix before the token (`Bearer `), compared case-insensitively; empty for none.
    pub value_prefix: String,
}

impl HeaderSource {
    /// `Authorization: Bearer <token>`, the default.
    pub fn bearer() -> Self {
        HeaderSource {
            name: "authorization".to_string(),
            value_prefix: "Bearer ".to_string(),
        }
    }

    /// `Authorization: DPoP <token>` (RFC 9449 section 7.1), read beside every `Bearer` source.
    pub fn dpop() -> Self {
        HeaderSource {
            name: "authorization".to_string(),
            value_prefix: "DPoP ".to_string(),
        }
    }

    /// Whether this is `Authorization` with the `Bearer` scheme.
    pub fn is_authorization_bearer(&self) -> bool {
        self.name.eq_ignore_ascii_case("authorization")
            && self.value_prefix.eq_ignore_ascii_case("bearer ")
    }

    /// Whether this is `Authorization` with the `DPoP` scheme.
    pub fn is_dpop_scheme(&self) -> bool {
        self.name.eq_ignore_ascii_case("authorization")
            && self.value_prefix.eq_ignore_ascii_case("dpop ")
    }

    /// The token in `value`, if the value carries this source's prefix.
    pub fn token_in<'v>(&self, value: &'v str) -> Option<&'v str> {
        let prefix_len = self.value_prefix.len();
        let head = value.get(..prefix_len)?;
        if !head.eq_ignore_ascii_case(&self.value_prefix) {
            return None;
        }
        let token = value
            .get(prefix_len..)?
            .trim_matches(|c| c == ' ' || c == '\t');
        (!token.is_empty()).then_some(token)
    }
}

impl AsRef<HeaderSource> for HeaderSource {
    fn as_ref(&self) -> &HeaderSource {
        self
    }
}

/// A header a route reads for its access token, and the providers whose tokens may come in it:
/// one list, so a source and its readers cannot drift apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSource {
    /// The header and its prefix.
    pub header: HeaderSource,
    /// The providers that read it.
    pub providers: Vec<ProviderId>,
}

impl AsRef<HeaderSource> for TokenSource {
    fn as_ref(&self) -> &HeaderSource {
        &self.header
    }
}

/// The outcome of looking for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted<'v> {
    /// No source held a token.
    Missing,
    /// Exactly one token, found by the sources at these indexes (of the slice searched).
    One {
        /// The token text.
        token: &'v str,
        /// Indexes of the sources that matched the header carrying it.
        sources: Vec<usize>,
    },
    /// More than one header carried a token: ambiguous, refused.
    Several,
}

/// Looks for exactly one token among `headers` (lowercase names) using `sources`.
pub fn extract<'v, S: AsRef<HeaderSource>, H: AsRef<str>>(
    sources: &[S],
    headers: &'v [(H, H)],
) -> Extracted<'v> {
    let mut found: Option<(usize, &'v str)> = None;
    let mut matched_sources = Vec::new();
    for (header_index, (name, value)) in headers.iter().enumerate() {
        let name = name.as_ref();
        for (source_index, source) in sources.iter().map(AsRef::as_ref).enumerate() {
            if !source.name.eq_ignore_ascii_case(name) {
                continue;
            }
            let Some(token) = source.token_in(value.as_ref()) else {
                continue;
            };
            match found {
                Some((seen_header, _)) if seen_header != header_index => return Extracted::Several,
                _ => {
                    found = Some((header_index, token));
                    matched_sources.push(source_index);
                }
            }
        }
    }
    match found {
        None => Extracted::Missing,
        Some((_, token)) => Extracted::One {
            token,
            sources: matched_sources,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let sources = [HeaderSource::bearer()];
        for value in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            let h = headers(&[("authorization", value)]);
            assert_eq!(
                extract(&sources, &h),
                Extracted::One {
                    token: "abc",
                    sources: vec![0]
                },
                "{value}"
            );
        }
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_missing() {
        let sources = [HeaderSource::bearer()];
        for value in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "abc"] {
            let h = headers(&[("authorization", value)]);
            assert_eq!(extract(&sources, &h), Extracted::Missing, "{value}");
        }
        assert_eq!(extract(&sources, &headers(&[])), Extracted::Missing);
    }

    #[test]
    fn two_tokens_are_refused() {
        let sources = [
            HeaderSource::bearer(),
            HeaderSource {
                name: "x-jwt".into(),
                value_prefix: String::new(),
            },
        ];
        let h = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert_eq!(extract(&sources, &h), Extracted::Several);
        let h = headers(&[("authorization", "Bearer a"), ("x-jwt", "a")]);
        assert_eq!(extract(&sources, &h), Extracted::Several);
    }

    #[test]
    fn custom_header_without_prefix() {
        let sources = [HeaderSource {
            name: "x-jwt".into(),
            value_prefix: String::new(),
        }];
        let h = headers(&[("x-jwt", "tok")]);
        assert_eq!(
            extract(&sources, &h),
            Extracted::One {
                token: "tok",
                sources: vec![0]
            }
        );
    }
}
