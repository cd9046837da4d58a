//! The JSON side: find `result.tools` in a JSON-RPC response and replace that array only.
//!
//! Positions are byte offsets into the text; every one the scanner keeps is at an ASCII
//! structural character or at the end of a value, so slicing there is on a char boundary (and
//! is done with `get` anyway).

use super::ListFilterError;
use serde::de::IgnoredAny;

/// A replacement of `text[start..end]`.
pub(super) struct Edit {
    /// First byte replaced.
    pub(super) start: usize,
    /// One past the last byte replaced.
    pub(super) end: usize,
    /// The new text.
    pub(super) text: String,
}

/// `text` with `edits` (in increasing, non-overlapping order) applied.
pub(super) fn apply(text: &str, edits: &[Edit]) -> Result<String, ListFilterError> {
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for edit in edits {
        out.push_str(slice(text, done, edit.start)?);
        out.push_str(&edit.text);
        done = edit.end;
    }
    out.push_str(text.get(done..).ok_or(ListFilterError::Unreadable)?);
    Ok(out)
}

/// Filters one JSON text (a response or a batch of responses).
pub(super) fn filter(
    text: &str,
    allowed: &dyn Fn(&str) -> bool,
) -> Result<Option<String>, ListFilterError> {
    // The whole text is checked first, so that anything the scanner meets later is JSON.
    // serde_json skips values without recursion: no depth limit applies here.
    serde_json::from_str::<IgnoredAny>(text).map_err(|_| ListFilterError::NotJson)?;
    let bytes = text.as_bytes();
    let start = skip_whitespace(bytes, 0);
    let mut edits = Vec::new();
    match bytes.get(start) {
        Some(b'{') => response_edits(text, start, allowed, &mut edits)?,
        Some(b'[') => {
            for (element, _) in elements(text, start)? {
                if bytes.get(element) == Some(&b'{') {
                    response_edits(text, element, allowed, &mut edits)?;
                }
            }
        }
        _ => {}
    }
    if edits.is_empty() {
        return Ok(None);
    }
    apply(text, &edits).map(Some)
}

/// The edit of the response object at `start`, if its tool list loses entries.
fn response_edits(
    text: &str,
    start: usize,
    allowed: &dyn Fn(&str) -> bool,
    edits: &mut Vec<Edit>,
) -> Result<(), ListFilterError> {
    let bytes = text.as_bytes();
    let Some(result) = only(&members(text, start)?, "result")? else {
        return Ok(());
    };
    if bytes.get(result.start) != Some(&b'{') {
        return Ok(());
    }
    let Some(tools) = only(&members(text, result.start)?, "tools")? else {
        return Ok(());
    };
    if bytes.get(tools.start) != Some(&b'[') {
        return Err(ListFilterError::ToolsNotArray);
    }
    let entries = elements(text, tools.start)?;
    let mut kept = Vec::with_capacity(entries.len());
    for &(entry_start, entry_end) in &entries {
        if tool_name(text, entry_start)?.is_some_and(|name| allowed(&name)) {
            kept.push(slice(text, entry_start, entry_end)?);
        }
    }
    if kept.len() != entries.len() {
        edits.push(Edit {
            start: tools.start,
            end: tools.end,
            text: format!("[{}]", kept.join(",")),
        });
    }
    Ok(())
}

/// The name of the tool entry at `start`: the value of its only `name` member, when that is a
/// string. `None` (the entry is removed) for anything else.
fn tool_name(text: &str, start: usize) -> Result<Option<String>, ListFilterError> {
    if text.as_bytes().get(start) != Some(&b'{') {
        return Ok(None);
    }
    let members = members(text, start)?;
    let mut names = members.iter().filter(|m| m.key.as_deref() == Some("name"));
    let (Some(name), None) = (names.next(), names.next()) else {
        return Ok(None);
    };
    Ok(serde_json::from_str::<String>(slice(text, name.start, name.end)?).ok())
}

/// One member of an object.
struct Member {
    /// The decoded key; `None` when serde_json cannot decode it (an unpaired surrogate escape),
    /// which no key the filter looks for can be.
    key: Option<String>,
    /// Where the value starts.
    start: usize,
    /// Where the value ends.
    end: usize,
}

/// The value of the member named `key`, if there is exactly one; an error if there are several.
fn only(members: &[Member], key: &'static str) -> Result<Option<Span>, ListFilterError> {
    let mut found = members.iter().filter(|m| m.key.as_deref() == Some(key));
    match (found.next(), found.next()) {
        (_, Some(_)) => Err(ListFilterError::DuplicateMember(key)),
        (first, None) => Ok(first.map(|m| Span {
            start: m.start,
            end: m.end,
        })),
    }
}

/// Where a value starts and ends.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// First byte of the value.
    start: usize,
    /// One past its last byte.
    end: usize,
}

/// The members of the object that starts (with `{`) at `start`.
fn members(text: &str, start: usize) -> Result<Vec<Member>, ListFilterError> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'{') {
        return Err(ListFilterError::Unreadable);
    }
    let mut out = Vec::new();
    let mut pos = skip_whitespace(bytes, start + 1);
    if bytes.get(pos) == Some(&b'}') {
        return Ok(out);
    }
    loop {
        if bytes.get(pos) != Some(&b'"') {
            return Err(ListFilterError::Unreadable);
        }
        let key_end = value_end(text, pos)?;
        let key = serde_json::from_str::<String>(slice(text, pos, key_end)?).ok();
        pos = skip_whitespace(bytes, key_end);
        if bytes.get(pos) != Some(&b':') {
            return Err(ListFilterError::Unreadable);
        }
        let value_start = skip_whitespace(bytes, pos + 1);
        let end = value_end(text, value_start)?;
        out.push(Member {
            key,
            start: value_start,
            end,
        });
        pos = skip_whitespace(bytes, end);
        match bytes.get(pos) {
            Some(b',') => pos = skip_whitespace(bytes, pos + 1),
            Some(b'}') => return Ok(out),
            _ => return Err(ListFilterError::Unreadable),
        }
    }
}

/// The `(start, end)` of each element of the array that starts (with `[`) at `start`.
fn elements(text: &str, start: usize) -> Result<Vec<(usize, usize)>, ListFilterError> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'[') {
        return Err(ListFilterError::Unreadable);
    }
    let mut out = Vec::new();
    let mut pos = skip_whitespace(bytes, start + 1);
    if bytes.get(pos) == Some(&b']') {
        return Ok(out);
    }
    loop {
        let end = value_end(text, pos)?;
        out.push((pos, end));
        pos = skip_whitespace(bytes, end);
        match bytes.get(pos) {
            Some(b',') => pos = skip_whitespace(bytes, pos + 1),
            Some(b']') => return Ok(out),
            _ => return Err(ListFilterError::Unreadable),
        }
    }
}

/// Where the JSON value that starts at `start` ends (serde_json skips it).
fn value_end(text: &str, start: usize) -> Result<usize, ListFilterError> {
    let rest = text.get(start..).ok_or(ListFilterError::Unreadable)?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<IgnoredAny>();
    match values.next() {
        Some(Ok(_)) => Ok(start + values.byte_offset()),
        _ => Err(ListFilterError::Unreadable),
    }
}

/// The first position at or after `pos` that is not JSON whitespace.
fn skip_whitespace(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// `text[start..end]`, or an error where that is not a slice of it.
fn slice(text: &str, start: usize, end: usize) -> Result<&str, ListFilterError> {
    text.get(start..end).ok_or(ListFilterError::Unreadable)
}
