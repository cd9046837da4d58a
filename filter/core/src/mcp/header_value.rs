//! The value encoding of the MCP headers that mirror the body (`Mcp-Method`, `Mcp-Name`).
//!
//! MCP 2026-07-28 sends a value as is when it is visible ASCII (0x20-0x7E) with no leading or
//! trailing whitespace. Any other value, and any plain value that itself looks like the encoded
//! form, is sent as `=?base64?{payload}?=`, where the payload is the standard (`+/`) Base64 of
//! the UTF-8 bytes. The markers are lower case and compared exactly.
//!
//! [`decode`] returns the text the body carries, so the caller can compare it with the body (or
//! a policy) without ever matching on the encoded form.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use std::borrow::Cow;
use std::fmt;

/// Opening marker of the encoded form.
pub const ENCODED_PREFIX: &str = "=?base64?";
/// Closing marker of the encoded form.
pub const ENCODED_SUFFIX: &str = "?=";

/// The standard alphabet, with or without padding; trailing bits must be zero (canonical).
const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a header value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderValueError {
    /// A plain value holds a character outside visible ASCII (0x20-0x7E): it should have been
    /// encoded.
    NotVisibleAscii,
    /// A plain value starts or ends with a space: it should have been encoded.
    SurroundingWhitespace,
    /// The payload of the encoded form is not standard Base64.
    Base64,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
    /// The decoded text holds a control character (Unicode `Cc`: C0, DEL or C1).
    ControlCharacter,
}

impl fmt::Display for HeaderValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderValueError::NotVisibleAscii => {
                "a plain value must be visible ASCII (0x20-0x7E); others are sent as =?base64?...?="
            }
            HeaderValueError::SurroundingWhitespace => {
                "a plain value must not start or end with whitespace; such values are sent as =?base64?...?="
            }
            HeaderValueError::Base64 => "the =?base64?...?= payload is not standard Base64",
            HeaderValueError::NotUtf8 => "the =?base64?...?= payload is not UTF-8",
            HeaderValueError::ControlCharacter => {
                "the =?base64?...?= payload holds a control character"
            }
        })
    }
}

impl std::error::Error for HeaderValueError {}

