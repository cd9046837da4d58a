//! RFC 9728 OAuth 2.0 Protected Resource Metadata: the document an MCP client reads to find the
//! authorization servers of a protected MCP endpoint, and where that document is served.
//!
//! RFC 9728 section 3.1: the metadata of the resource `https://host/path` is at
//! `https://host/.well-known/oauth-protected-resource/path`: the well-known segment goes between
//! the host and the path, and a resource without a path (or with only `/`) has the bare
//! well-known path.

use serde_json::Value;

/// The well-known path segment of RFC 9728 (section 3).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The members of a protected resource metadata document that the filter serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceMetadata {
    /// The resource identifier (`resource`, REQUIRED): the URL of the protected MCP endpoint.
    pub resource: String,
    /// Issuer identifiers of the authorization servers (`authorization_servers`, OPTIONAL):
    /// written in the order given, duplicates dropped, omitted when empty.
    pub authorization_servers: Vec<String>,
    /// Scope values a client may request (`scopes_supported`, RECOMMENDED): written sorted and
    /// deduplicated, omitted when empty.
    pub scopes_supported: Vec<String>,
}

impl ResourceMetadata {
    /// The JSON document: `resource`, then `authorization_servers` and `scopes_supported` when
    /// not empty, then `bearer_methods_supported` (always `["header"]`: the filter reads bearer
    /// tokens from the `Authorization` header only), compact, in that order.
    pub fn to_json(&self) -> String {
        let mut servers: Vec<&str> = Vec::with_capacity(self.authorization_servers.len());
        for server in &self.authorization_servers {
            if !servers.contains(&server.as_str()) {
                servers.push(server);
            }
        }
        let mut scopes: Vec<&str> = self.scopes_supported.iter().map(String::as_str).collect();
        scopes.sort_unstable();
        scopes.dedup();

        let mut out = String::from("{\"resource\":");
        out.push_str(&Value::from(self.resource.as_str()).to_string());
        if !servers.is_empty() {
            out.push_str(",\"authorization_servers\":");
            out.push_str(&string_array(&servers));
        }
        if !scopes.is_empty() {
            out.push_str(",\"scopes_supported\":");
            out.push_str(&string_array(&scopes));
        }
        out.push_str(",\"bearer_methods_supported\":[\"header\"]}");
        out
    }
}

/// A JSON array of strings (escaped by serde_json).
fn string_array(items: &[&str]) -> String {
    Value::Array(items.iter().map(|item| Value::from(*item)).collect()).to_string()
}

/// The path the metadata of a route is served at: [`WELL_KNOWN_PATH`] followed by the route
/// path. A route path of `/` (or empty) gives the bare well-known path; a path without a leading
/// `/` gets one; a query or fragment is dropped. A trailing `/` of a longer path is kept (it is
/// part of the resource identifier).
pub fn well_known_path(route_path: &str) -> String {
    let path = route_path
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_start_matches('/');
    if path.is_empty() {
        return WELL_KNOWN_PATH.to_string();
    }
    format!("{WELL_KNOWN_PATH}/{path}")
}

