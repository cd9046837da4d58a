//! Filtering a `tools/list` response so that the caller only sees the tools it may call.
//!
//! The body is rewritten in place rather than parsed and serialised again: serde_json here keeps
//! object members sorted (the core does not enable its `preserve_order` feature) and would also
//! rewrite numbers and drop duplicate members. A small scanner (serde_json skips every value, so
//! its syntax checks are the ones applied) finds the `result.tools` array of the JSON-RPC
//! response and only that array is replaced, by the entries that are kept, written back byte for
//! byte and joined by `,`. Everything else in the body, whitespace included, is unchanged.
//!
//! The filter fails closed where a client could read the response differently from it: a
//! duplicate `result` or `tools` member is an error, a tool entry whose `name` is missing, not a
//! string or given twice is removed, and a `tools` member that is not an array is an error.

mod json;
mod sse;
#[cfg(test)]
mod tests;

use std::fmt;

/// Why a response cannot be filtered; the caller fails closed on any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilterError {
    /// The content type is neither `application/json` nor `text/event-stream`.
    UnsupportedContentType,
    /// The body is not UTF-8.
    NotUtf8,
    /// The body (or the data of a server-sent event) is not JSON.
    NotJson,
    /// An object on the way to the tool list has the named member more than once (`result` in
    /// the response, `tools` in the result): clients disagree on which one counts.
    DuplicateMember(&'static str),
    /// `result.tools` is present but is not an array.
    ToolsNotArray,
    /// The JSON parsed but the scanner could not walk it (never expected: a defect).
    Unreadable,
}

impl fmt::Display for ListFilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListFilterError::UnsupportedContentType => {
                f.write_str("the content type is neither application/json nor text/event-stream")
            }
            ListFilterError::NotUtf8 => f.write_str("the body is not UTF-8"),
            ListFilterError::NotJson => f.write_str("the body is not JSON"),
            ListFilterError::DuplicateMember(name) => {
                write!(f, "the member `{name}` is given more than once")
            }
            ListFilterError::ToolsNotArray => f.write_str("`result.tools` is not an array"),
            ListFilterError::Unreadable => f.write_str("the JSON could not be scanned"),
        }
    }
}

impl std::error::Error for ListFilterError {}

/// A filter of one framing: the new text, or `None` when nothing is removed.
type Filter = fn(&str, &dyn Fn(&str) -> bool) -> Result<Option<String>, ListFilterError>;

/// The media type of a `Content-Type` value: before any parameter, trimmed, lower case.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Removes from a `tools/list` response the tools whose name `allowed` refuses.
///
/// `content_type` selects the framing (parameters such as `charset` are ignored, the media type
/// is compared case-insensitively):
///
/// * `application/json`: the body is one JSON-RPC response (or a batch: an array of them). In
///   each response whose `result` object has a `tools` array, the entries without exactly one
///   string `name`, or whose name is not allowed, are removed. A response without
///   `result.tools` (an error response, another method's result) is left as it is.
/// * `text/event-stream`: the body is a stream of server-sent events (lines end with CRLF, LF
///   or CR; a blank line ends an event; several `data:` lines are joined with LF). The data of
///   each event is filtered as above; an event that changes is written again with its other
///   lines (`event:`, `id:`, `retry:`, comments) as they were and its data as `data: ` lines in
///   place of the first `data:` line. Other events, and events whose data is blank, are left
///   byte for byte. A final event without its blank line is filtered too (clients drop it, but
///   the body may be cut short on purpose).
///
/// Returns `Ok(None)` when nothing is removed, `Ok(Some(body))` otherwise, and an error for a
/// body it cannot read: not UTF-8, not JSON (for an event stream: any non-blank data that is not
/// JSON), a duplicate `result` / `tools` member, or a `tools` member that is not an array.
/// The body must be complete (the caller buffers it).
pub fn filter_tools_list(
    body: &[u8],
    content_type: &str,
    allowed: &dyn Fn(&str) -> bool,
) -> Result<Option<Vec<u8>>, ListFilterError> {
    let filter: Filter = match media_type(content_type).as_str() {
        "application/json" => json::filter,
        "text/event-stream" => sse::filter,
        _ => return Err(ListFilterError::UnsupportedContentType),
    };
    let text = std::str::from_utf8(body).map_err(|_| ListFilterError::NotUtf8)?;
    Ok(filter(text, allowed)?.map(String::into_bytes))
}
