//! Compiling a route's `mcp` block: the resource, the body limit, and the rules of its methods,
//! tools, resources and prompts.

use super::error::ConfigErrorKind as Kind;
use super::policy::Provider;
use super::reader::{item, wrong_type, Errors, Obj};
use super::requirements::{compile_require_fields, expected_values, PathScope};
use super::route::REQUIRE_FIELDS;
use crate::mcp::message::TargetKind;
use crate::mcp::{
    metadata, ArgumentCondition, McpRoute, McpRule, ResourceRule, UriPattern,
    DEFAULT_MAX_BODY_BYTES, MAX_BODY_BYTES_LIMIT,
};
use serde_json::Value;

/// The fields of `mcp`.
pub const MCP_FIELDS: &[&str] = &[
    "resource",
    "authorization_servers",
    "max_body_bytes",
    "methods",
    "tools",
    "resources",
    "prompts",
];

/// The fields of a tool or prompt rule: the `require` vocabulary without `providers`, and
/// `arguments`.
fn rule_fields(extra: Option<&'static str>) -> Vec<&'static str> {
    REQUIRE_FIELDS
        .iter()
        .copied()
        .filter(|f| *f != "providers")
        .chain(extra)
        .collect()
}

/// Compiles `mcp` of a route whose path template is `scope`.
pub fn compile(
    value: &Value,
    path: &str,
    scope: &PathScope<'_>,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Option<McpRoute> {
    let obj = Obj::new(value, path, MCP_FIELDS, errors)?;
    let resource = obj.req_str("resource", errors).unwrap_or_default();
    let resource_metadata = metadata::metadata_url(resource);
    if !resource.is_empty() && resource_metadata.is_none() {
        errors.add(
            &obj.path_of("resource"),
            Kind::BadUriScheme {
                uri: resource.to_string(),
            },
        );
    }
    let authorization_servers = obj
        .opt_str_list("authorization_servers", errors)
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let max_body_bytes = obj
        .opt_u64("max_body_bytes", 1, MAX_BODY_BYTES_LIMIT as u64, errors)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_MAX_BODY_BYTES);
    let claims_scope = PathScope {
        claims: true,
        ..*scope
    };
    let named = |field: &str, extra: Option<&'static str>, errors: &mut Errors| {
        named_rules(&obj, field, extra, &claims_scope, providers, errors)
    };
    let methods = named("methods", None, errors);
    for (name, _) in &methods {
        // `resources/subscribe` and `unsubscribe` are listed here *and* need a resource rule.
        let subscription = matches!(
            name.as_str(),
            "resources/subscribe" | "resources/unsubscribe"
        );
        if let Some(kind) = TargetKind::of(name).filter(|_| !subscription) {
            errors.add(
                &format!("{}.{name}", obj.path_of("methods")),
                Kind::McpTargetMethod {
                    method: name.clone(),
                    table: table_of(kind),
                },
            );
        }
    }
    let tools = named("tools", Some("arguments"), errors);
    let prompts = named("prompts", Some("arguments"), errors);
    let resources = resource_rules(&obj, &claims_scope, providers, errors);
    Some(McpRoute {
        resource: resource.to_string(),
        authorization_servers,
        resource_metadata: resource_metadata.unwrap_or_default(),
        max_body_bytes,
        methods,
        tools,
        resources,
        prompts,
    })
}

fn table_of(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Tool => "tools",
        TargetKind::Prompt => "prompts",
        TargetKind::Resource => "resources",
    }
}

/// `methods`, `tools` or `prompts`: an object of name to rule.
fn named_rules(
    obj: &Obj<'_>,
    field: &str,
    extra: Option<&'static str>,
    scope: &PathScope<'_>,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Vec<(String, McpRule)> {
    let Some(value) = obj.get(field) else {
        return Vec::new();
    };
    let table_path = obj.path_of(field);
    let Some(map) = value.as_object() else {
        errors.push(wrong_type(&table_path, "an object of name to rule"));
        return Vec::new();
    };
    let fields = rule_fields(extra);
    let mut out = Vec::new();
    for (name, rule) in map {
        let rule_path = format!("{table_path}.{name}");
        if name.is_empty() {
            errors.add(&rule_path, Kind::Empty);
            continue;
        }
        if let Some(rule) = compile_rule(rule, &rule_path, &fields, scope, providers, errors) {
            out.push((name.clone(), rule));
        }
    }
    out
}

/// `resources`: a list of `{ "uri": template, ...rule }`, first match wins.
fn resource_rules(
    obj: &Obj<'_>,
    scope: &PathScope<'_>,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Vec<ResourceRule> {
    let Some(value) = obj.get("resources") else {
        return Vec::new();
    };
    let list_path = obj.path_of("resources");
    let Some(items) = value.as_array() else {
        errors.push(wrong_type(&list_path, "a list of resource rules"));
        return Vec::new();
    };
    let fields = rule_fields(Some("uri"));
    let mut out = Vec::new();
    for (i, entry) in items.iter().enumerate() {
        let entry_path = item(&list_path, i);
        let Some(entry_obj) = Obj::new(entry, &entry_path, &fields, errors) else {
            continue;
        };
        let Some(text) = entry_obj.req_str("uri", errors) else {
            continue;
        };
        let uri = match UriPattern::compile(text) {
            Ok(uri) => uri,
            Err(e) => {
                errors.add(&entry_obj.path_of("uri"), Kind::BadResourceUri(e));
                continue;
            }
        };
        let uri_scope = PathScope {
            uri: Some(&uri),
            ..*scope
        };
        let require = compile_require_fields(&entry_obj, &uri_scope, providers, errors);
        out.push(ResourceRule {
            rule: McpRule {
                require,
                arguments: Vec::new(),
            },
            uri,
        });
    }
    out
}

/// One tool, prompt or method rule.
fn compile_rule(
    value: &Value,
    path: &str,
    fields: &[&'static str],
    scope: &PathScope<'_>,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Option<McpRule> {
    let obj = Obj::new(value, path, fields, errors)?;
    let require = compile_require_fields(&obj, scope, providers, errors);
    let mut arguments = Vec::new();
    if let Some(value) = obj.get("arguments") {
        let args_path = obj.path_of("arguments");
        match value.as_object() {
            None => errors.push(wrong_type(
                &args_path,
                "an object of argument name to value(s)",
            )),
            Some(map) => {
                for (name, expected) in map {
                    let arg_path = format!("{args_path}.{name}");
                    if name.is_empty() || name.split('.').any(str::is_empty) {
                        errors.add(
                            &arg_path,
                            Kind::EmptyClaimSegment {
                                claim: name.clone(),
                            },
                        );
                        continue;
                    }
                    if let Some(allowed) = expected_values(expected, &arg_path, scope, errors) {
                        arguments.push(ArgumentCondition {
                            name: name.clone(),
                            path: name.split('.').map(str::to_string).collect(),
                            allowed,
                        });
                    }
                }
            }
        }
    }
    Some(McpRule { require, arguments })
}
