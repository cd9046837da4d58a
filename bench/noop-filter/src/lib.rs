//! The floor of a Wasm filter in Envoy: a root context, one HTTP context per request, and,
//! depending on the plugin configuration, the host calls workload-authz cannot avoid:
//! - `noop`: nothing;
//! - `headers`: one fetch of every request header (what workload-authz does before deciding);
//! - `counters`: `headers`, the clock and two counter increments: workload-authz's host calls
//!   with `"decision_record": "off"`;
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
    Counters,
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
                b"counters" => Mode::Counters,
                b"record" => Mode::Record,
                _ => Mode::Noop,
            };
        }
        for (slot, name) in self
            .counters
            .iter_mut()
            .zip(["floor_decisions", "floor_tokens"])
        {
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

// The ABI calls themselves, as workload-authz makes them (filter/plugin/src/host.rs), not the
// proxy-wasm crate's wrappers, which decode every header into a `String` pair and allocate per
// filter-state key: the floors are the cheapest way to make these calls.
#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_set_property(path: *const u8, path_size: usize, value: *const u8, size: usize) -> u32;
}

/// The packed request-header list, undecoded.
fn header_pairs() -> Option<Box<[u8]>> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host hands over a buffer from proxy_on_memory_allocate (a boxed [u8] of
    // `size` bytes) or null.
    let status = unsafe {
        proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size)
    };
    if status != 0 || data.is_null() {
        return None;
    }
    // SAFETY: see above.
    Some(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, size)) })
}

fn set_property(key: &str, value: &str) {
    // SAFETY: both slices are valid for the call; the host copies them.
    unsafe { proxy_set_property(key.as_ptr(), key.len(), value.as_ptr(), value.len()) };
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
        std::hint::black_box(header_pairs());
        if self.mode == Mode::Headers {
            return Action::Continue;
        }
        std::hint::black_box(hostcalls::get_current_time().ok());
        for id in self.counters {
            let _ = hostcalls::increment_metric(id, 1);
        }
        if self.mode == Mode::Record {
            for (key, value) in RECORD {
                set_property(key, value);
            }
        }
        Action::Continue
    }
}
