//! The floor of a Wasm filter in Envoy: a root context, one HTTP context per request, and,
//! depending on the plugin configuration, the host calls workload-authz cannot avoid:
//! - `noop`: nothing;
//! - `headers`: one fetch of every request header (what workload-authz does before deciding);
//! - `record`: `headers`, the clock, two counter increments and the 15 filter-state writes of
//!   the full decision record (fixed values of typical length), i.e. workload-authz's host
//!   calls without any of its decision logic.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(NoopRoot { mode: Mode::Noop, counters: [0; 2] }) });
}}

/// What the filter does per request.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Noop,
    Headers,
    Record,
}

struct NoopRoot {
    mode: Mode,
    counters: [u32; 2],
}

impl Context for NoopRoot {}

impl RootContext for NoopRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        if let Ok(Some(config)) =
            hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
        {
            self.mode = match config.trim_ascii() {
                b"headers" => Mode::Headers,
                b"record" => Mode::Record,
                _ => Mode::Noop,
            };
        }
        for (slot, name) in self.counters.iter_mut().zip(["floor_decisions", "floor_tokens"]) {
            *slot = hostcalls::define_metric(MetricType::Counter, name).unwrap_or_default();
        }
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(NoopHttp {
            mode: self.mode,
            counters: self.counters,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct NoopHttp {
    mode: Mode,
    counters: [u32; 2],
}

/// The full decision record's keys with values of the length a `reuse` request produces.
const RECORD: [(&str, &str); 15] = [
    ("workload_authz.decision", "allow"),
    ("workload_authz.reason", "allowed"),
    ("workload_authz.action", "orders.read"),
    ("workload_authz.provider", "mesh"),
    ("workload_authz.subject", "spiffe://bench.example/ns/bench/sa/client-07"),
    ("workload_authz.issuer", "https://issuer.bench.example"),
    ("workload_authz.jti", "bench-reuse-0007"),
    ("workload_authz.token_ttl_remaining", "14123"),
    ("workload_authz.scopes_granted", "orders:read"),
    ("workload_authz.scopes_required", "orders:read"),
    ("workload_authz.scopes_unused", "-"),
    ("workload_authz.actor_chain", "-"),
    ("workload_authz.txn", "-"),
    ("workload_authz.policy", "sha256:0123456789abcdef"),
    ("workload_authz.record", "{\"decision\":\"allow\",\"reason\":\"allowed\",\"action\":\"orders.read\",\"provider\":\"mesh\",\"subject\":\"spiffe://bench.example/ns/bench/sa/client-07\",\"issuer\":\"https://issuer.bench.example\",\"jti\":\"bench-reuse-0007\",\"token_ttl_remaining\":14123,\"scopes_granted\":[\"orders:read\"],\"scopes_required\":[\"orders:read\"],\"scopes_unused\":[],\"policy\":\"sha256:0123456789abcdef\"}"),
];

impl Context for NoopHttp {}

impl HttpContext for NoopHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.mode == Mode::Noop {
            return Action::Continue;
        }
        let fetched = hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default();
        std::hint::black_box(fetched);
        if self.mode == Mode::Record {
            std::hint::black_box(hostcalls::get_current_time().ok());
            for id in self.counters {
                let _ = hostcalls::increment_metric(id, 1);
            }
            for (key, value) in RECORD {
                let _ = hostcalls::set_property(vec![key], Some(value.as_bytes()));
            }
        }
        Action::Continue
    }
}
