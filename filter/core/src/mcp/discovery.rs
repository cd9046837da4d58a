//! Serving RFC 9728 protected resource metadata for the policy's MCP routes, without a token:
//! `GET /.well-known/oauth-protected-resource<route path>` (and the path of the `resource`
//! identifier's metadata URL, when it differs), and the bare well-known path when the policy
//! has exactly one MCP route.

use super::metadata::{metadata_url, well_known_path, ResourceMetadata, WELL_KNOWN_PATH};
use crate::config::{Policy, Route};
use crate::routes::clean_path;

/// The metadata document of the route, as JSON.
pub fn document(route: &Route) -> Option<String> {
    let mcp = route.mcp.as_deref()?;
    let mut scopes: Vec<String> = route
        .require
        .scopes
        .iter()
        .chain(&route.require.scopes_any)
        .map(|t| t.as_str())
        .chain(mcp.scope_sources())
        .filter(|s| !s.contains('{'))
        .map(str::to_string)
        .collect();
    scopes.dedup();
    let metadata = ResourceMetadata {
        resource: mcp.resource.clone(),
        authorization_servers: mcp.authorization_servers.clone(),
        scopes_supported: scopes,
    };
    Some(metadata.to_json())
}

/// The path part of an absolute URL (`/` when it has none).
fn path_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/"))
}

/// The MCP route whose metadata `GET <path>` asks for, if any.
pub fn route_for<'p>(policy: &'p Policy, method: &str, path: &str) -> Option<&'p Route> {
    if method != "GET" || !path.starts_with(WELL_KNOWN_PATH) {
        return None;
    }
    let path = clean_path(path).ok()?;
    let mut mcp_routes = policy.routes.iter().filter(|r| r.mcp.is_some());
    let serves = |route: &Route| {
        let by_route = well_known_path(route.matcher.path.as_str()) == *path;
        let by_resource = route
            .mcp
            .as_deref()
            .and_then(|m| metadata_url(&m.resource))
            .is_some_and(|url| path_of(&url) == Some(&*path));
        by_route || by_resource
    };
    if let Some(route) = mcp_routes.clone().find(|r| serves(r)) {
        return Some(route);
    }
    let only = mcp_routes.next()?;
    (mcp_routes.next().is_none() && *path == *WELL_KNOWN_PATH).then_some(only)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn policy(routes: Value) -> Policy {
        let config = json!({
            "providers": { "agents": { "issuer": "https://as.example", "audiences": ["crm"],
                "local_jwks": { "inline_string": "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}" } } },
            "routes": routes,
        });
        crate::config::compile_value(&config).unwrap()
    }

    fn mcp_route(path: &str, resource: &str) -> Value {
        json!({ "action": "crm.mcp", "match": { "path": path, "methods": ["POST"] },
                "require": { "providers": ["agents"], "scopes": ["crm:use"] },
                "mcp": { "resource": resource, "authorization_servers": ["https://as.example"],
                         "methods": { "tools/list": {} },
                         "tools": { "search": { "scopes": ["crm:read"] }, "t": { "scopes": ["crm:{claim.sub}"] } } } })
    }

    #[test]
    fn serves_the_route_path_the_resource_path_and_the_root() {
        let p = policy(json!([mcp_route("/mcp", "https://crm.example/api/mcp")]));
        let doc = |path: &str| route_for(&p, "GET", path).and_then(document);
        let expected = r#"{"resource":"https://crm.example/api/mcp","authorization_servers":["https://as.example"],"scopes_supported":["crm:read","crm:use"],"bearer_methods_supported":["header"]}"#;
        assert_eq!(
            doc("/.well-known/oauth-protected-resource/mcp").as_deref(),
            Some(expected)
        );
        assert_eq!(
            doc("/.well-known/oauth-protected-resource/api/mcp").as_deref(),
            Some(expected)
        );
        assert_eq!(
            doc("/.well-known/oauth-protected-resource").as_deref(),
            Some(expected)
        );
        assert_eq!(doc("/.well-known/oauth-protected-resource/other"), None);
        assert_eq!(doc("/.well-known/oauth-protected-resource/%6Dcp"), None);
        assert!(route_for(&p, "POST", "/.well-known/oauth-protected-resource/mcp").is_none());
    }

    #[test]
    fn no_root_form_with_two_mcp_routes() {
        let p = policy(json!([
            mcp_route("/a/mcp", "https://crm.example/a/mcp"),
            mcp_route("/b/mcp", "https://crm.example/b/mcp")
        ]));
        assert!(route_for(&p, "GET", "/.well-known/oauth-protected-resource").is_none());
        let b = route_for(&p, "GET", "/.well-known/oauth-protected-resource/b/mcp").unwrap();
        assert_eq!(b.matcher.path.as_str(), "/b/mcp");
    }
}
