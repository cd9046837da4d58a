//! The answer to an allowed `tools/list` on an MCP route, cut to the tools the caller may call
//! (`workload_authz_core::mcp::list_filter`), JSON or event stream. The response headers go on
//! without `content-length`; the body is held until complete, then replaced. A body the filter
//! cannot read is replaced by a JSON-RPC error (fail closed: never an unfiltered list).

use crate::host;
use proxy_wasm::types::Action;
use workload_authz_core::mcp::list_filter::filter_tools_list;
use workload_authz_core::Decision;

/// What the error answer says when a `tools/list` answer cannot be filtered.
const UNREADABLE: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"the tools/list answer could not be filtered"}}"#;

/// The filtering of one `tools/list` answer.
#[derive(Debug)]
pub struct ToolsList {
    visible: Vec<String>,
    content_type: String,
    active: bool,
}

impl ToolsList {
    /// For an allowed `tools/list` decision, the tools its answer may offer.
    pub fn of(decision: &Decision) -> Option<ToolsList> {
        let visible = decision.mcp.as_deref()?.visible_tools.clone()?;
        Some(ToolsList {
            visible,
            content_type: String::new(),
            active: false,
        })
    }

    /// The response headers: a 2xx answer with a body is filtered (its length will change).
    pub fn on_headers(&mut self, end_of_stream: bool) {
        let success = host::response_header(":status").is_some_and(|s| s.starts_with('2'));
        self.active = success && !end_of_stream;
        if !self.active {
            return;
        }
        self.content_type = host::response_header("content-type").unwrap_or_default();
        if let Err(status) = host::remove_response_header("content-length") {
            log::warn!("workload-authz: cannot remove content-length: {status:?}");
        }
    }

    /// A piece of the response body: held until the last, then filtered.
    pub fn on_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.active {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.active = false;
        let body = host::response_body(body_size).unwrap_or_default();
        let visible = &self.visible;
        let allowed = |name: &str| visible.iter().any(|v| v == name);
        let replacement = match filter_tools_list(&body, &self.content_type, &allowed) {
            Ok(None) => return Action::Continue,
            Ok(Some(filtered)) => filtered,
            Err(error) => {
                log::warn!("workload-authz: tools/list answer refused: {error}");
                if self
                    .content_type
                    .to_ascii_lowercase()
                    .starts_with("text/event-stream")
                {
                    format!("event: message\ndata: {UNREADABLE}\n\n").into_bytes()
                } else {
                    UNREADABLE.as_bytes().to_vec()
                }
            }
        };
        if let Err(status) = host::replace_response_body(body_size, &replacement) {
            log::warn!("workload-authz: cannot replace the tools/list answer: {status:?}");
        }
        Action::Continue
    }
}
