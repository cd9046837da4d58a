//! The logs `review` reads: files, directories (every file below, in name order), `-` for
//! standard input; gzip (also concatenated members, as `logrotate` writes them) is recognised by
//! its magic bytes, whatever the name. Lines are read one at a time with a bound on their length,
//! so memory does not grow with the input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The longest line kept; a longer one is skipped (counted as unreadable).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One input named on the command line, expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Source {
    /// How the source is named in reports.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "-".to_string(),
            Source::File(path) => path.display().to_string(),
        }
    }

    /// Opens the source for reading lines, decompressing gzip.
    pub fn open(&self) -> io::Result<Box<dyn BufRead>> {
        let raw: Box<dyn Read> = match self {
            Source::Stdin => Box::new(io::stdin().lock()),
            Source::File(path) => Box::new(File::open(path)?),
        };
        let mut reader = BufReader::with_capacity(1 << 16, raw);
        let is_gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        Ok(if is_gzip {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::bufread::MultiGzDecoder::new(reader),
            ))
        } else {
            Box::new(reader)
        })
    }
}

/// Expands the arguments: `-` is standard input (once), a directory every regular file below it
/// (hidden ones skipped), sorted by path.
pub fn expand(arguments: &[String]) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    for argument in arguments {
        if argument == "-" {
            if sources.contains(&Source::Stdin) {
                return Err("`-` (standard input) is named twice".into());
            }
            sources.push(Source::Stdin);
            continue;
        }
        let path = Path::new(argument);
        let meta = std::fs::metadata(path).map_err(|e| format!("{argument}: {e}"))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files).map_err(|e| format!("{argument}: {e}"))?;
            files.sort();
            if files.is_empty() {
                return Err(format!("{argument}: the directory holds no file"));
            }
            sources.extend(files.into_iter().map(Source::File));
        } else {
            sources.push(Source::File(path.to_path_buf()));
        }
    }
    Ok(sources)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), files)?;
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// What [`next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line (without its line feed) is in the buffer.
    Read,
    /// A line longer than [`MAX_LINE_BYTES`] was skipped.
    TooLong,
    /// The end of the input.
    End,
}

/// Reads the next line into `line` (cleared first), never holding more than `max` bytes of it.
pub fn next_line(reader: &mut dyn BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    line.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => Line::End,
                (true, true) => Line::TooLong,
                (true, false) => Line::Read,
            });
        }
        any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (available.get(..at).unwrap_or_default(), Some(at + 1)),
            None => (available, None),
        };
        if !too_long {
            if line.len() + chunk.len() > max {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = done.unwrap_or(available.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Read });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use std::io::{Cursor, Write};

    fn lines(data: &[u8], max: usize) -> Vec<Result<String, &'static str>> {
        let mut reader = BufReader::with_capacity(4, Cursor::new(data.to_vec()));
        let mut line = Vec::new();
        let mut out = Vec::new();
        loop {
            match next_line(&mut reader, &mut line, max).unwrap() {
                Line::Read => out.push(Ok(String::from_utf8(line.clone()).unwrap())),
                Line::TooLong => out.push(Err("too long")),
                Line::End => return out,
            }
        }
    }

    #[test]
    fn lines_are_split_and_long_ones_skipped() {
        assert_eq!(
            lines(b"one\ntwo-two\n\nlast", 5),
            vec![
                Ok("one".into()),
                Err("too long"),
                Ok("".into()),
                Ok("last".into())
            ]
        );
        assert_eq!(lines(b"", 5), Vec::<Result<String, &str>>::new());
        assert_eq!(lines(b"abcdef", 5), vec![Err("too long")]);
    }

    #[test]
    fn gzip_is_recognised_by_its_bytes_and_members_concatenated() {
        let dir = std::env::temp_dir().join(format!("review-input-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let gzip = |text: &str| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(text.as_bytes()).unwrap();
            encoder.finish().unwrap()
        };
        let mut two_members = gzip("a\nb\n");
        two_members.extend(gzip("c\n"));
        std::fs::write(dir.join("sub/rotated.1"), two_members).unwrap();
        std::fs::write(dir.join("access.log"), "x\n").unwrap();
        std::fs::write(dir.join(".hidden"), "h\n").unwrap();
        let sources = expand(&[dir.display().to_string()]).unwrap();
        assert_eq!(
            sources,
            vec![
                Source::File(dir.join("access.log")),
                Source::File(dir.join("sub/rotated.1"))
            ]
        );
        let mut text = String::new();
        sources[1]
            .open()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "a\nb\nc\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_inputs_and_stdin_twice_are_refused() {
        assert!(expand(&["/nonexistent/log".into()])
            .unwrap_err()
            .contains("/nonexistent/log"));
        assert!(expand(&["-".into(), "-".into()]).is_err());
    }
}
