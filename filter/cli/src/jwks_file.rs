//! `local_jwks.filename`: the key set in a file, as Envoy's `jwt_authn` reads it. The filter runs
//! in the proxy-wasm sandbox and cannot read files (its compiler refuses the field, saying so),
//! but the CLI can: every command that loads a policy reads such a file and puts its text in
//! the policy as `local_jwks.inline_string` before compiling it, so what `envoy` and `istio`
//! print carries the key set inline. A relative `filename` is read from the policy file's
//! directory (standard input: the working directory).

use serde_json::Value;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest key-set file read: the largest `limits.max_jwks_bytes` the filter accepts.
const MAX_FILE_BYTES: u64 = 4_194_304;

/// A key set read from a file and inlined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inlined {
    /// The provider whose `local_jwks` named the file.
    pub provider: String,
    /// The file as read (the policy's directory joined with `filename`).
    pub file: PathBuf,
}

impl Inlined {
    /// `providers.NAME.local_jwks.filename`: the field the policy file has.
    pub fn field(&self) -> String {
        format!("providers.{}.local_jwks.filename", self.provider)
    }

    /// `providers.NAME.local_jwks.inline_string`: the field the compiled policy has (errors about
    /// the key set's content name it).
    pub fn inline_field(&self) -> String {
        format!("providers.{}.local_jwks.inline_string", self.provider)
    }
}

/// Why a `local_jwks.filename` could not be inlined.
#[derive(Debug)]
pub enum InlineError {
    /// `filename` is not a string.
    NotAString {
        /// The provider.
        provider: String,
    },
    /// Both `filename` and `inline_string` are given.
    BothGiven {
        /// The provider.
        provider: String,
    },
    /// The file cannot be read.
    Unreadable {
        /// The provider.
        provider: String,
        /// The file.
        file: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// The file is larger than any key set the filter accepts.
    TooLarge {
        /// The provider.
        provider: String,
        /// The file.
        file: PathBuf,
    },
    /// The file is not UTF-8 text (a JWKS is JSON).
    NotText {
        /// The provider.
        provider: String,
        /// The file.
        file: PathBuf,
    },
}

impl fmt::Display for InlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = |provider: &str| format!("providers.{provider}.local_jwks.filename");
        match self {
            InlineError::NotAString { provider } => {
                write!(f, "{}: must be a string (the path of a JWKS file)", field(provider))
            }
            InlineError::BothGiven { provider } => write!(
                f,
                "{}: set either `filename` or `inline_string`, not both",
                field(provider)
            ),
            InlineError::Unreadable {
                provider,
                file,
                error,
            } => write!(
                f,
                "{}: cannot read the key set `{}`: {error}",
                field(provider),
                file.display()
            ),
            InlineError::TooLarge { provider, file } => write!(
                f,
                "{}: `{}` is larger than {MAX_FILE_BYTES} bytes, the largest key set the filter accepts",
                field(provider),
                file.display()
            ),
            InlineError::NotText { provider, file } => write!(
                f,
                "{}: `{}` is not UTF-8 text (a JWKS is a JSON document)",
                field(provider),
                file.display()
            ),
        }
    }
}

impl std::error::Error for InlineError {}

/// The directory relative `filename`s are read from: the policy file's, or the working
/// directory (an empty path) for standard input (`-`) and a file named without a directory.
pub fn base_dir(policy_path: &str) -> PathBuf {
    if policy_path == "-" {
        return PathBuf::new();
    }
    Path::new(policy_path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Replaces every provider's `local_jwks.filename` in `policy` by `inline_string` holding the
/// file's text. Returns what was inlined (providers by name), or every problem found.
pub fn inline(policy: &mut Value, base: &Path) -> Result<Vec<Inlined>, Vec<InlineError>> {
    let mut inlined = Vec::new();
    let mut errors = Vec::new();
    let Some(providers) = policy.get_mut("providers").and_then(Value::as_object_mut) else {
        return Ok(inlined);
    };
    for (name, provider) in providers.iter_mut() {
        let Some(jwks) = provider
            .get_mut("local_jwks")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let Some(filename) = jwks.get("filename") else {
            continue;
        };
        let provider = name.clone();
        let Some(filename) = filename.as_str() else {
            errors.push(InlineError::NotAString { provider });
            continue;
        };
        if jwks.contains_key("inline_string") {
            errors.push(InlineError::BothGiven { provider });
            continue;
        }
        let file = base.join(filename);
        match read_bounded(&file) {
            Ok(text) => {
                jwks.remove("filename");
                jwks.insert("inline_string".to_string(), Value::String(text));
                inlined.push(Inlined { provider, file });
            }
            Err(ReadError::Io(error)) => errors.push(InlineError::Unreadable {
                provider,
                file,
                error,
            }),
            Err(ReadError::TooLarge) => errors.push(InlineError::TooLarge { provider, file }),
            Err(ReadError::NotText) => errors.push(InlineError::NotText { provider, file }),
        }
    }
    if errors.is_empty() {
        Ok(inlined)
    } else {
        Err(errors)
    }
}

/// Why [`read_bounded`] failed.
enum ReadError {
    Io(std::io::Error),
    TooLarge,
    NotText,
}

/// The text of `file`, refusing more than [`MAX_FILE_BYTES`].
fn read_bounded(file: &Path) -> Result<String, ReadError> {
    let handle = std::fs::File::open(file).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    handle
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "workload-authz-jwks-file-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        dir
    }

    #[test]
    fn relative_files_are_read_from_the_policy_directory() {
        assert_eq!(base_dir("-"), PathBuf::new());
        assert_eq!(base_dir("policy.json"), PathBuf::new());
        assert_eq!(base_dir("conf/policy.json"), PathBuf::from("conf"));
        let dir = scratch("relative");
        std::fs::write(dir.join("keys/jwks.json"), "{\"keys\": []}").unwrap();
        let mut policy = json!({"providers": {
            "mesh": {"local_jwks": {"filename": "keys/jwks.json"}},
            "edge": {"remote_jwks": {}}
        }});
        let done = inline(&mut policy, &dir).unwrap();
        assert_eq!(
            done,
            vec![Inlined {
                provider: "mesh".into(),
                file: dir.join("keys/jwks.json")
            }]
        );
        assert_eq!(
            policy["providers"]["mesh"]["local_jwks"],
            json!({"inline_string": "{\"keys\": []}"})
        );
        assert_eq!(done[0].field(), "providers.mesh.local_jwks.filename");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_problem_names_the_field_and_the_file() {
        let dir = scratch("problems");
        std::fs::write(dir.join("binary"), [0xff, 0xfe]).unwrap();
        let mut policy = json!({"providers": {
            "a": {"local_jwks": {"filename": "missing.json"}},
            "b": {"local_jwks": {"filename": 7}},
            "c": {"local_jwks": {"filename": "binary", "inline_string": "{}"}},
            "d": {"local_jwks": {"filename": "binary"}}
        }});
        let errors = inline(&mut policy, &dir).unwrap_err();
        let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 4, "{texts:#?}");
        assert!(
            texts[0].starts_with(&format!(
                "providers.a.local_jwks.filename: cannot read the key set `{}`: ",
                dir.join("missing.json").display()
            )),
            "{}",
            texts[0]
        );
        assert_eq!(
            texts[1],
            "providers.b.local_jwks.filename: must be a string (the path of a JWKS file)"
        );
        assert_eq!(
            texts[2],
            "providers.c.local_jwks.filename: set either `filename` or `inline_string`, not both"
        );
        assert!(texts[3].contains("is not UTF-8 text"), "{}", texts[3]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
