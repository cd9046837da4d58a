//! Line numbers for configuration paths (`routes[2].require.scopes[0]`) in a JSON policy file,
//! so that errors and lint findings point at a line (text output, SARIF regions).
//!
//! A small scanner over the JSON text records where every member and item starts; it uses the
//! same path spelling as the core's configuration errors. YAML files get no line numbers.

use std::collections::HashMap;

/// Where each path starts: 1-based line and column (of the member's key, or of an item).
#[derive(Debug, Default)]
pub struct Locations {
    at: HashMap<String, (usize, usize)>,
}

impl Locations {
    /// Scans `text`; an unparsable text yields what was seen before the problem.
    pub fn of_json(text: &str) -> Locations {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            pos: 0,
            found: Vec::new(),
        };
        scanner.skip_ws();
        let start = scanner.pos;
        scanner.found.push((String::new(), start));
        let _ = scanner.value("");
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        let mut at = HashMap::new();
        for (path, offset) in scanner.found {
            let line = line_starts.partition_point(|s| *s <= offset);
            let line_start = line_starts
                .get(line.saturating_sub(1))
                .copied()
                .unwrap_or(0);
            let column = text
                .get(line_start..offset)
                .map_or(1, |s| s.chars().count() + 1);
            at.entry(path).or_insert((line.max(1), column));
        }
        Locations { at }
    }

    /// The line and column of `path`, or of its closest ancestor that is known.
    pub fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut current = path;
        loop {
            if let Some(found) = self.at.get(current) {
                return Some(*found);
            }
            if current.is_empty() {
                return None;
            }
            current = parent(current);
        }
    }
}

/// `a.b[2]` → `a.b`, `a.b` → `a`, `a` → ``.
fn parent(path: &str) -> &str {
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    path.get(..cut).unwrap_or_default()
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    found: Vec<(String, usize)>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    fn value(&mut self, path: &str) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'{' => self.object(path),
            b'[' => self.array(path),
            b'"' => self.string().map(|_| ()),
            _ => {
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                }) {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    fn object(&mut self, path: &str) -> Option<()> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.skip_ws();
            let start = self.pos;
            let key = self.string()?;
            let child = if path.is_empty() {
                key
            } else {
                format!("{path}.{key}")
            };
            self.found.push((child.clone(), start));
            self.expect(b':')?;
            self.value(&child)?;
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, path: &str) -> Option<()> {
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Some(());
        }
        let mut index = 0;
        loop {
            self.skip_ws();
            let child = format!("{path}[{index}]");
            self.found.push((child.clone(), self.pos));
            self.value(&child)?;
            index += 1;
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A JSON string, decoded well enough for member names (escapes resolved by serde_json).
    fn string(&mut self) -> Option<String> {
        self.skip_ws();
        let start = self.pos;
        if self.peek()? != b'"' {
            return None;
        }
        self.pos += 1;
        loop {
            match self.peek()? {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    break;
                }
                _ => self.pos += 1,
            }
        }
        let raw = std::str::from_utf8(self.bytes.get(start..self.pos)?).ok()?;
        serde_json::from_str(raw).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_get_lines() {
        let text = "{\n  \"mode\": \"enforce\",\n  \"routes\": [\n    {\"action\": \"a\",\n     \"match\": {\"path\": \"/x\"}}\n  ]\n}\n";
        let at = Locations::of_json(text);
        assert_eq!(at.find("mode"), Some((2, 3)));
        assert_eq!(at.find("routes[0]"), Some((4, 5)));
        assert_eq!(at.find("routes[0].match.path"), Some((5, 16)));
        assert_eq!(at.find("routes[0].require.scopes[0]"), Some((4, 5)));
        assert_eq!(at.find("nothing"), Some((1, 1)));
    }
}
