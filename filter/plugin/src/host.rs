//! The only module that calls `proxy_wasm::hostcalls`: every host error becomes a value.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType, MetricType, Status};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use workload_authz_core::headers::PackedHeaders;

/// The plugin configuration bytes, if the host has any.
pub fn plugin_configuration() -> Result<Option<Vec<u8>>, Status> {
    hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
}

// Two ABI functions called directly rather than through `proxy_wasm::hostcalls`: that crate's
// wrappers panic on a status they do not expect and on a header value that is not UTF-8 (a
// client can send one: a panic would kill the VM), and allocate per header and per call. The
// signatures are the proxy-wasm ABI's (0.2.1), as the crate declares them; `MapType` and the
// returned status are `u32`s.
#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
}

/// The ABI's `Ok` status.
const STATUS_OK: u32 = 0;

/// All request headers, pseudo-headers included, in order, decoded into one buffer (values
/// that are not UTF-8 keep U+FFFD in place of the bad bytes).
pub fn request_headers() -> Result<PackedHeaders, u32> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a pointer to `size` bytes it allocated through this module's
    // `proxy_on_memory_allocate` (proxy-wasm's: a boxed `[u8]` of exactly `size` bytes), or
    // leaves it null. We take ownership once and free it when `bytes` drops.
    let status = unsafe {
        proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size)
    };
    if status != STATUS_OK {
        return Err(status);
    }
    if data.is_null() {
        return Ok(PackedHeaders::default());
    }
    // SAFETY: see above: `data` is a `Box<[u8]>` of length `size` handed over to us.
    let bytes = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, size)) };
    Ok(PackedHeaders::decode_owned(bytes.into_vec()))
}

/// Removes every value of a request header.
pub fn remove_request_header(name: &str) -> Result<(), Status> {
    hostcalls::remove_map_value(MapType::HttpRequestHeaders, name)
}

/// Sets a request header, replacing any value.
pub fn set_request_header(name: &str, value: &str) -> Result<(), Status> {
    hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
}

/// Writes filter state (Envoy: `wasm.<key>`, readable as `%FILTER_STATE(wasm.<key>:PLAIN)%`,
/// or `:TYPED` for a property declared with a type). A one-element property path is the key's
/// bytes. Errors are the host's status code.
pub fn set_filter_state(key: &str, value: &[u8]) -> Result<(), u32> {
    // SAFETY: both pointers are valid for their lengths for the duration of the call; the host
    // copies what it keeps.
    let status =
        unsafe { proxy_set_property(key.as_ptr(), key.len(), value.as_ptr(), value.len()) };
    if status == STATUS_OK {
        Ok(())
    } else {
        Err(status)
    }
}

/// Defines (or finds) a counter and returns its id.
pub fn define_counter(name: &str) -> Result<u32, Status> {
    hostcalls::define_metric(MetricType::Counter, name)
}

/// Adds one to a counter.
pub fn increment_counter(id: u32) -> Result<(), Status> {
    hostcalls::increment_metric(id, 1)
}

/// A shared-data value (shared by every VM of this plugin in this Envoy) and its CAS token.
pub fn get_shared(key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), Status> {
    hostcalls::get_shared_data(key)
}

/// Writes shared data; with `cas`, only if nobody wrote since that read (else `CasMismatch`).
pub fn set_shared(key: &str, value: &[u8], cas: Option<u32>) -> Result<(), Status> {
    hostcalls::set_shared_data(key, Some(value), cas)
}

/// Asks the host to call this context back every `seconds`.
pub fn set_tick_seconds(seconds: u64) -> Result<(), Status> {
    hostcalls::set_tick_period(Duration::from_secs(seconds))
}

/// Sends a GET to an Envoy cluster; the answer arrives in `on_http_call_response`.
pub fn http_get(
    cluster: &str,
    authority: &str,
    path: &str,
    scheme: &str,
    timeout_ms: u64,
) -> Result<u32, Status> {
    let headers = vec![
        (":method", "GET"),
        (":path", path),
        (":authority", authority),
        (":scheme", scheme),
        ("accept", "application/json"),
        ("user-agent", "workload-authz"),
    ];
    hostcalls::dispatch_http_call(
        cluster,
        headers,
        None,
        vec![],
        Duration::from_millis(timeout_ms),
    )
}

