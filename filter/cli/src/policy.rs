//! Reading a policy file (JSON or YAML) and compiling it exactly as the filter does.

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
    /// The JSON value, when the text parsed.
    pub value: Option<Value>,
    /// The compiled policy, or every error.
    pub compiled: Result<Policy, ConfigErrors>,
    /// Line numbers of configuration paths (JSON files only).
    pub locations: Locations,
}

impl Loaded {
    /// `file:line` (or `file`) for a configuration path.
    pub fn place(&self, path: &str) -> String {
        match self.line(path) {
            Some(line) => format!("{}:{line}", self.source.path),
            None => self.source.path.clone(),
        }
    }

    /// The line of a configuration path, when known.
    pub fn line(&self, path: &str) -> Option<usize> {
        if self.is_plain_json() {
            self.locations.find(path).map(|(line, _)| line)
        } else {
            None
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

/// Reads and compiles a policy file.
pub fn load(path: &str) -> Result<Loaded, String> {
    Ok(compile(read(path)?))
}

/// Compiles a source: JSON text goes through [`workload_authz_core::compile`] (the filter's own
/// entry point); YAML is converted to a JSON value and goes through `compile_value`.
pub fn compile(mut source: Source) -> Loaded {
    let locations = match source.syntax {
        Syntax::Json => Locations::of_json(&source.text),
        Syntax::Yaml => Locations::default(),
    };
    let parsed = match source.syntax {
        Syntax::Json => serde_json::from_str::<Value>(&source.text)
            .map_err(|e| ConfigError::new("", ConfigErrorKind::NotJson(e.to_string()))),
        Syntax::Yaml => yaml_value(&source.text)
            .map_err(|e| ConfigError::new("", ConfigErrorKind::NotYaml(e.to_string()))),
    };
    let (value, compiled) = match parsed {
        Err(error) => (None, Err(ConfigErrors(vec![error]))),
        Ok(value) => {
            let value = match plugin_config(&value) {
                Some(inner) => {
                    source.from_wasmplugin = true;
                    inner.clone()
                }
                None => value,
            };
            let compiled = if source.syntax == Syntax::Json && !source.from_wasmplugin {
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
