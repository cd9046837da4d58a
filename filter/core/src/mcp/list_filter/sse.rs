//! The event-stream side: split the body into server-sent events (WHATWG HTML, "Server-sent
//! events", event stream interpretation) and filter the data of each.

use super::json::{self, Edit};
use super::ListFilterError;

/// One line of the stream: `start..content` is its text, `content..next` its line ending
/// (CRLF, LF, CR, or nothing at the end of the body).
#[derive(Debug, Clone, Copy)]
struct Line {
    /// First byte of the line.
    start: usize,
    /// First byte of the line ending.
    content: usize,
    /// First byte of the next line.
    next: usize,
}

/// Filters an event stream.
pub(super) fn filter(
    text: &str,
    allowed: &dyn Fn(&str) -> bool,
) -> Result<Option<String>, ListFilterError> {
    let bytes = text.as_bytes();
    // A byte order mark opens the stream only; it is kept as it is.
    let mut pos = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut edits = Vec::new();
    let mut event = Vec::new();
    while pos < bytes.len() {
        let line = next_line(bytes, pos);
        pos = line.next;
        if line.content == line.start {
            event_edit(text, &event, allowed, &mut edits)?;
            event.clear();
        } else {
            event.push(line);
        }
    }
    event_edit(text, &event, allowed, &mut edits)?;
    if edits.is_empty() {
        return Ok(None);
    }
    json::apply(text, &edits).map(Some)
}

/// The line that starts at `start` (before the end of `bytes`).
fn next_line(bytes: &[u8], start: usize) -> Line {
    let mut content = start;
    while let Some(&byte) = bytes.get(content) {
        match byte {
            b'\n' => {
                return Line {
                    start,
                    content,
                    next: content + 1,
                }
            }
            b'\r' => {
                let next = if bytes.get(content + 1) == Some(&b'\n') {
                    content + 2
                } else {
                    content + 1
                };
                return Line {
                    start,
                    content,
                    next,
                };
            }
            _ => content += 1,
        }
    }
    Line {
        start,
        content,
        next: content,
    }
}

/// The field name and value of a line; `None` for a comment (a line that starts with `:`).
/// Without a colon the whole line is the name and the value is empty; one space after the
/// colon is not part of the value.
fn field(text: &str, line: Line) -> Option<(&str, &str)> {
    let content = text.get(line.start..line.content).unwrap_or_default();
    if content.starts_with(':') {
        return None;
    }
    Some(match content.split_once(':') {
        Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
        None => (content, ""),
    })
}

/// The edit of one event (its lines, without the blank line that ends it), if its data is a
/// response whose tool list loses entries.
fn event_edit(
    text: &str,
    event: &[Line],
    allowed: &dyn Fn(&str) -> bool,
    edits: &mut Vec<Edit>,
) -> Result<(), ListFilterError> {
    let (Some(first), Some(last)) = (event.first(), event.last()) else {
        return Ok(());
    };
    let is_data = |line: &Line| matches!(field(text, *line), Some(("data", _)));
    let values: Vec<&str> = event
        .iter()
        .filter_map(|line| match field(text, *line) {
            Some(("data", value)) => Some(value),
            _ => None,
        })
        .collect();
    let data = values.join("\n");
    // No data, or only line feeds and spaces: not a message (priming events, keep-alives).
    if data.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n')) {
        return Ok(());
    }
    let Some(new_data) = json::filter(&data, allowed)? else {
        return Ok(());
    };

    let mut out = String::with_capacity(new_data.len() + 64);
    let mut data_written = false;
    for line in event {
        if !is_data(line) {
            out.push_str(text.get(line.start..line.next).unwrap_or_default());
            continue;
        }
        if data_written {
            continue;
        }
        data_written = true;
        let ending = text.get(line.content..line.next).unwrap_or_default();
        let mut pieces = new_data.split('\n').peekable();
        while let Some(piece) = pieces.next() {
            out.push_str("data: ");
            out.push_str(piece);
            out.push_str(match (pieces.peek(), ending) {
                (None, _) => ending,
                (Some(_), "") => "\n",
                (Some(_), _) => ending,
            });
        }
    }
    edits.push(Edit {
        start: first.start,
        end: last.next,
        text: out,
    });
    Ok(())
}
