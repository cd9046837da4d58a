//! Reading a policy file (JSON or YAML) and compiling it exactly as the filter does.

use crate::jwks_file::{self, Inlined};
use crate::locate::Locations;
use serde_json::Value;
use std::io::Read;
use workload_authz_core::config::{compile_value, ConfigError, ConfigErrorKind};
use workload_authz_core::{ConfigErrors, Policy};

/// The syntax a policy file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON: what the filter reads (`configuration` / `pluginConfig`).
    Json,
    /// YAML: converted to the same JSON value first.
    Yaml,
}

/// A policy file as read.
pub struct Source {
    /// The path as given (`-` for standard input).
    pub path: String,
    /// Its text.
    pub text: String,
    /// JSON or YAML.
    pub syntax: Syntax,
    /// Set when the file is an Istio `WasmPlugin` manifest: the policy is its `pluginConfig`.
    pub from_wasmplugin: bool,
}

/// A policy that was parsed (maybe) and compiled (maybe).
pub struct Loaded {
    /// The file.
    pub source: Source,
    /// The JSON value, when the text parsed (with the `local_jwks.filename`s inlined).
    pub value: Option<Value>,
    /// The compiled policy, or every error.
    pub compiled: Result<Policy, ConfigErrors>,
    /// Line numbers of configuration paths (JSON files only).
    pub locations: Locations,
    /// The key sets read from `local_jwks.filename` and inlined as `inline_string`.
    pub inlined: Vec<Inlined>,
}

impl Loaded {
    /// `file:line` (or `file`) for a configuration path.
    pub fn place(&self, path: &str) -> String {
        match self.line(path) {
            Some(line) => format!("{}:{line}", self.source.path),
            None => self.source.path.clone(),
        }
    }

    /// The line of a configuration path, when known. A path inside a key set read from
    /// `local_jwks.filename` has the line of that field.
    pub fn line(&self, path: &str) -> Option<usize> {
        if !self.is_plain_json() {
            return None;
        }
        let path = match self.inlined_at(path) {
            Some(inlined) => inlined.field(),
            None => path.to_string(),
        };
        self.locations.find(&path).map(|(line, _)| line)
    }

    /// The inlined key set a path is in (`providers.mesh.local_jwks.inline_string.keys[0]`).
    fn inlined_at(&self, path: &str) -> Option<&Inlined> {
        self.inlined.iter().find(|i| {
            let field = i.inline_field();
            path == field || path.starts_with(&format!("{field}."))
        })
    }

    /// For an error inside a key set read from `local_jwks.filename`: where the text came from
    /// (the error names `inline_string`, which the file does not have).
    pub fn origin(&self, path: &str) -> Option<String> {
        let inlined = self.inlined_at(path)?;
        Some(format!(
            "`{}` is the key set of `{}` ({})",
            inlined.inline_field(),
            inlined.file.display(),
            inlined.field()
        ))
    }

    /// Prints every compile error to standard error (or out): `file:line: error: ...` and its
    /// hint, and where an inlined key set came from.
    pub fn print_errors(&self, errors: &ConfigErrors, to_stdout: bool) {
        for error in &errors.0 {
            let mut lines = vec![
                format!("{}: error: {error}", self.place(&error.path)),
                format!("  hint: {}", error.hint()),
            ];
            lines.extend(self.origin(&error.path).map(|o| format!("  note: {o}")));
            for line in lines {
                if to_stdout {
                    println!("{line}");
                } else {
                    eprintln!("{line}");
                }
            }
        }
    }

    fn is_plain_json(&self) -> bool {
        self.source.syntax == Syntax::Json && !self.source.from_wasmplugin
    }
}

/// Reads a policy file (`-`: standard input).
pub fn read(path: &str) -> Result<Source, String> {
    let text = if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("standard input: {e}"))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
    };
    let lower = path.to_ascii_lowercase();
    let syntax = if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Syntax::Yaml
    } else if lower.ends_with(".json") || text.trim_start().starts_with(['{', '[']) {
        Syntax::Json
    } else {
        Syntax::Yaml
    };
    Ok(Source {
        path: path.to_string(),
        text,
        syntax,
        from_wasmplugin: false,
    })
}

