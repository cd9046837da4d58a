//! MCP (Model Context Protocol) tool-call authorization: each JSON-RPC message POSTed to an
//! MCP route is an action of its own (a method, a tool, a resource, a prompt) with its own
//! requirements, judged after the route's token checks and before the MCP server sees it.
//!
//! | module | job |
//! | --- | --- |
//! | [`message`] | reads one JSON-RPC 2.0 request or notification, strictly |
//! | [`rules`] | the compiled `mcp` block and the rule a message selects |
//! | [`uri`] | resource URI templates, matched like paths |
//! | [`arguments`] | conditions on `params.arguments` |
//! | [`header_value`] | `Mcp-Method` / `Mcp-Name` values (`=?base64?...?=`) |
//! | [`metadata`] | RFC 9728 protected resource metadata |
//! | [`discovery`] | which metadata document a `GET /.well-known/...` asks for |
//! | [`list_filter`] | `tools/list` answers cut to what the caller may call |

pub mod arguments;
pub mod discovery;
pub mod header_value;
pub mod list_filter;
pub mod message;
pub mod metadata;
pub mod rules;
pub mod uri;

pub use arguments::ArgumentCondition;
pub use message::{Message, MessageError, TargetKind};
pub use rules::{
    McpRoute, McpRule, NotDeclared, ResourceRule, Selected, DEFAULT_MAX_BODY_BYTES,
    MAX_BODY_BYTES_LIMIT,
};
pub use uri::{UriPattern, UriPatternError};
