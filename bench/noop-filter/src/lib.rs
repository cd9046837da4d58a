//! The floor of a Wasm filter in Envoy: a root context, one HTTP context per request (`make
//! bench-tools` keeps only the exports in `exports.json`: a host calls every exported callback on
//! every request), and, depending on the plugin configuration, the host calls workload-authz
//! cannot avoid:
//! - `noop`: nothing;
//! - `headers`: one fetch of every request header (what workload-authz does before deciding);
//! - `counters`: `headers`, the clock and two counter increments: workload-authz's host calls
//!   with `"decision_record": "off"`;
//! - `record`: `headers`, the clock, two counter increments and the 15 filter-state writes of
//!   the full decision record (fixed values of typical length), i.e. workload-authz's host
//!   calls without any of its decision logic;
//! - `struct`: `counters` plus the default typed record: `workload_authz.record` declared once as a
//!   `google.protobuf.Struct` (foreign function `declare_property`) and one serialized `Struct`
//!   of typical values written per request, i.e. the default record's host calls;
//! - `values`: like `struct`, but the four headers a decision reads (`:method`, `:path`,
//!   `:authority`, `authorization`) are fetched one by one instead of the whole header map.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(NoopRoot { mode: Mode::Noop, counters: [0; 2], record: Rc::from(Vec::new()) }) });
}}

/// What the filter does per request.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Noop,
    Headers,
    Counters,
    Record,
    Struct,
    Values,
}

struct NoopRoot {
    mode: Mode,
    counters: [u32; 2],
    /// The typed record's bytes, encoded once (the floor of the host call, not of encoding).
    record: Rc<[u8]>,
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
                b"struct" => Mode::Struct,
                b"values" => Mode::Values,
                _ => Mode::Noop,
            };
        }
        if matches!(self.mode, Mode::Struct | Mode::Values) {
            let _ =
                hostcalls::call_foreign_function("declare_property", Some(&declare_arguments()));
            self.record = Rc::from(typed_record());
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
            record: Rc::clone(&self.record),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct NoopHttp {
    mode: Mode,
    counters: [u32; 2],
    record: Rc<[u8]>,
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
        if self.mode == Mode::Values {
            for name in [":method", ":path", ":authority", "authorization"] {
                std::hint::black_box(
                    hostcalls::get_map_value(MapType::HttpRequestHeaders, name).ok(),
                );
            }
        } else {
            std::hint::black_box(header_pairs());
        }
        if self.mode == Mode::Headers {
            return Action::Continue;
        }
        std::hint::black_box(hostcalls::get_current_time().ok());
        for id in self.counters {
            let _ = hostcalls::increment_metric(id, 1);
        }
        match self.mode {
            Mode::Record => {
                for (key, value) in RECORD {
                    set_property(key, value);
                }
            }
            Mode::Struct | Mode::Values => {
                let record = &self.record;
                // SAFETY: both slices are valid for the call; the host copies them.
                unsafe {
                    proxy_set_property(
                        TYPED_RECORD.as_ptr(),
                        TYPED_RECORD.len(),
                        record.as_ptr(),
                        record.len(),
                    )
                };
            }
            _ => {}
        }
        Action::Continue
    }
}

/// The typed record's filter-state name.
const TYPED_RECORD: &str = "workload_authz.record";

/// Envoy's `DeclarePropertyArguments`: name, type Protobuf (3), the `Struct` type URL, life
/// span of the downstream request (1).
fn declare_arguments() -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, TYPED_RECORD.as_bytes());
    out.extend_from_slice(&[3 << 3, 3]);
    put_bytes(&mut out, 4, b"type.googleapis.com/google.protobuf.Struct");
    out.extend_from_slice(&[5 << 3, 1]);
    out
}

fn put_varint(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u8, value: &[u8]) {
    out.push((field << 3) | 2);
    put_varint(out, value.len());
    out.extend_from_slice(value);
}

/// A `Value` holding a string (3), a number (2) or a list of strings (6).
fn value_of(member: &Member) -> Vec<u8> {
    let mut out = Vec::new();
    match member {
        Member::Text(text) => put_bytes(&mut out, 3, text.as_bytes()),
        Member::Number(number) => {
            out.push((2 << 3) | 1);
            out.extend_from_slice(&number.to_le_bytes());
        }
        Member::List(items) => {
            let mut list = Vec::new();
            for item in *items {
                let mut value = Vec::new();
                put_bytes(&mut value, 3, item.as_bytes());
                put_bytes(&mut list, 1, &value);
            }
            put_bytes(&mut out, 6, &list);
        }
    }
    out
}

enum Member {
    Text(&'static str),
    Number(f64),
    List(&'static [&'static str]),
}

/// The record's members with values of the length a `reuse` request produces.
fn typed_record() -> Vec<u8> {
    const MEMBERS: [(&str, Member); 12] = [
        ("decision", Member::Text("allow")),
        ("reason", Member::Text("allowed")),
        ("action", Member::Text("orders.read")),
        ("provider", Member::Text("mesh")),
        (
            "subject",
            Member::Text("spiffe://bench.example/ns/bench/sa/client-07"),
        ),
        ("issuer", Member::Text("https://issuer.bench.example")),
        ("jti", Member::Text("bench-reuse-0007")),
        ("token_ttl_remaining", Member::Number(14123.0)),
        ("scopes_granted", Member::List(&["orders:read"])),
        ("scopes_required", Member::List(&["orders:read"])),
        ("scopes_unused", Member::List(&[])),
        ("policy", Member::Text("sha256:0123456789abcdef")),
    ];
    let mut out = Vec::with_capacity(512);
    for (name, member) in &MEMBERS {
        let mut entry = Vec::new();
        put_bytes(&mut entry, 1, name.as_bytes());
        put_bytes(&mut entry, 2, &value_of(member));
        put_bytes(&mut out, 1, &entry);
    }
    out
}