/// Decodes a `Mcp-Method` / `Mcp-Name` header value into the text the body carries.
///
/// A value that starts with [`ENCODED_PREFIX`] and, after it, ends with [`ENCODED_SUFFIX`] is
/// the encoded form: its payload is decoded (standard alphabet, padding optional, non-canonical
/// trailing bits refused) and must be UTF-8 without control characters; the result is owned. An
/// empty payload (`=?base64??=`) decodes to the empty text. Any other value is plain and is
/// returned borrowed if it is visible ASCII without a leading or trailing space, so a value
/// wearing only the opening marker (`=?base64?abc`) is the literal text, as the encoding rule
/// makes it unambiguous.
pub fn decode(value: &str) -> Result<Cow<'_, str>, HeaderValueError> {
    if let Some(payload) = value
        .strip_prefix(ENCODED_PREFIX)
        .and_then(|rest| rest.strip_suffix(ENCODED_SUFFIX))
    {
        let bytes = STANDARD_ANY_PADDING
            .decode(payload)
            .map_err(|_| HeaderValueError::Base64)?;
        let text = String::from_utf8(bytes).map_err(|_| HeaderValueError::NotUtf8)?;
        if text.chars().any(char::is_control) {
            return Err(HeaderValueError::ControlCharacter);
        }
        return Ok(Cow::Owned(text));
    }
    if !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(HeaderValueError::NotVisibleAscii);
    }
    if value.starts_with(' ') || value.ends_with(' ') {
        return Err(HeaderValueError::SurroundingWhitespace);
    }
    Ok(Cow::Borrowed(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

    /// The encoded form of `text`, as a client sends it.
    fn encode(text: &str) -> String {
        format!("=?base64?{}?=", STANDARD.encode(text.as_bytes()))
    }

    #[test]
    fn plain_values_are_borrowed_as_is() {
        for value in [
            "tools/call",
            "get_weather",
            "a b",
            "x",
            "!~",
            "file:///tmp/a?b=c#d",
        ] {
            assert_eq!(decode(value), Ok(Cow::Borrowed(value)), "{value}");
            assert!(matches!(decode(value), Ok(Cow::Borrowed(_))));
        }
    }

    #[test]
    fn empty_plain_value_is_empty() {
        assert_eq!(decode(""), Ok(Cow::Borrowed("")));
    }

    #[test]
    fn plain_values_outside_visible_ascii_are_refused() {
        for value in [
            "caf\u{e9}",
            "a\tb",
            "a\u{7f}",
            "a\u{0}",
            "\u{1f600}",
            "a\nb",
            "a\rb",
        ] {
            assert_eq!(
                decode(value),
                Err(HeaderValueError::NotVisibleAscii),
                "{value:?}"
            );
        }
    }

    #[test]
    fn plain_values_with_surrounding_whitespace_are_refused() {
        for value in [" a", "a ", " ", "  a  "] {
            assert_eq!(
                decode(value),
                Err(HeaderValueError::SurroundingWhitespace),
                "{value:?}"
            );
        }
        // Tabs are outside visible ASCII in the first place.
        assert_eq!(decode("\ta"), Err(HeaderValueError::NotVisibleAscii));
    }

    #[test]
    fn round_trips_non_ascii_and_awkward_values() {
        for text in [
            "caf\u{e9}",
            "\u{5929}\u{6c17}",
            "\u{1f600} tool",
            " leading",
            "trailing ",
            "=?base64?literal?=",
            "tools/call",
            "\u{202e}bidi",
        ] {
            let encoded = encode(text);
            assert_eq!(decode(&encoded).as_deref(), Ok(text), "{encoded}");
            assert!(matches!(decode(&encoded), Ok(Cow::Owned(_))));
        }
    }

    #[test]
    fn spec_example_uses_the_standard_alphabet() {
        // The encoded form of a plain value that looks like the encoded form.
        assert_eq!(
            decode("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=").as_deref(),
            Ok("=?base64?literal?=")
        );
    }

    #[test]
    fn padding_is_optional() {
        for text in ["a", "ab", "abc", "caf\u{e9}"] {
            let unpadded = format!("=?base64?{}?=", STANDARD_NO_PAD.encode(text));
            assert_eq!(decode(&unpadded).as_deref(), Ok(text), "{unpadded}");
            assert_eq!(decode(&encode(text)).as_deref(), Ok(text));
        }
    }

    #[test]
    fn malformed_base64_is_refused() {
        for value in [
            "=?base64?!!!!?=",
            "=?base64?Y?=",            // one symbol cannot hold a byte
            "=?base64?YW=Jj?=",        // padding in the middle
            "=?base64?YWJj=?=",        // padding where none belongs
            "=?base64?YQ===?=",        // too much padding
            "=?base64?YR==?=",         // non-zero trailing bits
            "=?base64?Y W J j?=",      // spaces
            "=?base64?-_-_?=",         // URL-safe alphabet
            "=?base64?\u{e9}\u{e9}?=", // non-ASCII payload
        ] {
            assert_eq!(decode(value), Err(HeaderValueError::Base64), "{value}");
        }
    }

    #[test]
    fn decoded_bytes_must_be_utf8() {
        let value = format!("=?base64?{}?=", STANDARD.encode([0xff, 0xfe, 0x41]));
        assert_eq!(decode(&value), Err(HeaderValueError::NotUtf8));
        let truncated = format!("=?base64?{}?=", STANDARD.encode([0xe2, 0x82]));
        assert_eq!(decode(&truncated), Err(HeaderValueError::NotUtf8));
    }

    #[test]
    fn decoded_control_characters_are_refused() {
        for text in [
            "a\nb",
            "a\rb",
            "\u{0}",
            "tab\t",
            "del\u{7f}",
            "c1\u{85}",
            "\u{1b}[0m",
        ] {
            assert_eq!(
                decode(&encode(text)),
                Err(HeaderValueError::ControlCharacter),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_markers_alone() {
        // Both markers, empty payload: the empty text.
        assert_eq!(decode("=?base64??=").as_deref(), Ok(""));
        // Only the opening marker, or markers that overlap: plain text.
        assert_eq!(decode("=?base64?"), Ok(Cow::Borrowed("=?base64?")));
        assert_eq!(decode("=?base64?="), Ok(Cow::Borrowed("=?base64?=")));
        assert_eq!(decode("=?base64?YWJj"), Ok(Cow::Borrowed("=?base64?YWJj")));
        assert_eq!(decode("?="), Ok(Cow::Borrowed("?=")));
    }

    #[test]
    fn markers_are_case_sensitive() {
        assert_eq!(
            decode("=?BASE64?YWJj?="),
            Ok(Cow::Borrowed("=?BASE64?YWJj?="))
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        for value in [
            "=?base64?\u{1f600}?=",
            "=?base64?=?=",
            "=?base64?????=",
            "=?base64?=?base64??=?=",
            "\u{feff}",
            "=",
            "?",
        ] {
            let _ = decode(value);
        }
    }
}