/// The metadata URL of a resource identifier: `https://crm.example/mcp` gives
/// `https://crm.example/.well-known/oauth-protected-resource/mcp`.
///
/// The scheme must be `https` or `http` (either case) followed by `//` and a non-empty
/// authority; the URL must be ASCII without whitespace or control characters. A query or
/// fragment is dropped: RFC 9728 identifiers have no fragment, and the document is served by
/// path (RFC 9728 section 3.1 would keep a query after the path; resource identifiers of MCP
/// endpoints have none). `None` for anything else.
pub fn metadata_url(resource: &str) -> Option<String> {
    if !resource.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (scheme, rest) = resource.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.ends_with('@') || authority.ends_with(':') {
        return None;
    }
    Some(format!("{scheme}://{authority}{}", well_known_path(path)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata(servers: &[&str], scopes: &[&str]) -> ResourceMetadata {
        ResourceMetadata {
            resource: "https://resource.example.com".to_string(),
            authorization_servers: servers.iter().map(|s| s.to_string()).collect(),
            scopes_supported: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn document_of_the_rfc_example() {
        // RFC 9728 section 3.2, with the members the filter serves.
        let doc = metadata(
            &["https://as1.example.com", "https://as2.example.net"],
            &["profile", "email", "phone"],
        );
        assert_eq!(
            doc.to_json(),
            concat!(
                r#"{"resource":"https://resource.example.com","#,
                r#""authorization_servers":["https://as1.example.com","https://as2.example.net"],"#,
                r#""scopes_supported":["email","phone","profile"],"#,
                r#""bearer_methods_supported":["header"]}"#
            )
        );
        let value: Value = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(value["resource"], json!("https://resource.example.com"));
    }

    #[test]
    fn empty_lists_are_omitted() {
        assert_eq!(
            metadata(&[], &[]).to_json(),
            r#"{"resource":"https://resource.example.com","bearer_methods_supported":["header"]}"#
        );
        assert_eq!(
            metadata(&["https://as"], &[]).to_json(),
            r#"{"resource":"https://resource.example.com","authorization_servers":["https://as"],"bearer_methods_supported":["header"]}"#
        );
        assert_eq!(
            metadata(&[], &["a"]).to_json(),
            r#"{"resource":"https://resource.example.com","scopes_supported":["a"],"bearer_methods_supported":["header"]}"#
        );
    }

    #[test]
    fn scopes_sorted_and_deduplicated_servers_in_order() {
        let doc = metadata(
            &["https://b", "https://a", "https://b"],
            &["w", "r", "w", "r"],
        );
        let value: Value = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(value["scopes_supported"], json!(["r", "w"]));
        assert_eq!(
            value["authorization_servers"],
            json!(["https://b", "https://a"])
        );
    }

    #[test]
    fn strings_are_escaped() {
        let doc = ResourceMetadata {
            resource: "https://r.example/\"quoted\"\\\u{1}".to_string(),
            authorization_servers: vec![],
            scopes_supported: vec!["caf\u{e9}".to_string(), "a\"b".to_string()],
        };
        let value: Value = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(
            value["resource"],
            json!("https://r.example/\"quoted\"\\\u{1}")
        );
        assert_eq!(value["scopes_supported"], json!(["a\"b", "caf\u{e9}"]));
        assert_eq!(value["bearer_methods_supported"], json!(["header"]));
    }

    #[test]
    fn well_known_path_inserts_the_route_path() {
        assert_eq!(
            well_known_path("/"),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(well_known_path(""), "/.well-known/oauth-protected-resource");
        assert_eq!(
            well_known_path("/mcp"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known_path("/resource1"),
            "/.well-known/oauth-protected-resource/resource1"
        );
        assert_eq!(
            well_known_path("/a/b/"),
            "/.well-known/oauth-protected-resource/a/b/"
        );
        assert_eq!(
            well_known_path("mcp"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known_path("/mcp?x=1#f"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            well_known_path("/?x"),
            "/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn metadata_url_of_the_rfc_examples() {
        // RFC 9728 section 3.1.
        assert_eq!(
            metadata_url("https://resource.example.com/resource1").as_deref(),
            Some("https://resource.example.com/.well-known/oauth-protected-resource/resource1")
        );
        // A resource without a path: the bare well-known path.
        assert_eq!(
            metadata_url("https://resource.example.com").as_deref(),
            Some("https://resource.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            metadata_url("https://resource.example.com/").as_deref(),
            Some("https://resource.example.com/.well-known/oauth-protected-resource")
        );
    }

    #[test]
    fn metadata_url_of_mcp_endpoints() {
        assert_eq!(
            metadata_url("https://crm.example/mcp").as_deref(),
            Some("https://crm.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            metadata_url("http://localhost:8080/tenants/a/mcp").as_deref(),
            Some("http://localhost:8080/.well-known/oauth-protected-resource/tenants/a/mcp")
        );
        assert_eq!(
            metadata_url("HTTPS://crm.example/mcp?x=1#frag").as_deref(),
            Some("HTTPS://crm.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            metadata_url("https://crm.example?x=1").as_deref(),
            Some("https://crm.example/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            metadata_url("https://[::1]:8443/mcp").as_deref(),
            Some("https://[::1]:8443/.well-known/oauth-protected-resource/mcp")
        );
    }

    #[test]
    fn metadata_url_refuses_what_is_not_an_absolute_http_url() {
        for resource in [
            "",
            "/mcp",
            "crm.example/mcp",
            "ftp://crm.example/mcp",
            "https:/crm.example/mcp",
            "https://",
            "https:///mcp",
            "https://?x",
            "https://#f",
            "https://crm example/mcp",
            "https://crm.example/m cp",
            "https://crm.example/caf\u{e9}",
            "https://crm.example/\n",
            "https://user@/mcp",
            "https://host:/mcp",
            "urn:example:resource",
        ] {
            assert_eq!(metadata_url(resource), None, "{resource:?}");
        }
    }
}
