//! The floor of a Wasm filter in Envoy: a root context, one HTTP context per request, and
//! (when the plugin configuration is `headers`) one fetch of every request
//! header, which is what workload-authz does before it decides anything.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(NoopRoot { headers: false }) });
}}

struct NoopRoot {
    headers: bool,
}

impl Context for NoopRoot {}

impl RootContext for NoopRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        if let Ok(Some(config)) =
            hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
        {
            self.headers = config.trim_ascii() == b"headers";
        }
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(NoopHttp {
            headers: self.headers,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct NoopHttp {
    headers: bool,
}

impl Context for NoopHttp {}

impl HttpContext for NoopHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.headers {
            let fetched = hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default();
            std::hint::black_box(fetched);
        }
        Action::Continue
    }
}