/// Reads and compiles a policy file, inlining its `local_jwks.filename`s (relative to the
/// file's directory); a key-set file that cannot be read is an error naming the field and the
/// file.
pub fn load(path: &str) -> Result<Loaded, String> {
    let mut parsed = parse(read(path)?);
    let inlined = match &mut parsed.value {
        Ok(value) => jwks_file::inline(value, &jwks_file::base_dir(path)).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| format!("{path}: {e}")).collect();
            lines.join("\n")
        })?,
        Err(_) => Vec::new(),
    };
    Ok(parsed.compile(inlined))
}

/// Compiles a source as it is (no file is read): JSON text goes through
/// [`workload_authz_core::compile`] (the filter's own entry point); YAML is converted to a JSON
/// value and goes through `compile_value`.
pub fn compile(source: Source) -> Loaded {
    parse(source).compile(Vec::new())
}

/// A source whose text was parsed into the policy's JSON value (or not).
struct Parsed {
    source: Source,
    value: Result<Value, ConfigError>,
    locations: Locations,
}

/// Parses a source; an Istio `WasmPlugin` manifest yields its `pluginConfig`.
fn parse(mut source: Source) -> Parsed {
    let locations = match source.syntax {
        Syntax::Json => Locations::of_json(&source.text),
        Syntax::Yaml => Locations::default(),
    };
    let value = match source.syntax {
        Syntax::Json => serde_json::from_str::<Value>(&source.text)
            .map_err(|e| ConfigError::new("", ConfigErrorKind::NotJson(e.to_string()))),
        Syntax::Yaml => yaml_value(&source.text)
            .map_err(|e| ConfigError::new("", ConfigErrorKind::NotYaml(e.to_string()))),
    };
    let value = value.map(|value| match plugin_config(&value) {
        Some(inner) => {
            source.from_wasmplugin = true;
            inner.clone()
        }
        None => value,
    });
    Parsed {
        source,
        value,
        locations,
    }
}

impl Parsed {
    /// Compiles the value. A plain JSON file whose value is unchanged is compiled from its text,
    /// as the filter does; anything else (YAML, a manifest, inlined key sets) from the value,
    /// which gives the same policy hash as the JSON text printed from it.
    fn compile(self, inlined: Vec<Inlined>) -> Loaded {
        let Parsed {
            source,
            value,
            locations,
        } = self;
        let (value, compiled) = match value {
            Err(error) => (None, Err(ConfigErrors(vec![error]))),
            Ok(value) => {
                let as_text =
                    source.syntax == Syntax::Json && !source.from_wasmplugin && inlined.is_empty();
                let compiled = if as_text {
                    workload_authz_core::compile(&source.text)
                } else {
                    compile_value(&value)
                };
                (Some(value), compiled)
            }
        };
        Loaded {
            source,
            value,
            compiled,
            locations,
            inlined,
        }
    }
}

/// Parses YAML into a JSON value. A file of several documents is accepted when exactly one of
/// them is an Istio `WasmPlugin`.
fn yaml_value(text: &str) -> Result<Value, String> {
    let mut documents = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(document)
            .map_err(|e: serde_norway::Error| e.to_string())?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    if documents.len() > 1 {
        let mut plugins: Vec<Value> = documents
            .into_iter()
            .filter(|d| plugin_config(d).is_some())
            .collect();
        return match (plugins.pop(), plugins.is_empty()) {
            (Some(one), true) => Ok(one),
            _ => Err(
                "the file holds several documents; expected one policy (or one WasmPlugin)".into(),
            ),
        };
    }
    Ok(documents.pop().unwrap_or(Value::Null))
}

/// `spec.pluginConfig` of an Istio `WasmPlugin` manifest.
fn plugin_config(value: &Value) -> Option<&Value> {
    if value.get("kind").and_then(Value::as_str) != Some("WasmPlugin") {
        return None;
    }
    value.get("spec")?.get("pluginConfig")
}