/// The `:status` of the HTTP call answer being delivered (none after a failure or timeout).
pub fn http_call_status() -> Option<u32> {
    hostcalls::get_map_value(MapType::HttpCallResponseHeaders, ":status")
        .ok()
        .flatten()
        .and_then(|s| s.parse().ok())
}

/// The body of the HTTP call answer being delivered.
pub fn http_call_body(size: usize) -> Option<Vec<u8>> {
    hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, size)
        .ok()
        .flatten()
}

/// Resumes a request paused in `on_http_request_headers`.
pub fn resume_request() -> Result<(), Status> {
    hostcalls::resume_http_request()
}

/// A host property as text (e.g. `["connection", "uri_san_peer_certificate"]`).
pub fn property_text(path: &[&str]) -> Option<String> {
    hostcalls::get_property(path.to_vec())
        .ok()
        .flatten()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Calls a host foreign function (Envoy: `verify_signature`, ...).
pub fn foreign_function(name: &str, arguments: &[u8]) -> Result<Option<Vec<u8>>, Status> {
    hostcalls::call_foreign_function(name, Some(arguments))
}

/// Seconds since the Unix epoch, from the host clock (WASI's as a fallback).
pub fn now_seconds() -> Option<u64> {
    let time = hostcalls::get_current_time().unwrap_or_else(|_| SystemTime::now());
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// Sends a local reply and stops the request.
pub fn send_response(status: u32, headers: &[(&str, &str)], body: &[u8]) -> Result<(), Status> {
    hostcalls::send_http_response(status, headers.to_vec(), Some(body))
}

/// Writes one log line; a failing host log call is ignored (there is nowhere else to say it).
pub fn log_line(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

/// The host's current log level for this plugin.
pub fn log_level() -> Option<LogLevel> {
    hostcalls::get_log_level().ok()
}

/// A `log` facade logger over the host's log call that never panics.
pub struct HostLogger;

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        log_line(level, &record.args().to_string());
    }

    fn flush(&self) {}
}

static LOGGER: HostLogger = HostLogger;

/// Installs the logger (once per VM) at the host's level, and a panic hook that logs before abort.
pub fn install_logger() {
    if log::set_logger(&LOGGER).is_ok() {
        std::panic::set_hook(Box::new(|info| {
            log_line(
                LogLevel::Critical,
                &format!("workload-authz: panic: {info}"),
            );
        }));
    }
    let filter = match log_level() {
        Some(LogLevel::Trace) => log::LevelFilter::Trace,
        Some(LogLevel::Debug) => log::LevelFilter::Debug,
        Some(LogLevel::Info) | None => log::LevelFilter::Info,
        Some(LogLevel::Warn) => log::LevelFilter::Warn,
        Some(LogLevel::Error) => log::LevelFilter::Error,
        Some(LogLevel::Critical) => log::LevelFilter::Error,
    };
    log::set_max_level(filter);
}

/// Bytes `start..start + size` of the request body buffered so far.
pub fn request_body(start: usize, size: usize) -> Option<Vec<u8>> {
    hostcalls::get_buffer(BufferType::HttpRequestBody, start, size)
        .ok()
        .flatten()
}

/// Bytes `0..size` of the response body buffered so far.
pub fn response_body(size: usize) -> Option<Vec<u8>> {
    hostcalls::get_buffer(BufferType::HttpResponseBody, 0, size)
        .ok()
        .flatten()
}

/// Replaces bytes `0..size` of the buffered response body with `body`.
pub fn replace_response_body(size: usize, body: &[u8]) -> Result<(), Status> {
    hostcalls::set_buffer(BufferType::HttpResponseBody, 0, size, body)
}

/// A response header's value.
pub fn response_header(name: &str) -> Option<String> {
    hostcalls::get_map_value(MapType::HttpResponseHeaders, name)
        .ok()
        .flatten()
}

/// Removes a response header.
pub fn remove_response_header(name: &str) -> Result<(), Status> {
    hostcalls::remove_map_value(MapType::HttpResponseHeaders, name)
}
